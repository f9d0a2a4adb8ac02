"""Lets the tests import the project's modules (utils, train_autoenc_lite) from the top level."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

"""The run's command line: parse_args (argparse, range-checked; a mistake is one line and
status 2), RunError (1) and InputError (2), first_steps (one BLAS thread, stops handled, a
missing or failing NumPy or Matplotlib one line) and ON_STOP. A stop (Ctrl-C, SIGTERM) ends
the process at once: what ON_STOP undoes, one line, 130 or 143. Its handler raises nothing,
as Python loses an exception raised in a finalizer ("Exception ignored"). Standard library.
"""

import argparse
import contextlib
import importlib.util
import math
import os
import re
import signal
import sys

from run_support.report import SHIPPED, quoted, shown

PROGRAM = "train_autoenc_lite.py"
DEFAULTS = {"steps": 1000, "batch_size": 20, "lr": 0.001, "seed": 0, "out": "results"}
DEFAULTS["train"], DEFAULTS["test"] = SHIPPED  # the shipped image files, beside the script
MAX_STEPS, MAX_SEED, MAX_LR = 10_000_000, 2**32 - 1, 1e10
MAX_DIGITS = 20  # a whole number longer than this is out of every range, and never converted
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
BLAS_THREADS = "OPENBLAS_NUM_THREADS MKL_NUM_THREADS VECLIB_MAXIMUM_THREADS OMP_NUM_THREADS".split()
ON_STOP = []  # functions that undo what the run made so far; they must never raise
WRITTEN = []  # the results folder, once the run has put its new set there
_HOLD = {"on": False, "pending": None}  # a stop that comes while steps must not be cut


class RunError(Exception):
    """A run that cannot go on; the message is one line for the user. Exit status 1."""

    status = 1


class InputError(RunError):
    """A file or a folder that cannot be used, found before any work. Exit status 2."""

    status = 2


def whole_number(low, high=math.inf):
    """An argparse type: a whole number from low to high."""
    limits = f"{low:,} to {high:,}" if high < math.inf else f"at least {low:,}"

    def parse(text):
        if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            raise argparse.ArgumentTypeError(f"{quoted(text)} is not a whole number")
        too_long = len(text.strip().lstrip("+-").lstrip("0")) > MAX_DIGITS  # never converted
        if too_long or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{quoted(text)} is out of range: {limits}")
        return int(text)

    return parse


def learning_rate(text):
    """An argparse type: a number above 0 and at most MAX_LR."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a number") from None
    if not 0 < value <= MAX_LR:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{quoted(text)} is out of range: above 0, at most 1e+10")
    return value


def path(text):
    """An argparse type: a path, which is not empty ('' would name the current folder)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path")
    return text


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own message, on one line, without the usage
        printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        self.exit(2, f"{self.prog}: error: {printable}\n")


FLAGS = [  # flag, argparse type, metavar, help
    ("--steps", whole_number(1, MAX_STEPS), "N", "SGD updates, 1 to 10,000,000"),
    ("--batch-size", whole_number(1), "N", "images an update, 1 to all there are"),
    ("--lr", learning_rate, "LR", "learning rate, above 0 and at most 1e+10"),
    ("--seed", whole_number(0, MAX_SEED), "N", "seed, 0 to 4,294,967,295"),
    ("--train", path, "FILE", "training images: a pickle of an (N, 15, 15) array"),
    ("--test", path, "FILE", "test images: the same kind of file"),
    ("--out", path, "FOLDER", "folder for the results, replaced as a whole"),
]


def parse_args(argv=None):
    """The run's flags from argv (sys.argv[1:] if None); a wrong one exits with status 2."""
    what = "Layer_in's timing, the gradient check, the learning curve, the test images, the weights"
    parser = OneLineParser(
        prog=PROGRAM,
        description=f"Train AutoEncNetLite by SGD and report: {what}. Paths are relative to the "
        "current folder; the shipped image files are found beside the script.",
    )
    parser.color = False  # Python 3.14's argparse colours help if FORCE_COLOR says so
    for flag, kind, metavar, words in FLAGS:
        default = DEFAULTS[flag[2:].replace("-", "_")]
        default = SHIPPED.get(default, default)  # the shipped files by their names
        parser.add_argument(flag, type=kind, metavar=metavar, help=f"{words} (default: {default})")
    parser.set_defaults(**DEFAULTS)
    return parser.parse_args(argv)


def error(message, status):
    """message as one line on stderr; returns status, the run's exit status."""
    print(f"{PROGRAM}: {message}", file=sys.stderr, flush=True)
    return status


def stdout_closed():
    """Standard output was closed (`| head`): the run ends quietly, with the status a shell
    gives a program SIGPIPE ended, stdout on the null device so that no last flush fails."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 128 + 13


def _stop(signum, frame):
    """Ctrl-C or SIGTERM: undo, one line, exit; or, within stops_held, as it ends. The
    signals that follow are ignored."""
    if _HOLD["on"]:
        _HOLD["pending"] = _HOLD["pending"] or signum
        return
    for other in STOP_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    for undo in reversed(ON_STOP):
        undo()
    how = "interrupted" if signum == signal.SIGINT else "stopped by SIGTERM"
    how += f"; the results were written to {shown(WRITTEN[0])}" if WRITTEN else ""
    with contextlib.suppress(OSError):  # os.write: Python's own stderr may be mid-write
        os.write(2, f"{PROGRAM}: {how}\n".encode())
    os._exit(128 + signum)


@contextlib.contextmanager
def stops_held():
    """Steps that must not be cut in two (a folder made and its name kept; the results put in
    place and that noted): a stop that comes within them takes effect as they end."""
    _HOLD["on"] = True
    try:
        yield
    finally:
        _HOLD["on"], signum, _HOLD["pending"] = False, _HOLD["pending"], None
        if signum:
            _stop(signum, None)


@contextlib.contextmanager
def first_steps(module_name):
    """The program's imports, as a program (module_name "__main__"; else nothing): NumPy's
    linear algebra on one thread unless the user chose (the matrices are tiny: a second gains
    nothing, and on a busy machine waits for a core), stops handled, and a failure one line."""
    if module_name != "__main__":
        yield
        return
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)
    try:
        yield
    except Exception as e:
        missing = [m for m in ("numpy", "matplotlib") if importlib.util.find_spec(m) is None]
        setup = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
        if missing:
            why = f"{' and '.join(missing)} not installed for {sys.executable}"
            sys.exit(error(f"error: {why}; set up as README.md says ({setup})", 2))
        what, fix = "NumPy", setup  # NumPy is loaded first
        if "numpy" in sys.modules:
            what, fix = "Matplotlib", "unset MPLBACKEND, or mend or remove the matplotlibrc it read"
        why = quoted(" ".join(f"{type(e).__name__}: {e}".split()), 160)
        sys.exit(error(f"error: {what} cannot start: {why}; {fix}", 2))

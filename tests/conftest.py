"""What the tests share: the project on the import path, paths, and the program run as a
user runs it (a fresh process) or in this process with its costly parts made cheap."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import command_line  # noqa: E402
import train_autoenc_lite as program  # noqa: E402

SCRIPT = str(ROOT / "train_autoenc_lite.py")
TRAIN_FILE = ROOT / "images_train.pickle"
TEST_FILE = ROOT / "images_test.pickle"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PREVIOUS = {name: f"the previous run's {name}".encode() for name in program.OUTPUTS}


def run_program(*args, cwd, timeout=120, env=None, **kwargs):
    """The program as a user runs it: a fresh process, no display."""
    env = {k: v for k, v in (env or os.environ).items() if k not in ("DISPLAY", "MPLBACKEND")}
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def flags(*argv):
    """The run's flags, as parsed from argv."""
    return command_line.parse_args([str(a) for a in argv])


def strict_json(path):
    """results.json, refusing NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise AssertionError(f"{constant} in {path}")

    return json.loads(pathlib.Path(path).read_text(), parse_constant=refuse)


def previous_run(folder):
    """A results folder that holds a whole earlier set of outputs."""
    folder.mkdir(exist_ok=True)
    for name, data in PREVIOUS.items():
        (folder / name).write_bytes(data)
    return folder


def contents(folder):
    return {p.name: p.read_bytes() for p in pathlib.Path(folder).iterdir()}


@pytest.fixture
def quick(monkeypatch):
    """program.main in this process, with Layer_in timed at two batch sizes and figures
    as stand-in bytes: the tests about the timing and the figures pay for those.
    quick(*argv) returns (status, results.json if the run did its work, else None)."""
    monkeypatch.setattr(program, "TIMING_SIZES", (1, 2))
    figures = [name for name in program.OUTPUTS if name.endswith(".png")]
    stand_ins = {name: PNG_SIGNATURE + b"stand-in" for name in figures}
    monkeypatch.setattr(program.plots, "all_figures", lambda *args: stand_ins)

    def run(*argv):
        argv = [str(a) for a in argv]
        status = program.main(argv)
        out = pathlib.Path(argv[argv.index("--out") + 1]) if "--out" in argv else None
        found = status == 0 and out is not None
        return status, strict_json(out / "results.json") if found else None

    return run

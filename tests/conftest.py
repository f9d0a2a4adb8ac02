"""What the tests share: the project on the import path, the utils.py under test (--utils),
the program run as a user runs it (a fresh process) or in this process, made quick.

This file imports NumPy and pytest only, so that tests/test_math.py, the gradient-check kit,
runs without Matplotlib: `python -m pytest tests/test_math.py --utils PATH` checks PATH."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRIPT = str(ROOT / "train_autoenc_lite.py")
TRAIN_FILE, TEST_FILE = ROOT / "images_train.pickle", ROOT / "images_test.pickle"
PNG = b"\x89PNG\r\n\x1a\n"  # how a PNG file starts
API = ("init", "forward_in_scalar", "forward_in_vector", "forward", "get_loss", "backprop")
API += ("apply_dw",)  # the homework's functions, which the kit checks
UTILS = []  # the utils module under test


def pytest_addoption(parser):
    parser.addoption("--utils", metavar="PATH", help="check this utils.py (default: the project's)")


def pytest_configure(config):
    """Loads the utils.py under test; a missing or broken PATH is a one-line usage error."""
    path = config.getoption("utils") or str(ROOT / "utils.py")
    if not os.path.isfile(path):
        raise pytest.UsageError(f"--utils {path}: no such file")
    spec = importlib.util.spec_from_file_location("utils_under_test", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # whatever the file does wrong, exit included
        why = " ".join(f"{type(e).__name__}: {e}".split())[:200]
        raise pytest.UsageError(f"--utils {path}: cannot be loaded ({why})") from None
    missing = [name for name in API if not callable(getattr(module, name, None))]
    if missing:
        raise pytest.UsageError(f"--utils {path}: has no {', '.join(missing)}")
    UTILS[:] = [module]


@pytest.fixture(scope="session")
def utils():
    """The utils module under test: the project's utils.py, or the one --utils names."""
    return UTILS[0]


def run_program(*args, cwd, env=None, **kwargs):
    """The program as a user runs it: a fresh process, no display, no chosen backend."""
    env = {k: v for k, v in (env or os.environ).items() if k not in ("DISPLAY", "MPLBACKEND")}
    command = [sys.executable, SCRIPT, *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)


def results_of(folder):
    """results.json, refusing NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise AssertionError(f"{constant} in {folder}")

    return json.loads((pathlib.Path(folder) / "results.json").read_text(), parse_constant=refuse)


def contents(folder):
    return {p.name: p.read_bytes() for p in pathlib.Path(folder).iterdir()}


class Exit(BaseException):
    """What os._exit raises under the `stopping` fixture, so that a stop ends the test."""


@pytest.fixture
def stopping(monkeypatch):
    """The run's stop handler on SIGINT and SIGTERM in this process, its os._exit raising Exit
    (pytest.raises(Exit) sees the status); the handlers before put back afterwards."""
    if os.name != "posix":
        pytest.skip("POSIX signals")
    import signal

    from run_support import command_line

    def exit_raising(status):
        raise Exit(status)

    monkeypatch.setattr(os, "_exit", exit_raising)
    command_line.WRITTEN.clear()  # no results put in place by an earlier test's run
    handlers = {s: signal.signal(s, command_line._stop) for s in command_line.STOP_SIGNALS}
    yield Exit
    for s, handler in handlers.items():
        signal.signal(s, handler)


@pytest.fixture
def quick(monkeypatch):
    """program.main in this process, with Layer_in timed at two batch sizes, 10 entries an
    array in the gradient check and the figures not drawn (quick.figures: what the run gave
    them). quick(*argv) returns (status, results.json if the run wrote it)."""
    import train_autoenc_lite as program

    monkeypatch.setattr(program, "TIMING_SIZES", (1, 2))
    monkeypatch.setattr(program.gradient_check, "SAMPLE", 10)
    figures = []

    def stand_in(folder, *args):
        figures.append(args)
        for name in program.FIGURES:
            pathlib.Path(folder, name).write_bytes(PNG + b"stand-in")

    monkeypatch.setattr(program.plots, "all_figures", stand_in)

    def run(*argv):
        argv = [str(a) for a in argv]
        status = program.main(argv)
        out = pathlib.Path(argv[argv.index("--out") + 1] if "--out" in argv else "results")
        return status, results_of(out) if status == 0 else None

    run.figures = figures
    return run

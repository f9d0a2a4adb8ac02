"""What the tests share: the project on the import path, the utils.py under test (--utils),
the program run as a user runs it (a fresh process) or in this process, made quick; and the
kit's scoring by the homework's rubric.

This file imports NumPy and pytest only, so that tests/test_math.py, the gradient-check kit,
runs without Matplotlib: `python -m pytest tests/test_math.py --utils PATH` checks PATH and
scores it (--score-json PATH writes the score; each test may take --time-limit seconds)."""

import importlib.util
import json
import os
import pathlib
import signal
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


RUBRIC = {  # the homework's items the kit grades: name, points (of 40), the function to write
    "2.1": ("initialisation", 5, "init"),
    "2.2.1": ("Layer_in in scalar form", 5, "forward_in_scalar"),
    "2.2.2": ("Layer_rec, Layer_link, Layer_out", 5, "forward"),
    "2.3.1": ("the loss", 5, "get_loss"),
    "2.3.2": ("backprop", 10, "backprop"),
    "2.3.3": ("apply_dw", 5, "apply_dw"),
}
BY_EYE = "2.3.4, the learning curve and the test pairs (the last 5 of 40)"
TIME_LIMIT = 10.0  # seconds a test of the kit may take
GRADED = {}  # nodeid of a test with an item mark: {"item", "needs", "passed"}


def pytest_addoption(parser):
    parser.addoption("--utils", metavar="PATH", help="check this utils.py (default: the project's)")
    parser.addoption("--score-json", metavar="PATH", help="write the kit's score there as JSON")
    parser.addoption(
        "--time-limit", metavar="SECONDS", type=seconds, default=TIME_LIMIT, help="a test's limit"
    )  # a student's loop that never ends fails its own test


def seconds(text):
    """A time limit: a number of seconds above 0 (argparse says "invalid seconds value")."""
    if not 0 < float(text) < 1e6:
        raise ValueError(text)
    return float(text)


def pytest_configure(config):
    """Loads the utils.py under test; a missing or broken PATH, or a --score-json that cannot
    be written, is a one-line usage error before any test runs."""
    config.addinivalue_line("markers", "item(number, needs=()): the homework item a test grades")
    score_json = config.getoption("score_json")
    folder = os.path.dirname(os.path.abspath(score_json or "."))
    if score_json and (os.path.isdir(score_json) or not os.access(folder, os.W_OK)):
        raise pytest.UsageError(f"--score-json {score_json}: cannot be written there")
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


def pytest_collection_modifyitems(items):
    for test in items:
        mark = test.get_closest_marker("item")
        if mark:
            needs = mark.kwargs.get("needs", ())
            GRADED[test.nodeid] = {"item": mark.args[0], "needs": needs, "passed": None}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A graded test ends within the time limit, whatever the student's code does: an alarm
    raises in it, again each second if the code catches that."""
    limit = item.config.getoption("time_limit")
    if item.nodeid not in GRADED or not hasattr(signal, "setitimer"):
        yield
        return

    def over(signum, frame):
        raise TimeoutError(f"took over {limit:g} s")

    before = signal.signal(signal.SIGALRM, over)
    signal.setitimer(signal.ITIMER_REAL, limit, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A slot of the gift pack still to be written fails its test in one line."""
    report = (yield).get_result()
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, NotImplementedError) and str(error).endswith("is still to be written"):
        report.longrepr = str(error)


def pytest_runtest_logreport(report):
    graded = GRADED.get(report.nodeid)
    if graded and (report.when == "call" or report.failed):  # its setup, call or teardown
        graded["passed"] = report.passed


def score(utils_path):
    """The kit's score by the rubric: an item's points in proportion to its tests passed,
    rounded down (all pass: all its points; none: none; more passing, never fewer)."""
    items = []
    for number, (name, points, function) in RUBRIC.items():
        mine = [g for g in GRADED.values() if g["item"] == number and g["passed"] is not None]
        passed = sum(g["passed"] for g in mine)
        row = {"item": number, "name": name, "function": function, "points": points}
        row |= {"earned": points * passed // max(len(mine), 1), "passed": passed}
        items.append({**row, "tests": len(mine), "needs": {n for g in mine for n in g["needs"]}})
    done = {i["function"] for i in items if i["passed"] == i["tests"]}
    for i in items:  # the functions it needs whose own items are not whole
        needs = i.pop("needs") - done
        i["waits_for"] = [j["function"] for j in items if j["function"] in needs]
    of = sum(points for _, points, _ in RUBRIC.values())
    return {
        "items": items,
        "earned": sum(i["earned"] for i in items),
        "of": of,
        "utils": utils_path,
    }


def pytest_terminal_summary(terminalreporter, config):
    """The rubric's table after the tests, if any graded test ran; --score-json writes it."""
    if all(g["passed"] is None for g in GRADED.values()):
        return
    result = score(config.getoption("utils") or "utils.py")
    write = terminalreporter.write_line
    write("\nscore by the homework's rubric: an item's points in proportion to its tests passed,")
    write("rounded down (all pass: all its points; none: none; more passing: never fewer)")
    rows = [("item", "function", "points", "tests passed", "earned", "")]
    for i in result["items"]:
        wait = f"waits for {', '.join(i['waits_for'])}" if i["waits_for"] else ""
        passed = f"{i['passed']} of {i['tests']}"
        rows.append((i["item"], i["function"], str(i["points"]), passed, str(i["earned"]), wait))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        cells = [
            c.ljust(w) if k in (0, 1, 5) else c.rjust(w)
            for k, (c, w) in enumerate(zip(row, widths))
        ]
        write("  " + "  ".join(cells).rstrip())
    write(f"score: {result['earned']} of {result['of']}")
    write(f"graded by eye from results/: {BY_EYE}")
    path = config.getoption("score_json")
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=1)


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

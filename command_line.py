"""The command line around the homework run: its flags, how it ends, and the terminal.

- `DEFAULTS` and `parse_args`: every flag, its default and its range, in one place;
- `RunError` (exit status 1) and `InputError` (status 2): failures worded for the user;
- `one_line_errors()`: the block the run lives in. Whatever ends it early becomes one line
  on stderr and an exit status: a failure, a bad flag or file, Ctrl-C, SIGTERM or SIGHUP
  (128 + the signal), a closed stdout (141, quietly), a full disk under stdout, out of
  memory, a warning made an error by `python -W error`. Never a traceback for any of them;
- `signals_held()`: a block that a stop does not cut short (the output set's renames);
- `imports_guarded(__name__)`: the program's imports, where a missing NumPy or Matplotlib,
  or a stop while they load, is one line too; it also keeps NumPy's linear algebra on one
  thread (see below).

A stop raises `Stopped` at once, wherever the run is, so the homework's own functions need
no checks for it; only `signals_held()` blocks hold it back until they end. The standard
library only: this module must work before NumPy is loaded, or when it is missing.
"""

import argparse
import contextlib
import functools
import importlib.util
import os
import re
import signal
import sys
import warnings

import report

PROGRAM = "train_autoenc_lite.py"
HERE = os.path.dirname(os.path.abspath(__file__))

DEFAULTS = {
    "steps": 1000,
    "batch_size": 20,
    "lr": 0.001,
    "seed": 0,
    "train": os.path.join(HERE, "images_train.pickle"),
    "test": os.path.join(HERE, "images_test.pickle"),
    "out": "results",
}
MAX_STEPS = 10_000_000
MAX_SEED = 2**32 - 1
MAX_LR = 1e10
MAX_DIGITS = 20  # a whole number longer than this is out of every range, unread

STOP_SIGNALS = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
BLAS_THREADS = (  # one variable for each common BLAS: OpenBLAS, MKL, Apple's, OpenMP's
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "OMP_NUM_THREADS",
)


class RunError(Exception):
    """A run that cannot go on; the message is one line for the user. Exit status 1."""

    status = 1


class InputError(RunError):
    """A flag or a file that makes no sense, found before any work. Exit status 2."""

    status = 2


class Stopped(BaseException):
    """Ctrl-C (SIGINT), SIGTERM or SIGHUP. Exit status 128 + the signal's number."""


# ------------------------------------------------------------------------- flags


def whole_number(low, high=None):
    """An argparse type: a whole number from low to high (no bound if high is None)."""
    limits = f"{low:,} to {high:,}" if high is not None else f"at least {low:,}"

    def parse(text):
        if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            raise argparse.ArgumentTypeError(f"{report.quoted(text)} is not a whole number")
        too_long = len(text.strip().lstrip("+-").lstrip("0")) > MAX_DIGITS
        value = None if too_long else int(text)  # no million-digit number is ever converted
        if too_long or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{report.quoted(text)} is out of range: {limits}")
        return value

    return parse


def learning_rate(text):
    """An argparse type: a number above 0 and at most MAX_LR."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{report.quoted(text)} is not a number") from None
    if not 0 < value <= MAX_LR:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"{report.quoted(text)} is out of range: above 0, at most {MAX_LR:g}"
        )
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (the InputError of any other bad input)."""

    def error(self, message):
        raise InputError("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


class HelpShown(Exception):
    """-h was asked for and printed: exit status 0."""


def parse_args(argv=None):
    """The run's flags from argv (sys.argv[1:] if None); InputError if one is wrong."""
    parser = OneLineParser(
        prog=PROGRAM,
        description="Train AutoEncNetLite by SGD and report: timing, gradient check, learning "
        "curve, test images, weights. Paths are relative to the current folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        add_help=False,
    )
    add = parser.add_argument
    add("-h", "--help", action="store_true", help="show this help and exit")
    add(
        "--steps",
        type=whole_number(1, MAX_STEPS),
        metavar="N",
        help=f"SGD updates, 1 to {MAX_STEPS:,}",
    )
    add(
        "--batch-size",
        type=whole_number(1),
        metavar="N",
        help="images per update, 1 to the number of training images",
    )
    add("--lr", type=learning_rate, help=f"learning rate, above 0 and at most {MAX_LR:g}")
    add(
        "--seed",
        type=whole_number(0, MAX_SEED),
        metavar="N",
        help=f"seed of every random draw, 0 to {MAX_SEED:,}",
    )
    add("--train", metavar="FILE", help="training images: a pickle of an (N, 15, 15) array")
    add("--test", metavar="FILE", help="test images, the same kind of file")
    add("--out", metavar="FOLDER", help="folder for the results")
    parser.set_defaults(**DEFAULTS)
    args = parser.parse_args(argv)
    if args.help:
        say(parser.format_help().rstrip("\n"))
        raise HelpShown()
    return args


# --------------------------------------------------------------- how a run ends


class Outcome:
    """The exit status one_line_errors() found: 0 unless something ended the run early."""

    status = 0


_held = []  # while a signals_held() block runs: the signals that asked for a stop meanwhile
_holding = [0]  # how many signals_held() blocks are open
_swallowed = []  # stops raised where Python only reports what is raised (see _unraisable)


def _stop(signum, frame):
    """The handler of STOP_SIGNALS: stop at once, or at the end of a signals_held() block."""
    if _holding[0]:
        _held.append(signum)
    else:
        raise Stopped(signum)


def _unraisable(report_it, info):
    """sys.unraisablehook within the run. A signal can land while Python runs a finalizer
    or a weakref callback (Matplotlib's objects have many), which only reports what it
    raises: such a Stopped is kept, and the run stops at its next signals_held() block or
    at its end. Anything else goes to report_it, the hook there was before."""
    if isinstance(info.exc_value, Stopped):
        _swallowed.append(info.exc_value.args[0])
    else:
        report_it(info)


def _stop_if_swallowed():
    if _swallowed:
        signum = _swallowed[0]
        _swallowed.clear()
        raise Stopped(signum)


@contextlib.contextmanager
def signals_held():
    """A block that a stop does not cut short: a stop asked for within it ends the run as
    soon as the block is done."""
    _stop_if_swallowed()  # before the block, not after
    _holding[0] += 1
    try:
        yield
    finally:
        _holding[0] -= 1
    if _held and not _holding[0]:
        raise Stopped(_held.pop(0))


@contextlib.contextmanager
def one_line_errors():
    """Run a block as the program: every way it can end early becomes one line on stderr
    and outcome.status. Stop signals are handled within it (and restored after)."""
    outcome = Outcome()
    previous = {signum: signal.signal(signum, _stop) for signum in STOP_SIGNALS}
    _held.clear()
    _swallowed.clear()
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_unraisable, hook)
    for stream in (sys.stdout, sys.stderr):  # a name the encoding cannot show: escaped
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    try:
        yield outcome
        _stop_if_swallowed()
    except HelpShown:
        pass
    except RunError as e:
        outcome.status = error(f"error: {e}", e.status)
    except Stopped as e:
        outcome.status = stopped(e.args[0])
    except KeyboardInterrupt:  # Ctrl-C before our handler was in place
        outcome.status = stopped(signal.SIGINT)
    except BrokenPipeError:  # stdout was closed (`| head`): end quietly, as SIGPIPE would
        silence(sys.stdout)
        outcome.status = 128 + 13
    except StdoutError as e:
        silence(sys.stdout)
        outcome.status = error(f"error: cannot write to standard output ({e})", 1)
    except MemoryError:
        outcome.status = error("error: out of memory; free some, or use smaller image files", 1)
    except Warning as e:  # python -W error made a warning an exception
        outcome.status = error(f"error: a warning made an error: {type(e).__name__}: {e}", 1)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = hook


class StdoutError(Exception):
    """Standard output failed (a full disk, say) for a reason other than a closed pipe."""


def say(text=""):
    """Print a line at once (also into a pipe); StdoutError if standard output fails."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise StdoutError(e.strerror or e) from None


def error(message, status):
    """message as one line on stderr, if stderr is there to take it; returns status."""
    if sys.stderr is not None:  # None: started with stderr closed (2>&-)
        try:
            print(f"{PROGRAM}: {message}", file=sys.stderr, flush=True)
        except (OSError, ValueError):  # stderr broken: the status alone tells
            silence(sys.stderr)
    return status


def stopped(signum):
    how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    return error(how, 128 + signum)


def silence(stream):
    """Point a standard stream at the null device, so that Python's last flush at exit
    has nowhere to fail."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# --------------------------------------------------------------------- imports


@contextlib.contextmanager
def imports_guarded(module_name):
    """The program's imports. Run as a program (module_name "__main__"): NumPy's linear
    algebra on one thread unless the user chose (a tiny matrix gains nothing from more,
    and on a busy machine the other threads wait for a core), stops handled from here on,
    and NumPy or Matplotlib missing, or a stop while they load, is one line. Imported, it
    does nothing."""
    if module_name != "__main__":
        yield
        return
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)
    try:
        with warnings.catch_warnings():  # libraries' deprecation notices, even with -W error
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            yield
    except MemoryError:  # a small `ulimit -v`: NumPy and Matplotlib alone need 200 MB
        sys.exit(error("error: out of memory while loading NumPy and Matplotlib; free some", 1))
    except ImportError as e:
        missing = [m for m in ("numpy", "matplotlib") if importlib.util.find_spec(m) is None]
        if not missing:  # installed, but they did not load (a library that cannot be mapped)
            why = report.quoted((str(e).strip().splitlines() or [type(e).__name__])[-1], 200)
            sys.exit(error(f"error: NumPy or Matplotlib did not load: {why}", 1))
        sys.exit(
            error(
                f"error: {' and '.join(missing)} not installed for {sys.executable}; set up "
                "as README.md says (python3 -m venv .venv && .venv/bin/pip install -r "
                "requirements.txt), then run .venv/bin/python train_autoenc_lite.py",
                2,
            )
        )
    except (Stopped, KeyboardInterrupt) as e:
        sys.exit(stopped(e.args[0] if isinstance(e, Stopped) else signal.SIGINT))

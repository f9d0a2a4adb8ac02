"""command_line.py: flags and their ranges, one-line errors and exit statuses, stops by
signal, and a terminal that misbehaves; the run is started as a user would where the
terminal is the point, and in this process elsewhere."""

import json
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import PREVIOUS, ROOT, SCRIPT, contents, flags, previous_run, run_program

import command_line
import output_set
import plots
import train_autoenc_lite as program
import utils

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and streams")

# --------------------------------------------------------------------------- flags


def test_help_shows_every_flag_with_its_range_and_default(tmp_path, capsys):
    assert program.main(["-h"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # one line, however argparse wraps
    for flag, limits, default in [
        ("--steps", "1 to 10,000,000", "1000"),
        ("--batch-size", "1 to the number of training images", "20"),
        ("--lr", "above 0 and at most 1e+10", "0.001"),
        ("--seed", "0 to 4,294,967,295", "0"),
        ("--train", "", str(ROOT / "images_train.pickle")),
        ("--out", "", "results"),
    ]:
        assert flag in out and limits in out and f"(default: {default})" in out
    assert "relative to the current folder" in out


@pytest.mark.parametrize(
    "argv, value",
    [
        (["--steps", "1"], ("steps", 1)),
        (["--steps", "10000000"], ("steps", 10_000_000)),
        (["--steps", "+0012"], ("steps", 12)),
        (["--seed", "0"], ("seed", 0)),
        (["--seed", "4294967295"], ("seed", 2**32 - 1)),
        (["--lr", "1e10"], ("lr", 1e10)),
        (["--lr", "5e-324"], ("lr", 5e-324)),
        (["--batch-size", "1"], ("batch_size", 1)),
        (["--batch-size", "9" * 20], ("batch_size", int("9" * 20))),  # checked against the file
    ],
)
def test_flags_just_inside_their_ranges_are_taken(argv, value):
    assert getattr(flags(*argv), value[0]) == value[1]


def make_bad_files(tmp):
    (tmp / "hostile.pickle").write_bytes(
        b"\x80\x02cos\nsystem\n(Vtouch " + str(tmp / "ran").encode() + b"\ntR."
    )
    (tmp / "flat.pickle").write_bytes(pickle.dumps(np.zeros((20, 225))))
    (tmp / "a_file").write_text("not a folder")


def bad_inputs(tmp):
    """Each case: (flags, what the one-line error must say), for files in tmp."""
    missing, hostile = str(tmp / "nope.pickle"), str(tmp / "hostile.pickle")
    return {
        "steps zero": (["--steps", "0"], "--steps: '0' is out of range: 1 to 10,000,000"),
        "steps just too many": (["--steps", "10000001"], "'10000001' is out of range"),
        "steps negative": (["--steps", "-5"], "'-5' is out of range"),
        "steps fraction": (["--steps", "2.5"], "'2.5' is not a whole number"),
        "steps word": (["--steps", "many"], "'many' is not a whole number"),
        "steps 21 digits": (["--steps", "1" + "0" * 20], "is out of range: 1 to 10,000,000"),
        "steps a million digits": (["--steps", "9" * 1_000_000], "(1,000,000 in all) is out"),
        "batch size zero": (["--batch-size", "0"], "'0' is out of range: at least 1"),
        "batch size too large": (["--batch-size", "1001"], "1001: larger than the 1000 images"),
        "batch size 21 digits": (["--batch-size", "9" * 21], "is out of range: at least 1"),
        "lr zero": (["--lr", "0"], "'0' is out of range: above 0, at most 1e+10"),
        "lr negative": (["--lr", "-0.1"], "--lr"),
        "lr nan": (["--lr", "nan"], "'nan' is out of range"),
        "lr infinite": (["--lr", "inf"], "'inf' is out of range"),
        "lr just too large": (["--lr", "1.0000001e10"], "is out of range: above 0, at most 1e+10"),
        "lr word": (["--lr", "fast"], "'fast' is not a number"),
        "seed negative": (["--seed", "-1"], "'-1' is out of range: 0 to 4,294,967,295"),
        "seed just too large": (["--seed", str(2**32)], "is out of range: 0 to 4,294,967,295"),
        "unknown flag": (["--epochs", "3"], "unrecognized arguments: --epochs 3"),
        "a flag value with a newline": (["--epochs", "3\n\x1b[2J"], "3\\n\\x1b[2J"),
        "missing train file": (["--train", missing], "--train nope.pickle: no such file"),
        "train file is a folder": (["--train", str(tmp)], "is a folder"),
        "test file wrong shape": (["--test", str(tmp / "flat.pickle")], "(20, 225)"),
        "test file of text": (["--test", str(tmp / "a_file")], "not a pickle"),
        "hostile test file": (["--test", hostile], "refused"),
        "out is a file": (["--out", str(tmp / "a_file")], "a_file: exists and is not a folder"),
        "out empty": (["--out", ""], "--out: an empty name"),
    }


@pytest.mark.parametrize("case", list(bad_inputs(pathlib.Path("tmp"))))
def test_bad_input_is_one_line_and_status_2_before_any_work(case, tmp_path, capsys, monkeypatch):
    make_bad_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    args, expected = bad_inputs(tmp_path)[case]
    monkeypatch.setattr(program, "compare_layer_in", None)  # reaching any work is an error
    status = program.main(args)
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith(
        "train_autoenc_lite.py: error: "
    ), captured.err
    assert expected in captured.err
    assert len(captured.err) < 400
    assert not (tmp_path / "ran").exists() and not (tmp_path / "results").exists()


# ---------------------------------------------------------------- how a run ends


def fire(monkeypatch, owner, name, signum, at_call=1, only=lambda *args: True):
    """Wrap owner.name so that the process sends itself signum at that call."""
    real, calls = getattr(owner, name), []

    def wrapper(*args, **kwargs):
        calls.append(only(*args))
        if sum(calls) == at_call and calls[-1]:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


MOMENTS = {
    "loading": lambda mp, s: fire(mp, program.image_files, "load_images", s),
    "timing": lambda mp, s: fire(mp, utils, "forward_in_scalar", s, at_call=3),
    "gradient check": lambda mp, s: fire(mp, utils, "backprop", s),
    "training": lambda mp, s: fire(mp, utils, "apply_dw", s, at_call=5),
    "writing": lambda mp, s: fire(mp, output_set.OutputSet, "_remove_leftovers", s),
}


@posix_only
@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_ends_the_run_in_one_line_leaving_the_previous_outputs(
    moment, signame, quick, tmp_path, capsys, monkeypatch
):
    out = previous_run(tmp_path / "results")
    signum = getattr(signal, signame)
    MOMENTS[moment](monkeypatch, signum)
    applied = fire(monkeypatch, utils, "apply_dw", 0, at_call=-1)  # counts the updates
    steps = 100_000 if moment == "training" else 20
    status, _ = quick("--steps", steps, "--out", out)
    assert status == 128 + signum
    message = "interrupted" if signame == "SIGINT" else f"stopped by {signame}"
    assert capsys.readouterr().err == f"train_autoenc_lite.py: {message}\n"
    assert contents(out) == PREVIOUS  # untouched, and nothing left behind
    assert len(applied) <= (20 if moment == "writing" else 5)  # at once, not after 100,000


class StopsWhenCollected:
    """An object whose finalizer is where the stop signal lands: Python only reports what a
    finalizer raises, so the Stopped the handler raises there goes nowhere."""

    def __del__(self):
        command_line._stop(signal.SIGTERM, None)


@posix_only
@pytest.mark.parametrize("where", ["training", "after the figures"])
def test_a_stop_that_lands_in_a_finalizer_still_stops_the_run(
    where, quick, tmp_path, capsys, monkeypatch
):
    out = previous_run(tmp_path / "results")
    owner, name = (utils, "apply_dw") if where == "training" else (plots, "all_figures")
    real = getattr(owner, name)

    def collected_meanwhile(*args):
        StopsWhenCollected()  # made and collected at once: its finalizer runs the handler
        return real(*args)

    monkeypatch.setattr(owner, name, collected_meanwhile)
    status, _ = quick("--steps", 5, "--out", out)
    assert status == 143
    assert capsys.readouterr().err == "train_autoenc_lite.py: stopped by SIGTERM\n"
    assert contents(out) == PREVIOUS  # stopped before the renames: the previous set stays


@posix_only
def test_a_signal_during_the_renames_waits_for_the_whole_set(quick, tmp_path, capsys, monkeypatch):
    out = previous_run(tmp_path / "results")
    fire(
        monkeypatch, os, "replace", signal.SIGTERM, only=lambda src, dst: str(dst).endswith(".png")
    )
    status, _ = quick("--steps", 5, "--out", out)
    assert (
        status == 143 and capsys.readouterr().err == "train_autoenc_lite.py: stopped by SIGTERM\n"
    )
    after = contents(out)
    assert sorted(after) == sorted(program.OUTPUTS)
    assert json.loads(after["results.json"])["config"]["steps"] == 5
    assert all(after[name] != PREVIOUS[name] for name in program.OUTPUTS)


@posix_only
def test_kills_at_any_moment_leave_one_whole_set_or_the_previous(tmp_path):
    """Real SIGTERMs at spread-out moments of real runs: status 0 or 143 and one line,
    and the folder holds the previous set or a whole new one."""
    for i, delay in enumerate((0.05, 0.9, 1.6)):
        out = previous_run(tmp_path / f"results{i}")
        process = subprocess.Popen(
            [sys.executable, SCRIPT, "--steps", "300", "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
        after = contents(out)
        assert sorted(after) == sorted(program.OUTPUTS), (delay, sorted(after))
        new = [n for n in program.OUTPUTS if after[n] != PREVIOUS[n]]
        if process.returncode == 0:
            assert err == "" and new == list(program.OUTPUTS)
        elif process.returncode == -signal.SIGTERM:  # before Python ran the first line
            assert err == "" and new == []
        else:
            assert (
                process.returncode == 143 and err == "train_autoenc_lite.py: stopped by SIGTERM\n"
            )
            assert new in ([], list(program.OUTPUTS)), (delay, new)


@posix_only
def test_a_closed_stdout_ends_the_run_quietly(tmp_path):
    """python train_autoenc_lite.py | head -3"""
    process = subprocess.Popen(
        [sys.executable, SCRIPT, "--out", str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines = [process.stdout.readline() for _ in range(3)]
    assert lines[0].startswith(b"AutoEncNetLite:")
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 128 + 13, err
    assert err == b"" and not (tmp_path / "r").exists()


@posix_only
def test_a_full_disk_under_stdout_is_one_line_and_status_1(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, SCRIPT, "--steps", "3", "--out", "r"],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert done.returncode == 1
    assert done.stderr == (
        "train_autoenc_lite.py: error: cannot write to standard output (No space left on device)\n"
    )
    assert list(tmp_path.iterdir()) == []


@posix_only
@pytest.mark.parametrize("stderr", ["closed", "a broken pipe"])
def test_without_a_stderr_the_status_alone_tells(stderr, tmp_path):
    args = [sys.executable, SCRIPT, "--train", "missing.pickle"]
    if stderr == "closed":
        done = subprocess.run(
            ["sh", "-c", '"$@" 2>&-', "sh", *args], cwd=tmp_path, capture_output=True
        )
        output = done.stdout
    else:
        read, write = os.pipe()
        os.close(read)  # nobody reads: every write to it is a broken pipe
        done = subprocess.run(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=write)
        os.close(write)
        output = done.stdout
    assert done.returncode == 2 and output == b""


@posix_only
def test_names_the_terminal_cannot_encode_are_escaped(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    (tmp_path / "résultats").write_text("a file, not a folder")
    done = run_program("--out", "résultats", cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "train_autoenc_lite.py: error: --out r\\xe9sultats: exists and is not a folder\n"
    )


@posix_only
def test_a_current_folder_that_vanished_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f'cd "{gone}" && rmdir "{gone}" && exec "$0" "$@"'
    done = subprocess.run(
        ["sh", "-c", script, sys.executable, SCRIPT, "--train", "rel.pickle"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("train_autoenc_lite.py: error: --train rel.pickle: ")


def test_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    def no_memory(args):
        raise MemoryError()

    monkeypatch.setattr(program, "load_data", no_memory)
    assert program.main(["--out", str(tmp_path / "r")]) == 1
    assert capsys.readouterr().err == (
        "train_autoenc_lite.py: error: out of memory; free some, or use smaller image files\n"
    )


def test_a_warning_made_an_error_is_one_line(tmp_path, capsys, monkeypatch):
    def warned(args):
        raise RuntimeWarning("overflow encountered")

    monkeypatch.setattr(program, "load_data", warned)
    assert program.main([]) == 1
    assert capsys.readouterr().err == (
        "train_autoenc_lite.py: error: a warning made an error: RuntimeWarning: overflow "
        "encountered\n"
    )


@posix_only
def test_python_W_error_on_all_black_images_runs_clean(tmp_path):
    black = tmp_path / "black.pickle"
    black.write_bytes(pickle.dumps(np.zeros((20, 15, 15))))
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            SCRIPT,
            "--train",
            black,
            "--test",
            black,
            "--steps",
            "10",
            "--out",
            "r",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(program.OUTPUTS)


@posix_only
def test_an_unusable_matplotlib_config_folder_adds_nothing_to_an_error(tmp_path):
    (tmp_path / "not-a-folder").write_text("x")
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "not-a-folder")}
    done = run_program("--lr", "-1", cwd=tmp_path, env=env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


# --------------------------------------------------------------- missing packages


def venv_with(tmp_path, packages):
    """A virtual environment without pip whose only packages are links to this
    environment's copies of `packages` (NumPy's bundled libraries too)."""
    import numpy

    home = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    linked = tmp_path / "linked"
    linked.mkdir()
    source = pathlib.Path(numpy.__file__).parent.parent
    for name in packages:
        for entry in (name, f"{name}.libs"):
            if (source / entry).exists():
                (linked / entry).symlink_to(source / entry)
    (pathlib.Path(site) / "linked.pth").write_text(str(linked) + "\n")
    return python


@posix_only
@pytest.mark.parametrize(
    "present, missing", [(["numpy"], "matplotlib"), ([], "numpy and matplotlib")]
)
def test_a_missing_package_is_one_line_that_points_at_the_readme(present, missing, tmp_path):
    python = venv_with(tmp_path, present)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([str(python), SCRIPT], cwd=work, capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == "" and list(work.iterdir()) == []
    assert done.stderr == (
        f"train_autoenc_lite.py: error: {missing} not installed for {python}; set up as "
        "README.md says (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt), "
        "then run .venv/bin/python train_autoenc_lite.py\n"
    )


def test_signals_held_delays_a_stop_to_the_end_of_the_block(capsys):
    reached = []
    with command_line.one_line_errors() as outcome:
        with command_line.signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("the end of the block")
        reached.append("past the block")  # never: the stop ends the run here
    assert reached == ["the end of the block"] and outcome.status == 143
    assert capsys.readouterr().err == "train_autoenc_lite.py: stopped by SIGTERM\n"


@pytest.mark.parametrize(
    "failure, said",
    [
        (MemoryError(), "out of memory while loading NumPy and Matplotlib; free some"),
        (
            ImportError("Error importing numpy\n\nOriginal error was: libx.so: failed to map"),
            "NumPy or Matplotlib did not load: 'Original error was: libx.so: failed to map'",
        ),
    ],
)
def test_imports_that_fail_with_the_packages_installed_are_one_line(failure, said, capsys):
    """A small `ulimit -v` makes NumPy's or Matplotlib's import fail (MemoryError, or an
    ImportError for a library that cannot be mapped): one line and status 1."""
    previous = {signum: signal.getsignal(signum) for signum in command_line.STOP_SIGNALS}
    try:
        with pytest.raises(SystemExit) as ended:
            with command_line.imports_guarded("__main__"):
                raise failure
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert ended.value.code == 1
    assert capsys.readouterr().err == f"train_autoenc_lite.py: error: {said}\n"


def test_the_run_gives_back_the_unraisable_hook_it_found(capsys):
    """Within the run a swallowed Stopped is kept; anything else, and everything after the
    run, goes to the hook that was there before (pytest's own, here)."""
    before = sys.unraisablehook
    with command_line.one_line_errors() as outcome:
        assert sys.unraisablehook is not before
    assert sys.unraisablehook is before and outcome.status == 0

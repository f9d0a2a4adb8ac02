"""run_support/command_line.py: the flags at the edges of their ranges, one-line errors and
exit statuses; and, in fresh processes as a user starts them, Ctrl-C and SIGTERM at any
moment, a closed stdout, NumPy or Matplotlib missing or unable to start."""

import os
import pathlib
import pickle
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SCRIPT, TRAIN_FILE, contents

import train_autoenc_lite as program
from run_support import command_line, image_files

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and streams")


def flags(*argv):
    return command_line.parse_args([str(a) for a in argv])


@pytest.mark.parametrize("columns", ["30", "80", "250"])
def test_help_gives_every_flag_its_range_and_default(columns, capsys, monkeypatch):
    """Whole at any terminal width, in no colour whatever the environment asks, and naming the
    shipped files by their names: nothing of the folder the project is in."""
    for name, value in [("COLUMNS", columns), ("FORCE_COLOR", "1"), ("PYTHON_COLORS", "1")]:
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NO_COLOR", raising=False)
    with pytest.raises(SystemExit) as ended:
        program.main(["-h"])
    said = capsys.readouterr().out
    out = " ".join(said.split())  # one line, however argparse wraps
    assert ended.value.code == 0 and "(default: False)" not in out and "(default: None)" not in out
    for flag, limits, default in [
        ("--steps N", "1 to 10,000,000", "1000"),
        ("--batch-size N", "1 to all there are", "20"),
        ("--lr LR", "above 0 and at most 1e+10", "0.001"),
        ("--seed N", "0 to 4,294,967,295", "0"),
        ("--train FILE", "(N, 15, 15) array", "images_train.pickle"),
        ("--test FILE", "the same kind of file", "images_test.pickle"),
        ("--out FOLDER", "replaced as a whole", "results"),
    ]:
        assert f"{flag} " in out and limits in out and f"(default: {default})" in out
    assert "relative to the current folder; the shipped image files are found beside" in out
    assert str(ROOT) not in said and os.sep + "images_" not in said and "\x1b" not in said


@pytest.mark.parametrize(
    "argv, name, value",
    [
        (["--steps", "1"], "steps", 1),
        (["--steps", "10000000"], "steps", 10_000_000),
        (["--steps", " +0012 "], "steps", 12),
        (["--seed", "0"], "seed", 0),
        (["--seed", "4294967295"], "seed", 2**32 - 1),
        (["--lr", "1e10"], "lr", 1e10),
        (["--lr", "5e-324"], "lr", 5e-324),
        (["--batch-size", "1"], "batch_size", 1),
        (["--batch-size", "9" * 20], "batch_size", int("9" * 20)),  # checked against the file
    ],
)
def test_flags_just_inside_their_ranges_are_taken(argv, name, value):
    assert getattr(flags(*argv), name) == value


BAD_FLAGS = {
    "steps zero": (["--steps", "0"], "--steps: '0' is out of range: 1 to 10,000,000"),
    "steps one too many": (["--steps", "10000001"], "'10000001' is out of range: 1 to 10,000,000"),
    "steps negative": (["--steps", "-5"], "'-5' is out of range"),
    "steps a fraction": (["--steps", "2.5"], "'2.5' is not a whole number"),
    "steps a word": (["--steps", "many"], "'many' is not a whole number"),
    "steps of 21 digits": (["--steps", "1" + "0" * 20], "is out of range: 1 to 10,000,000"),
    "steps of a million digits": (["--steps", "9" * 10**6], "(1,000,000 in all) is out of range"),
    "batch size zero": (["--batch-size", "0"], "'0' is out of range: at least 1"),
    "batch size of 21 digits": (["--batch-size", "9" * 21], "is out of range: at least 1"),
    "lr zero": (["--lr", "0"], "'0' is out of range: above 0, at most 1e+10"),
    "lr nan": (["--lr", "nan"], "'nan' is out of range"),
    "lr infinite": (["--lr", "inf"], "'inf' is out of range"),
    "lr just too large": (["--lr", "1.0000001e10"], "is out of range: above 0, at most 1e+10"),
    "lr a word": (["--lr", "fast"], "'fast' is not a number"),
    "seed negative": (["--seed", "-1"], "'-1' is out of range: 0 to 4,294,967,295"),
    "seed one too large": (["--seed", str(2**32)], "is out of range: 0 to 4,294,967,295"),
    "a flag unknown": (["--epochs", "3"], "unrecognized arguments: --epochs 3"),
    "a value with a newline": (["--epochs", "3\n\x1b[2J"], "3\\n\\x1b[2J"),
    "a value missing": (["--steps"], "argument --steps: expected one argument"),
    "an empty --out": (["--out", ""], "argument --out: an empty path"),
    "an empty --train": (["--train", ""], "argument --train: an empty path"),
    "an empty --test": (["--test", ""], "argument --test: an empty path"),
}


@pytest.mark.parametrize("case", BAD_FLAGS)
def test_a_bad_flag_is_one_line_and_status_2_before_any_work(case, capsys, monkeypatch):
    argv, said = BAD_FLAGS[case]
    monkeypatch.setattr(program, "load_data", None)  # reaching any work is an error
    with pytest.raises(SystemExit) as ended:
        program.main(argv)
    err = capsys.readouterr().err
    assert ended.value.code == 2 and err.startswith("train_autoenc_lite.py: error: ")
    assert said in err and err.count("\n") == 1 and len(err) < 300 and err[:-1].isprintable()


BAD_FILES = [  # the flags, and the error that follows "train_autoenc_lite.py: error: "
    (["--train", "nope.pickle"], "--train nope.pickle: no such file"),
    (["--train", "."], "--train .: is a folder, not a regular file of images"),
    (["--test", "a_file"], "--test a_file: is not a pickle of protocol 2 to 5"),
    (["--test", "hostile.pickle"], "--test hostile.pickle: uses UNICODE, which no pickled array"),
    (["--batch-size", "1001"], "--batch-size 1001: larger than the 1000 images in"),
    (["--out", "a_file"], "--out a_file: exists and is not a folder"),
    (["--out", "loop"], "--out loop: is a link to nothing, or a loop of links"),
]


@pytest.mark.parametrize("argv, said", BAD_FILES)
def test_a_bad_file_or_folder_is_one_line_and_status_2_before_any_work(
    argv, said, tmp_path, capsys, monkeypatch
):
    (tmp_path / "hostile.pickle").write_bytes(b"\x80\x02cos\nsystem\n(Vtouch ran\ntR.")
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "loop").symlink_to("loop")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(program, "compare_layer_in", None)  # reaching any work is an error
    assert program.main(argv) == 2
    out, err = capsys.readouterr()
    assert (out, err.count("\n")) == ("", 1) and err.startswith(
        f"train_autoenc_lite.py: error: {said}"
    )
    made = sorted(os.listdir(tmp_path))
    assert made == ["a_file", "hostile.pickle", "loop"] and os.path.islink("loop")  # nothing ran


# ------------------------------------------------------------- how a run ends


def start(*args, cwd, env=None):
    """The program on 5 training images, batches of 5, as a user starts it: its timing takes
    no time (it runs to 5 images), so the moments it reaches come at once."""
    few = cwd.parent / f"{cwd.name}-few.pickle"
    few.write_bytes(pickle.dumps(image_files.load_images(TRAIN_FILE)[:5], protocol=4))
    env = {**{k: v for k, v in os.environ.items() if k != "MPLBACKEND"}, **(env or {})}
    return subprocess.Popen(
        [sys.executable, SCRIPT, "--train", str(few), "--batch-size", "5", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def previous(folder):
    folder.mkdir()
    for name in program.OUTPUTS:
        (folder / name).write_bytes(b"the previous " + name.encode())
    return contents(folder)


@posix
@pytest.mark.parametrize("signame, at", [("SIGTERM", "Training:"), ("SIGINT", "AutoEncNetLite:")])
def test_a_stop_ends_the_run_in_one_line_and_leaves_the_previous_outputs(signame, at, tmp_path):
    before = previous(tmp_path / "results")
    process = start("--steps", "1000000", cwd=tmp_path)
    for line in process.stdout:  # the run reached the line: it is in its work (timing, training)
        if line.startswith(at):
            break
    process.send_signal(getattr(signal, signame))
    out, err = process.communicate(timeout=30)
    how = "interrupted" if signame == "SIGINT" else "stopped by SIGTERM"
    status = 128 + getattr(signal, signame)
    assert (process.returncode, err) == (status, f"train_autoenc_lite.py: {how}\n")
    assert contents(tmp_path / "results") == before and sorted(os.listdir(tmp_path)) == ["results"]


@posix
def test_a_burst_of_stops_at_any_moment_of_the_start_is_one_line_or_none(tmp_path):
    """Before the program's handler is in place a SIGTERM does what it does by default (no
    line); after, one line and 143. Never a traceback, never "Exception ignored"."""
    for delay in (0.0, 0.05, 0.15, 0.3):
        process = start("--steps", "5", cwd=tmp_path)
        time.sleep(delay)
        for _ in range(20):
            process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        said = (process.returncode, err)
        assert said in ((-15, ""), (143, "train_autoenc_lite.py: stopped by SIGTERM\n")), delay
        assert os.listdir(tmp_path) == [], delay


@posix
def test_a_closed_stdout_ends_the_run_quietly_and_matplotlib_cleans_up(tmp_path):
    """python train_autoenc_lite.py | head -1, with an unusable MPLCONFIGDIR: Matplotlib then
    works in a temporary folder, which it removes when the process ends by returning."""
    for folder in ("work", "tmp"):
        (tmp_path / folder).mkdir()
    (tmp_path / "not-a-folder").write_text("x")
    config = {"MPLCONFIGDIR": str(tmp_path / "not-a-folder"), "TMPDIR": str(tmp_path / "tmp")}
    process = start(cwd=tmp_path / "work", env=config)
    assert process.stdout.readline().startswith("AutoEncNetLite:")
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=30) == 141 and err == ""
    assert os.listdir(tmp_path / "work") == [] and os.listdir(tmp_path / "tmp") == []


def test_a_stop_while_the_run_undoes_is_ignored(monkeypatch, capfd, stopping):
    undone = []

    def undo():  # a second stop, mid-undo: ignored
        undone.append(1)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(command_line, "ON_STOP", [undo])
    with pytest.raises(stopping) as stopped:
        os.kill(os.getpid(), signal.SIGTERM)  # handled at the next bytecode: here
    assert stopped.value.args == (143,) and undone == [1]
    assert capfd.readouterr().err == "train_autoenc_lite.py: stopped by SIGTERM\n"


def venv_with(tmp_path, packages):
    """A virtual environment without pip whose only packages are links to this one's copies
    of `packages` (NumPy's bundled libraries too)."""
    import numpy

    home = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([python, "-c", where], capture_output=True, text=True).stdout.strip()
    linked, source = tmp_path / "linked", pathlib.Path(numpy.__file__).parent.parent
    linked.mkdir()
    for entry in (e for name in packages for e in (name, f"{name}.libs") if (source / e).exists()):
        (linked / entry).symlink_to(source / entry)
    (pathlib.Path(site) / "linked.pth").write_text(f"{linked}\n")
    return python


@posix
@pytest.mark.parametrize(
    "present, missing", [(["numpy"], "matplotlib"), ([], "numpy and matplotlib")]
)
def test_a_missing_package_is_one_line_that_says_how_to_set_up(present, missing, tmp_path):
    python = venv_with(tmp_path, present)
    (tmp_path / "work").mkdir()
    done = subprocess.run([python, SCRIPT], cwd=tmp_path / "work", capture_output=True, text=True)
    assert (done.returncode, done.stdout, os.listdir(tmp_path / "work")) == (2, "", [])
    assert done.stderr == (
        f"train_autoenc_lite.py: error: {missing} not installed for {python}; set up as "
        "README.md says (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)\n"
    )


def test_a_matplotlib_that_cannot_start_is_one_line_that_says_what_to_do(tmp_path):
    (tmp_path / "matplotlibrc").write_bytes(b"\xff\xfe junk\n")  # Matplotlib reads it from here
    done = subprocess.run([sys.executable, SCRIPT], cwd=tmp_path, capture_output=True, text=True)
    assert (done.returncode, done.stdout, os.listdir(tmp_path)) == (2, "", ["matplotlibrc"])
    assert done.stderr.startswith(
        'train_autoenc_lite.py: error: Matplotlib cannot start: "UnicodeDecodeError: '
    ) and done.stderr.endswith("; unset MPLBACKEND, or mend or remove the matplotlibrc it read\n")
    assert done.stderr.count("\n") == 1


def test_an_import_that_fails_says_which_library_could_not_start(monkeypatch, capsys):
    """NumPy is imported first: whatever fails with NumPy loaded is Matplotlib's."""
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    setup = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
    for what, fix in (
        ("Matplotlib", "unset MPLBACKEND, or mend or remove the matplotlibrc it read"),
        ("NumPy", setup),
    ):
        if what == "NumPy":
            monkeypatch.delitem(sys.modules, "numpy")
        with pytest.raises(SystemExit) as ended, command_line.first_steps("__main__"):
            raise ValueError("a bad\n  build")
        said = f"train_autoenc_lite.py: error: {what} cannot start: 'ValueError: a bad build'"
        assert (ended.value.code, capsys.readouterr().err) == (2, f"{said}; {fix}\n")


def test_as_the_program_first_steps_puts_blas_on_one_thread_unless_the_user_chose(monkeypatch):
    handlers = {}
    monkeypatch.setattr(signal, "signal", handlers.__setitem__)
    for name in command_line.BLAS_THREADS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    with command_line.first_steps("train_autoenc_lite"):  # imported: nothing
        pass
    assert handlers == {} and "OPENBLAS_NUM_THREADS" not in os.environ
    with command_line.first_steps("__main__"):
        pass
    assert [os.environ[n] for n in command_line.BLAS_THREADS] == ["1", "1", "1", "2"]
    assert handlers == dict.fromkeys([signal.SIGINT, signal.SIGTERM], command_line._stop)


def test_importing_the_program_runs_nothing_sets_nothing_and_loads_no_pyplot(tmp_path):
    """No signal handler, no BLAS setting, no file; and no pyplot (no window, no show())."""
    code = (
        f"import os, signal, sys; sys.path.insert(0, {str(ROOT)!r}); import train_autoenc_lite\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), signal.getsignal(signal.SIGTERM) == "
        "signal.SIG_DFL, 'matplotlib.pyplot' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert done.stdout == "None True False\n" and done.stderr == "" and os.listdir(tmp_path) == []

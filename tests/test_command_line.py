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


def test_help_gives_every_flag_its_range_and_default(capsys):
    with pytest.raises(SystemExit) as ended:
        program.main(["-h"])
    out = " ".join(capsys.readouterr().out.split())  # one line, however argparse wraps
    assert ended.value.code == 0 and "(default: False)" not in out and "(default: None)" not in out
    for flag, limits, default in [
        ("--steps N", "1 to 10,000,000", "1000"),
        ("--batch-size N", "1 to all there are", "20"),
        ("--lr LR", "above 0 and at most 1e+10", "0.001"),
        ("--seed N", "0 to 4,294,967,295", "0"),
        ("--train FILE", "(N, 15, 15) array", str(ROOT / "images_train.pickle")),
        ("--test FILE", "the same kind of file", str(ROOT / "images_test.pickle")),
        ("--out FOLDER", "replaced as a whole", "results"),
    ]:
        assert f"{flag} " in out and limits in out and f"(default: {default})" in out
    assert "relative to the current folder" in out


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
    "steps of a million digits": (
        ["--steps", "9" * 1_000_000],
        "(1,000,000 in all) is out of range",
    ),
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
}


@pytest.mark.parametrize("case", BAD_FLAGS)
def test_a_bad_flag_is_one_line_and_status_2_before_any_work(case, capsys, monkeypatch):
    argv, said = BAD_FLAGS[case]
    monkeypatch.setattr(program, "load_data", None)  # reaching any work is an error
    with pytest.raises(SystemExit) as ended:
        program.main(argv)
    err = capsys.readouterr().err
    assert (
        ended.value.code == 2
        and err.count("\n") == 1
        and err.startswith("train_autoenc_lite.py: error: ")
    )
    assert said in err and len(err) < 300 and err[:-1].isprintable()  # one printable line


BAD_FILES = {
    "a train file missing": (["--train", "nope.pickle"], "--train nope.pickle: no such file"),
    "a train file a folder": (
        ["--train", "."],
        "--train .: is a folder, not a regular file of images",
    ),
    "a test file of text": (
        ["--test", "a_file"],
        "--test a_file: is not a pickle of protocol 2 to 5",
    ),
    "a hostile test file": (
        ["--test", "hostile.pickle"],
        "--test hostile.pickle: uses UNICODE, which no pickled array needs",
    ),
    "a batch larger than the file": (
        ["--batch-size", "1001"],
        "--batch-size 1001: larger than the 1000 images in",
    ),
    "out a file": (["--out", "a_file"], "--out a_file: exists and is not a folder"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_or_folder_is_one_line_and_status_2_before_any_work(
    case, tmp_path, capsys, monkeypatch
):
    (tmp_path / "hostile.pickle").write_bytes(b"\x80\x02cos\nsystem\n(Vtouch ran\ntR.")
    (tmp_path / "a_file").write_text("not a folder")
    argv, said = BAD_FILES[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(program, "compare_layer_in", None)  # reaching any work is an error
    assert program.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"train_autoenc_lite.py: error: {said}")
    assert captured.err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a_file",
        "hostile.pickle",
    ]  # nothing ran, nothing made


# ------------------------------------------------------------- how a run ends


def start(*args, cwd, env=None):
    """The program on 5 training images, batches of 5, as a user starts it: its timing takes
    no time (it runs to 5 images), so the moments it reaches come at once."""
    few = cwd.parent / f"{cwd.name}-few.pickle"
    few.write_bytes(pickle.dumps(image_files.load_images(TRAIN_FILE)[:5]))
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
    status = 128 + getattr(signal, signame)
    assert (process.returncode, err) == (
        status,
        f"train_autoenc_lite.py: {'interrupted' if status == 130 else 'stopped by SIGTERM'}\n",
    )
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
        assert (process.returncode, err) in (
            (-15, ""),
            (143, "train_autoenc_lite.py: stopped by SIGTERM\n"),
        ), (delay, err)
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


def venv_with(tmp_path, packages):
    """A virtual environment without pip whose only packages are links to this one's copies
    of `packages` (NumPy's bundled libraries too)."""
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
    done = subprocess.run(
        [str(python), SCRIPT], cwd=tmp_path / "work", capture_output=True, text=True
    )
    assert (done.returncode, done.stdout, os.listdir(tmp_path / "work")) == (2, "", [])
    assert done.stderr == (
        f"train_autoenc_lite.py: error: {missing} not installed for {python}; set up as "
        "README.md says (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)\n"
    )


@pytest.mark.parametrize(
    "setting, said",
    [
        ({"MPLBACKEND": "nonsense"}, "'nonsense' is not a valid value for backend"),
        ("\xff\xfe junk\n", "UnicodeDecodeError"),
    ],
)
def test_a_matplotlib_that_cannot_start_is_one_line_that_says_what_to_do(setting, said, tmp_path):
    env = dict(os.environ)
    if isinstance(setting, dict):
        env.update(setting)
    else:
        (tmp_path / "matplotlibrc").write_bytes(setting.encode("latin-1"))  # read from here
    command = [sys.executable, SCRIPT]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stdout == ""
    assert (
        done.stderr.startswith("train_autoenc_lite.py: error: Matplotlib cannot start: ")
        and said in done.stderr
    )
    assert done.stderr.endswith("; unset MPLBACKEND, or mend or remove the matplotlibrc it read\n")


def test_the_program_keeps_blas_on_one_thread_unless_the_user_chose(tmp_path):
    code = (
        f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); from run_support import command_line\n"
        "with command_line.first_steps('__main__'):\n    import numpy\n"
        "print(*(os.environ[n] for n in command_line.BLAS_THREADS))"
    )
    env = {k: v for k, v in os.environ.items() if k not in command_line.BLAS_THREADS}
    for preset, expected in ((None, ["1"] * 4), ("2", ["1", "1", "1", "2"])):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**env, **({"OMP_NUM_THREADS": preset} if preset else {})},
        )
        assert done.stdout.split() == expected, done.stderr


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

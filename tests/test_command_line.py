"""The run under the things real shells do to it: signals at any moment, a closed pipe,
files planted in its way, and a Python that lacks a package."""

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import train_autoenc_lite as program

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "train_autoenc_lite.py")

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

# Runs the program in this process, with one function wrapped so that the process sends
# itself a signal at that exact moment of the run: argv is MOMENT SIGNAL FLAGS...
DRIVER = """
import os, runpy, signal, sys
sys.path.insert(0, {root!r})
import plots, utils
moment, signame, *flags = sys.argv[1:]

def fire_on_call(owner, name, at_call=1, only=lambda *args: True):
    real, calls = getattr(owner, name), []
    def wrapper(*args, **kwargs):
        calls.append(only(*args))
        if sum(calls) == at_call and calls[-1]:
            os.kill(os.getpid(), getattr(signal, signame))
        return real(*args, **kwargs)
    setattr(owner, name, wrapper)

if moment == "timing":
    fire_on_call(utils, "forward_in_scalar", at_call=3)
elif moment == "gradient check":
    fire_on_call(utils, "backprop")
elif moment == "training":
    fire_on_call(utils, "apply_dw", at_call=5)
elif moment == "saving":
    fire_on_call(plots, "weights")  # two outputs are written by then
elif moment == "commit":
    fire_on_call(os, "replace", only=lambda src, dst: str(dst).endswith(".png"))  # a rename
sys.argv = [{script!r}, *flags]
runpy.run_path({script!r}, run_name="__main__")
"""

PREVIOUS = {name: f"the previous run's {name}".encode() for name in program.OUTPUTS}


def previous_run(folder):
    """A results folder that holds a whole earlier set of outputs."""
    folder.mkdir(exist_ok=True)
    for name, data in PREVIOUS.items():
        (folder / name).write_bytes(data)
    return folder


def contents(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def run_until(moment, signame, out, steps="20"):
    code = DRIVER.format(root=str(ROOT), script=SCRIPT)
    return subprocess.run(
        [sys.executable, "-c", code, moment, signame, "--steps", steps, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@posix_only
@pytest.mark.parametrize("moment", ["timing", "gradient check", "training", "saving"])
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_ends_the_run_in_one_line_leaving_the_previous_outputs(moment, signame, tmp_path):
    out = previous_run(tmp_path / "results")
    done = run_until(moment, signame, out)
    signum = getattr(signal, signame)
    assert done.returncode == 128 + signum, done.stderr
    message = "interrupted" if signame == "SIGINT" else f"stopped by {signame}"
    assert done.stderr == f"train_autoenc_lite.py: {message}\n"
    assert contents(out) == PREVIOUS  # untouched, and no temporary file left


@posix_only
def test_a_signal_during_the_renames_waits_for_the_whole_set(tmp_path):
    out = previous_run(tmp_path / "results")
    done = run_until("commit", "SIGTERM", out)
    assert done.returncode == 143 and done.stderr == "train_autoenc_lite.py: stopped by SIGTERM\n"
    after = contents(out)
    assert sorted(after) == sorted(program.OUTPUTS)  # the new set, whole: no mix, no temp
    assert all(after[name] != PREVIOUS[name] for name in program.OUTPUTS)


@posix_only
def test_kills_at_any_moment_leave_one_whole_set_or_the_previous(tmp_path):
    """Real SIGTERMs at spread-out moments of real runs: each run ends with status 0 or
    143 and one line, and its folder then holds the previous set or a whole new one."""
    for i, delay in enumerate((0.05, 0.4, 0.8, 1.2, 1.6, 2.0, 2.6)):
        out = previous_run(tmp_path / f"results{i}")
        process = subprocess.Popen(
            [sys.executable, SCRIPT, "--steps", "600", "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
        after = contents(out)
        assert sorted(after) == sorted(program.OUTPUTS), (delay, sorted(after))
        if process.returncode == 0:
            assert err == "" and all(after[n] != PREVIOUS[n] for n in program.OUTPUTS)
        elif process.returncode == -signal.SIGTERM:
            # killed before the script's first line ran, or while Python shut down after
            # the run: Python's own default (a shell reports it as 143 too), no output
            assert err == "", err
        else:
            assert process.returncode == 143, (delay, process.returncode, err)
            assert err == "train_autoenc_lite.py: stopped by SIGTERM\n", err
            new = [n for n in program.OUTPUTS if after[n] != PREVIOUS[n]]
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
    process.stdout.close()  # what head does after three lines
    err = process.stderr.read()
    assert process.wait(timeout=120) == 128 + 13, err
    assert err == b""  # no traceback, no message
    assert list((tmp_path / "r").iterdir()) == []  # no outputs, no temporary files


def test_outputs_are_renamed_into_place_only_all_together(tmp_path):
    folder = previous_run(tmp_path / "results")

    def broken(f):
        f.write(b"half a file")
        raise RuntimeError("crashed while writing")

    with pytest.raises(RuntimeError):
        with program.OutputSet(folder) as outputs:
            outputs.write("results.json", lambda f: f.write(b"new"))
            outputs.write("weights.npz", broken)
            outputs.commit()
    assert contents(folder) == PREVIOUS
    with program.OutputSet(folder) as outputs:
        outputs.write("results.json", lambda f: f.write(b"new"))
        outputs.commit()
    assert contents(folder) == {**PREVIOUS, "results.json": b"new"}
    mask = os.umask(0)
    os.umask(mask)
    assert (folder / "results.json").stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 600


@posix_only
def test_planted_symlinks_are_never_followed(tmp_path, monkeypatch):
    """An attacker who guesses the temporary name, or links the final one, writes nothing."""
    folder = tmp_path / "results"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    guessed = "guessed"
    (folder / f".results.json.{guessed}.tmp").symlink_to(victim)  # the temporary name
    (folder / "weights.npz").symlink_to(victim)  # and a final name
    names = iter([guessed, "fresh1", "fresh2"])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    with program.OutputSet(folder) as outputs:
        outputs.write("results.json", lambda f: f.write(b"{}"))
        outputs.write("weights.npz", lambda f: f.write(b"npz"))
        outputs.commit()
    assert victim.read_text() == "precious"
    assert (folder / "results.json").read_bytes() == b"{}"
    assert not (folder / "weights.npz").is_symlink()
    assert (folder / "weights.npz").read_bytes() == b"npz"


# --------------------------------------------------------------- missing packages


def venv_with(tmp_path, packages):
    """A virtual environment without pip whose only packages are links to this
    environment's copies of `packages` (NumPy's bundled libraries too)."""
    import numpy

    home = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120
    )
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = pathlib.Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    linked = tmp_path / "linked"
    linked.mkdir()
    source = pathlib.Path(numpy.__file__).parent.parent  # this environment's site-packages
    for name in packages:
        for entry in (name, f"{name}.libs"):
            if (source / entry).exists():
                (linked / entry).symlink_to(source / entry)
    (site / "linked.pth").write_text(str(linked) + "\n")
    return python


@posix_only
@pytest.mark.parametrize(
    "present, missing", [(["numpy"], "matplotlib"), ([], "numpy and matplotlib")]
)
def test_a_missing_package_is_one_line_before_any_work(present, missing, tmp_path):
    python = venv_with(tmp_path, present)
    if present:  # the venv really has NumPy, and really lacks Matplotlib
        check = "import numpy, importlib.util as u; print(u.find_spec('matplotlib'))"
        assert (
            subprocess.run(
                [str(python), "-c", check], capture_output=True, text=True, timeout=60
            ).stdout.strip()
            == "None"
        )
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [str(python), SCRIPT], cwd=work, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stdout == "" and list(work.iterdir()) == []  # before any work
    assert done.stderr == (
        f"train_autoenc_lite.py: error: {missing} not installed for {python}; install what the "
        f"program needs with: {python} -m pip install -r {ROOT / 'requirements.txt'}\n"
    )

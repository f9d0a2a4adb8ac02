"""output_set.py: the results folder, and the outputs replaced only as one whole set."""

import os
import pathlib
import tempfile
import threading
import time

import pytest
from conftest import PREVIOUS, contents, previous_run

import output_set
from command_line import InputError, RunError

NAMES = tuple(PREVIOUS)
NEW = {name: f"new {name}".encode() for name in NAMES}


def write_set(folder, data=NEW):
    with output_set.results_folder(folder, NAMES) as outputs:
        outputs.write_all(dict(data))


def test_a_new_set_replaces_the_previous_one_whole(tmp_path):
    folder = previous_run(tmp_path / "results")
    write_set(folder)
    assert contents(folder) == NEW  # and nothing else: no private folder left
    mask = os.umask(0)
    os.umask(mask)
    assert all((folder / n).stat().st_mode & 0o777 == 0o666 & ~mask for n in NAMES)


@pytest.mark.parametrize("failing", range(2 * len(NAMES)))
def test_a_rename_that_fails_undoes_the_ones_before_it(failing, tmp_path, monkeypatch):
    """Every rename of the swap fails in turn (moving a previous output aside, or putting
    a new one in place): the folder holds the previous set, whole."""
    folder = previous_run(tmp_path / "results")
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(src)
        if len(calls) == failing + 1:
            raise PermissionError(1, "Operation not permitted")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(RunError) as caught:
        write_set(folder)
    assert contents(folder) == PREVIOUS
    assert str(caught.value) == (
        f"--out {folder}: cannot write the results (Operation not permitted); the folder "
        "keeps the previous ones"
    )


def test_a_failure_while_writing_leaves_the_previous_set(tmp_path):
    folder = previous_run(tmp_path / "results")
    with pytest.raises(TypeError):
        write_set(folder, {**NEW, "weights.npz": None})  # not bytes: fails mid-way
    assert contents(folder) == PREVIOUS


def test_a_second_run_waits_for_the_lock(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    folder = previous_run(tmp_path / "results")
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run, in the middle of its renames
    writer = threading.Thread(target=write_set, args=(folder,))
    writer.start()
    time.sleep(0.3)
    try:
        assert contents(folder) == PREVIOUS and writer.is_alive()  # it waits its turn
    finally:
        os.close(fd)
    writer.join(timeout=30)
    assert contents(folder) == NEW


def test_what_a_killed_run_left_is_cleaned_up_by_the_next(tmp_path):
    folder = previous_run(tmp_path / "results")
    left = folder / f"{output_set.PRIVATE}dead1234"
    (left / "old").mkdir(parents=True)
    (left / "old" / "weights.npz").write_bytes(b"aside")
    (folder / "unrelated.txt").write_bytes(b"mine")
    write_set(folder)
    assert contents(folder) == {**NEW, "unrelated.txt": b"mine"}


def test_planted_symlinks_are_never_followed(tmp_path, monkeypatch):
    """Whoever guesses the private folder's name, or links a final name, writes nothing."""
    folder = tmp_path / "results"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / f"{output_set.PRIVATE}guessed").symlink_to(tmp_path, target_is_directory=True)
    (folder / "weights.npz").symlink_to(victim)
    names = iter(["guessed", "fresh1", "fresh2"])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    write_set(folder)
    assert victim.read_text() == "precious" and (tmp_path / "new").exists() is False
    assert not (folder / "weights.npz").is_symlink()
    assert (folder / "weights.npz").read_bytes() == NEW["weights.npz"]


# ------------------------------------------------------------------ the folder


def test_the_folders_a_failed_run_made_are_removed_if_empty(tmp_path):
    with pytest.raises(RuntimeError):
        with output_set.results_folder(tmp_path / "a" / "b" / "c", NAMES):
            raise RuntimeError("diverged")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "a").mkdir()
    with pytest.raises(RuntimeError):
        with output_set.results_folder(tmp_path / "a" / "b", NAMES):
            (tmp_path / "a" / "b" / "keep.txt").write_text("not empty")
            raise RuntimeError("diverged")
    assert (tmp_path / "a" / "b" / "keep.txt").exists()


@pytest.mark.parametrize(
    "make, out, expected",
    [
        (None, "", "--out: an empty name"),
        ("file", "f", "exists and is not a folder"),
        ("file", "f/r", "cannot make the folder (Not a directory)"),
        ("in the way", "w", "a folder named results.json is in the way"),
        (None, "x" * 300, "cannot make the folder (File name too long)"),
    ],
)
def test_a_folder_that_cannot_be_used_is_refused(make, out, expected, tmp_path):
    if make == "file":
        (tmp_path / "f").write_text("a file")
    elif make == "in the way":
        (tmp_path / "w" / "results.json").mkdir(parents=True)
    with pytest.raises(InputError) as caught:
        with output_set.results_folder(str(tmp_path / out) if out else "", NAMES):
            pass
    assert expected in str(caught.value) and str(caught.value).startswith("--out")


def test_a_folder_without_write_permission_is_refused(tmp_path):
    if os.geteuid() == 0 and not os.path.isdir("/sys/kernel"):
        pytest.skip("no folder here refuses this user")
    out = "/sys/kernel/autoenc" if os.geteuid() == 0 else str(tmp_path / "locked" / "r")
    if os.geteuid() != 0:
        (tmp_path / "locked").mkdir(mode=0o500)
    with pytest.raises(InputError, match="cannot make the folder"):
        with output_set.results_folder(out, NAMES):
            pass
    assert not pathlib.Path(out).exists()

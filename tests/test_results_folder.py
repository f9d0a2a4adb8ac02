"""run_support/results_folder.py: the folder holds the previous set whole or the new one
whole, whatever fails or stops, whenever; a run removes only what it made."""

import os
import pathlib
import signal
import threading

import pytest
from conftest import contents

from run_support import command_line
from run_support import results_folder as folders
from run_support.command_line import InputError, RunError
from run_support.results_folder import results_folder

NAMES = ("a.png", "b.json", "c.npz")
PREVIOUS = {name: f"the previous {name}".encode() for name in NAMES}
NEW = {name: f"new {name}".encode() for name in NAMES}
ONE_SET = ["results", *(f"results/{name}" for name in NAMES)]  # what tmp_path holds at the end


def previous(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in PREVIOUS.items():
        (folder / name).write_bytes(data)
    return folder


def write(folder, tag="new"):
    with results_folder(folder, NAMES) as new:
        for name in NAMES:
            with open(os.path.join(new, name), "wb") as f:
                f.write(f"{tag} {name}".encode())


def left(tmp_path):
    """Everything under tmp_path: no fresh folder may stay behind."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))


def test_a_new_set_replaces_the_previous_one_whole_and_leaves_nothing_else(tmp_path):
    write(previous(tmp_path / "results"))
    assert contents(tmp_path / "results") == NEW and left(tmp_path) == ONE_SET
    write(tmp_path / "deep" / "er" / "results")  # its parents made
    assert sorted(contents(tmp_path / "deep" / "er" / "results")) == sorted(NAMES)


def test_a_run_that_fails_leaves_the_previous_set_and_nothing_of_its_own(tmp_path):
    previous(tmp_path / "results")
    with pytest.raises(RuntimeError):
        with results_folder(tmp_path / "results", NAMES) as new:
            (tmp_path / "new").symlink_to(new)  # to see the fresh folder go
            raise RuntimeError("diverged")
    assert contents(tmp_path / "results") == PREVIOUS and not (tmp_path / "new").exists()
    with pytest.raises(RuntimeError):
        with results_folder(tmp_path / "a" / "b" / "results", NAMES):
            raise RuntimeError("diverged")
    assert left(tmp_path) == ["new", *ONE_SET]


@pytest.mark.parametrize("failing", [1, 2])
def test_a_rename_that_fails_leaves_the_previous_set(failing, tmp_path, monkeypatch):
    """The first rename moves the previous set aside, the second puts the new one in place."""
    folder, real, calls = previous(tmp_path / "results"), os.rename, []

    def rename(src, dst):
        calls.append(src)
        if len(calls) == failing:
            raise PermissionError(1, "Operation not permitted")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    said = r"cannot put the results in place \(Operation not permitted\); it keeps the previous"
    with pytest.raises(RunError, match=said):
        write(folder)
    assert contents(folder) == PREVIOUS and left(tmp_path) == ONE_SET


@pytest.mark.parametrize("renamed", [0, 1, 2])
def test_a_stop_before_between_or_after_the_renames_leaves_one_whole_set(
    renamed, tmp_path, monkeypatch, stopping, capfd
):
    """SIGTERM once `renamed` of the two renames are done: the stop handler undoes, exits.
    While the outputs are written, the previous set stays; once they are being put in place,
    the stop waits until they are, and says so."""
    folder, real, calls = previous(tmp_path / "results"), os.rename, []

    def rename(src, dst):
        real(src, dst)
        calls.append(src)
        if len(calls) == renamed:
            os.kill(os.getpid(), signal.SIGTERM)  # handled at the next bytecode: here

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(stopping) as exit:
        with results_folder(folder, NAMES) as new:
            for name in NAMES:
                with open(os.path.join(new, name), "wb") as f:
                    f.write(f"new {name}".encode())
            if renamed == 0:  # while the run writes its outputs
                os.kill(os.getpid(), signal.SIGTERM)
    assert exit.value.args == (143,) and command_line.ON_STOP == []
    assert contents(folder) == (PREVIOUS if renamed == 0 else NEW) and left(tmp_path) == ONE_SET
    written = f"; the results were written to {folder}" if renamed else ""
    assert capfd.readouterr().err == f"train_autoenc_lite.py: stopped by SIGTERM{written}\n"


def test_of_two_runs_into_one_folder_at_once_the_last_leaves_its_whole_set(tmp_path, monkeypatch):
    """Both move the previous set aside at once, then both put theirs in place at once: one
    finds the other's set there, moves it aside too, and puts its own."""
    folder, real, done = previous(tmp_path / "results"), os.rename, {}
    gate = threading.Barrier(2, timeout=10)

    def rename(src, dst):
        me = threading.get_ident()
        done[me] = done.get(me, 0) + 1
        if done[me] <= 2:  # each run's first two renames, in step with the other's
            gate.wait()
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    runs = [threading.Thread(target=write, args=(folder, tag)) for tag in ("one", "two")]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=20)
    found = contents(folder)
    assert sorted(found) == sorted(NAMES) and len({data.split()[0] for data in found.values()}) == 1
    assert sorted(done.values()) == [2, 4]  # one run had to move the other's set aside
    assert left(tmp_path) == ONE_SET


def test_a_finished_run_leaves_the_folder_to_a_run_between_its_renames(tmp_path, monkeypatch):
    """Another run moves the new set aside just after this one put it in place: this one, done,
    puts no previous set back in the other's way."""
    real = folders._put_in_place

    def then_another(fresh, path, out, names):
        real(fresh, path, out, names)
        os.rename(path, tmp_path / "theirs")  # the other run's first rename

    monkeypatch.setattr(folders, "_put_in_place", then_another)
    write(previous(tmp_path / "results"))
    assert contents(tmp_path / "theirs") == NEW and left(tmp_path) == [
        "theirs",
        *(f"theirs/{name}" for name in NAMES),
    ]


def test_a_run_never_touches_another_runs_fresh_folder(tmp_path):
    folder = previous(tmp_path / "results")
    other = tmp_path / ".results-other"  # another run's, live
    other.mkdir()
    (other / "a.png").write_bytes(b"theirs")
    write(folder)
    with pytest.raises(RuntimeError):
        with results_folder(folder, NAMES):
            raise RuntimeError("failed")
    assert (other / "a.png").read_bytes() == b"theirs"


@pytest.mark.parametrize(
    "make, out, said",
    [
        ("a file", "f", "--out {out}: exists and is not a folder"),
        ("a file", "f/r", "--out {out}: cannot write there (Not a directory)"),
        ("others", "mine", "--out {out}: holds 'notes.txt', not an output; name a new folder"),
        ("a folder in the way", "mine", "holds 'b.json', not an output"),
        (None, "x" * 256, "cannot write there (File name too long)"),
        ("a loop", "loop", "--out {out}: is a link to nothing, or a loop of links"),
        ("a link to nothing", "dangling", "--out {out}: is a link to nothing, or a loop"),
    ],
)
def test_an_out_that_cannot_be_used_is_refused_before_any_work(make, out, said, tmp_path):
    if make == "a loop":
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
    elif make == "a link to nothing":
        (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    elif make == "a file":
        (tmp_path / "f").write_text("a file")
    elif make == "others":
        previous(tmp_path / "mine")
        (tmp_path / "mine" / "notes.txt").write_text("a user's")  # never carried away
    elif make == "a folder in the way":
        (tmp_path / "mine" / "b.json").mkdir(parents=True)
    before = left(tmp_path)
    with pytest.raises(InputError) as caught:
        with results_folder(tmp_path / out, NAMES):
            raise AssertionError("the block must not run")
    assert said.format(out=tmp_path / out) in str(caught.value) and left(tmp_path) == before


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    (tmp_path / "locked").mkdir(mode=0o500)  # and as root, who writes everywhere:
    monkeypatch.setattr(os, "access", lambda path, mode: path != str(tmp_path / "locked"))
    with pytest.raises(InputError, match="locked: is not writable; name a new folder"):
        with results_folder(tmp_path / "locked", NAMES):
            raise AssertionError("the block must not run")
    assert os.access(tmp_path / "nothing", os.W_OK)  # the stand-in says yes elsewhere


def test_a_link_to_a_folder_stays_and_the_folder_it_names_is_replaced(tmp_path):
    previous(tmp_path / "real")
    (tmp_path / "results").symlink_to(tmp_path / "real")
    write(tmp_path / "results")
    assert (tmp_path / "results").is_symlink() and contents(tmp_path / "real") == NEW


def test_the_fresh_folder_is_made_beside_out_whatever_tmpdir_names(tmp_path, monkeypatch):
    """With TMPDIR on another file system the renames would fail: the set is made beside
    --out, in the same folder, so that they are renames within one file system."""
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setenv("TMPDIR", str(elsewhere))
    monkeypatch.setattr("tempfile.tempdir", str(elsewhere))
    with results_folder(tmp_path / "deep" / "results", NAMES) as new:
        fresh = pathlib.Path(new).relative_to(tmp_path / "deep").parts[0]
        assert fresh.startswith(".results-") and os.listdir(elsewhere) == []
        for name in NAMES:
            with open(os.path.join(new, name), "wb") as f:
                f.write(NEW[name])
    assert contents(tmp_path / "deep" / "results") == NEW and os.listdir(elsewhere) == []


def test_any_name_the_file_system_takes_is_an_out(tmp_path):
    longest = tmp_path / ("x" * 255)  # the longest name most file systems take; 256: refused
    write(longest)
    assert contents(longest) == NEW and left(tmp_path) == [
        longest.name,
        *(f"{longest.name}/{name}" for name in NAMES),
    ]


def test_a_stop_just_after_the_fresh_folder_is_made_leaves_nothing_of_the_run(
    tmp_path, monkeypatch, stopping
):
    folder, real = previous(tmp_path / "results"), folders.tempfile.mkdtemp

    def made_then_stopped(**kwargs):
        fresh = real(**kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # handled at the next bytecode, before the return
        return fresh

    monkeypatch.setattr(folders.tempfile, "mkdtemp", made_then_stopped)
    with pytest.raises(stopping) as exit:
        write(folder)
    assert exit.value.args == (143,) and contents(folder) == PREVIOUS and left(tmp_path) == ONE_SET


def test_a_parent_another_run_removes_just_after_this_one_made_sure_of_it_is_made_again(
    tmp_path, monkeypatch
):
    real, tries = folders.tempfile.mkdtemp, []

    def removed_first(**kwargs):
        tries.append(1)
        if len(tries) == 1:
            os.rmdir(kwargs["dir"])  # the other run, stopped, removes the parent it made
        return real(**kwargs)

    monkeypatch.setattr(folders.tempfile, "mkdtemp", removed_first)
    write(tmp_path / "parent" / "results")
    assert contents(tmp_path / "parent" / "results") == NEW and len(tries) == 2


def test_a_run_into_a_folder_another_run_writes_inside_keeps_out_of_its_way(tmp_path):
    """One run writes R, another R/sub: the first would carry the second's fresh folder away
    with the previous set; it puts that back and ends in one line, and the second finishes."""
    folder = previous(tmp_path / "R")
    inner = results_folder(folder / "sub", NAMES)
    with pytest.raises(RunError, match="R: cannot put the results in place .another run is"):
        with results_folder(folder, NAMES) as new:
            inner_new = inner.__enter__()  # the second run starts, inside R
            for name in NAMES:
                (pathlib.Path(new) / name).write_bytes(b"first")
    for name in NAMES:
        (pathlib.Path(inner_new) / name).write_bytes(NEW[name])
    inner.__exit__(None, None, None)
    assert {name: (folder / name).read_bytes() for name in NAMES} == PREVIOUS
    assert contents(folder / "sub") == NEW and sorted(os.listdir(folder)) == [*NAMES, "sub"]


def test_outputs_that_cannot_be_written_end_the_run_in_one_line(tmp_path):
    folder = previous(tmp_path / "results")
    with pytest.raises(RunError) as caught:
        with results_folder(folder, NAMES) as new:
            os.rmdir(new)  # as when another run carried the folder away
            (pathlib.Path(new) / "a.png").write_bytes(b"new")
    said = "cannot write the results there (No such file or directory); it keeps the previous"
    assert said in str(caught.value) and contents(folder) == PREVIOUS and left(tmp_path) == ONE_SET


def test_a_run_removes_only_the_parents_it_made_itself(tmp_path, monkeypatch):
    """Another run makes the parent just before this one would: this one, failing, leaves it."""
    real = os.mkdir

    def made_by_another_first(folder, *args):
        if folder == str(tmp_path / "theirs"):
            real(folder, *args)  # the other run's
            raise FileExistsError(17, "File exists")
        return real(folder, *args)

    monkeypatch.setattr(os, "mkdir", made_by_another_first)
    with pytest.raises(RuntimeError):
        with results_folder(tmp_path / "theirs" / "mine" / "results", NAMES):
            raise RuntimeError("failed")
    assert left(tmp_path) == ["theirs"]  # its own parent, mine, is gone; theirs stays

"""The results folder, replaced as one whole set: `with results_folder(out, names) as new:`
the run writes its outputs into new, a fresh folder beside out (by mkdtemp); two renames then
put out aside into the fresh folder and the new set in its place, and the fresh folder goes.
A run that ends early (a failure; a stop, by command_line.ON_STOP) leaves the previous set
and removes what it made, parents of out included. It touches no other run's folder; of two
runs into one folder the last to finish leaves its set. A kill -9 leaves its fresh folder.
"""

import contextlib
import os
import shutil
import tempfile

from run_support.command_line import ON_STOP, WRITTEN, InputError, RunError, stops_held
from run_support.report import quoted, shown


@contextlib.contextmanager
def results_folder(out, names):
    """Yields a fresh folder for the outputs `names` and puts them in place at out when the
    block ends; InputError, before the block, if out is a file, a link to nothing, unwritable
    or holds others; RunError, one line, if the outputs cannot be written or put in place."""
    WRITTEN.clear()
    if os.path.islink(out) and not os.path.exists(out):
        raise InputError(f"--out {shown(out)}: is a link to nothing, or a loop of links")
    path = os.path.realpath(out)  # a link to a folder: that folder is replaced
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"--out {shown(out)}: exists and is not a folder")
    if os.path.isdir(path):
        mine = [n for n in os.listdir(path) if n in names and os.path.isfile(os.path.join(path, n))]
        others = sorted(set(os.listdir(path)) - set(mine))
        if others or not os.access(path, os.W_OK):
            what = f"holds {quoted(others[0])}, not an output" if others else "is not writable"
            raise InputError(f"--out {shown(out)}: {what}; name a new folder (it is replaced)")
    parent, fresh, placed, made = os.path.dirname(path), None, False, []  # made: its parents

    def undo():  # from any point of the run: reads fresh and placed as they are when called
        old = os.path.join(fresh or "", "old")
        if fresh and not placed and os.path.isdir(old) and not os.path.lexists(path):
            with contextlib.suppress(OSError):
                os.rename(old, path)  # stopped between the renames: the previous set back
        if fresh:
            shutil.rmtree(fresh, ignore_errors=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty

    ON_STOP.append(undo)
    try:
        for attempt in range(3):  # another run may remove a parent it made, just made sure of
            try:
                with stops_held():  # each made, and its name kept: a stop then finds it
                    for folder in _missing(parent):  # only the parents it makes are its own
                        with contextlib.suppress(FileExistsError):
                            os.mkdir(folder)
                            made.append(folder)
                    fresh = tempfile.mkdtemp(prefix=f".{os.path.basename(path)[:64]}-", dir=parent)
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        os.makedirs(os.path.join(fresh, "new", os.path.basename(path)))  # a name out can have
    except OSError as e:
        undo()
        ON_STOP.remove(undo)
        raise InputError(f"--out {shown(out)}: cannot write there ({e.strerror or e})") from None
    try:
        try:
            yield os.path.join(fresh, "new", os.path.basename(path))
        except OSError as e:  # an output that cannot be written, as when another run took
            if not os.fsdecode(e.filename or "").startswith(fresh):  # the folder away; else
                raise  # not this module's (standard output closed or full)
            why = f"cannot write the results there ({e.strerror or e}); it keeps the previous ones"
            raise RunError(f"--out {shown(out)}: {why}") from None
        with stops_held():  # once in place, --out is no longer this run's to put back
            _put_in_place(fresh, path, out, names)
            placed = True
            WRITTEN.append(out)
    finally:
        undo()
        ON_STOP.remove(undo)


def _missing(folder):
    """folder and the folders above it that do not exist, the outermost first."""
    missing = []
    while not os.path.exists(folder):
        missing.insert(0, folder)
        folder = os.path.dirname(folder)
    return missing


def _put_in_place(fresh, path, out, names):
    """The new set from fresh/new to path, the previous one into fresh/old. Another run may
    put its set in place between the two renames: that one goes aside too. What went aside
    must be a set of outputs, or it goes back: another run may be writing inside out."""
    old, new = os.path.join(fresh, "old"), os.path.join(fresh, "new", os.path.basename(path))
    try:
        for _ in range(10):
            shutil.rmtree(old, ignore_errors=True)  # a set another run's has replaced
            with contextlib.suppress(FileNotFoundError):
                os.rename(path, old)
            if os.path.isdir(old) and not set(os.listdir(old)) <= set(names):
                os.rename(old, path)
                raise OSError("another run is writing inside it")
            try:
                return os.rename(new, path)
            except OSError:
                if not os.path.isdir(path):  # no other run's set in the way: a failure
                    raise
        raise OSError("other runs kept putting their results there")
    except OSError as e:
        why = f"cannot put the results in place ({e.strerror or e}); it keeps the previous ones"
        raise RunError(f"--out {shown(out)}: {why}") from None

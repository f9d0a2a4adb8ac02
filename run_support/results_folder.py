"""The results folder, replaced as one whole set of outputs.

    with results_folder("results", names) as new:  # a fresh folder beside results/
        ...                                         # the run writes each of names into new
    # now results/ holds them

The outputs go into a fresh folder beside --out (`.results-XXXXXXXX`, by mkdtemp), then into
place by two renames: --out aside into the fresh folder, the new set to --out; the fresh
folder, with the previous set, is then removed. A run that ends early (a failure, or a stop:
command_line.ON_STOP) leaves the previous set, put back if it was aside, and removes what it
made: its fresh folder, and the parents of --out it made if empty. It touches no other run's
folder; of two runs into one folder, the last to finish leaves its set. As a whole folder is
replaced, --out must be new or hold only these outputs. A kill -9 leaves its fresh folder.
"""

import contextlib
import os
import shutil
import tempfile

from run_support.command_line import ON_STOP, InputError, RunError
from run_support.report import quoted, shown


@contextlib.contextmanager
def results_folder(out, names):
    """Yields a fresh folder for the outputs `names` and puts them in place at out when the
    block ends; InputError, before the block, if out is a file, unwritable or holds others."""
    path = os.path.realpath(out)  # a link to a folder: that folder is replaced
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"--out {shown(out)}: exists and is not a folder")
    if os.path.isdir(path):
        mine = [n for n in os.listdir(path) if n in names and os.path.isfile(os.path.join(path, n))]
        others = sorted(set(os.listdir(path)) - set(mine))
        if others or not os.access(path, os.W_OK):
            what = f"holds {quoted(others[0])}, not an output" if others else "is not writable"
            raise InputError(f"--out {shown(out)}: {what}; name a new folder (it is replaced)")
    missing, above, fresh, placed = [], os.path.dirname(path), None, False  # parents it makes
    while not os.path.exists(above):
        missing.append(above)
        above = os.path.dirname(above)

    def undo():  # from any point of the run: reads fresh and placed as they are when called
        old = os.path.join(fresh or "", "old")
        if fresh and not placed and os.path.isdir(old) and not os.path.lexists(path):
            with contextlib.suppress(OSError):
                os.rename(old, path)  # stopped between the renames: the previous set back
        if fresh:
            shutil.rmtree(fresh, ignore_errors=True)
        for folder in missing:
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty

    ON_STOP.append(undo)
    try:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fresh = tempfile.mkdtemp(
                prefix=f".{os.path.basename(path)}-", dir=os.path.dirname(path)
            )
        except OSError as e:
            raise InputError(
                f"--out {shown(out)}: cannot write there ({e.strerror or e})"
            ) from None
        os.mkdir(os.path.join(fresh, "new"))
        yield os.path.join(fresh, "new")
        _put_in_place(fresh, path, out)
        placed = True  # from here on, --out is no longer this run's to put back
    finally:
        undo()
        ON_STOP.remove(undo)


def _put_in_place(fresh, path, out):
    """The new set from fresh/new to path, the previous one into fresh/old. Another run may
    put its set in place between the two renames: that one goes aside too."""
    old, new = os.path.join(fresh, "old"), os.path.join(fresh, "new")
    try:
        for _ in range(10):
            shutil.rmtree(old, ignore_errors=True)  # a set another run's has replaced
            with contextlib.suppress(FileNotFoundError):
                os.rename(path, old)
            try:
                return os.rename(new, path)
            except OSError:
                if not os.path.isdir(path):  # no other run's set in the way: a failure
                    raise
        raise OSError("other runs kept putting their results there")
    except OSError as e:
        why = f"cannot put the results in place ({e.strerror or e}); it keeps the previous ones"
        raise RunError(f"--out {shown(out)}: {why}") from None

"""The results folder, and the run's outputs written into it as one whole set.

    with results_folder("results") as outputs:   # made if need be, proven writable
        ...                                       # the run
        outputs.write_all({"a.png": png_bytes, "results.json": json_bytes})

- Every output is written first into a new private folder inside the results folder
  (`.autoenc-XXXXXXXX`, made by mkdtemp: a name no one can guess or plant a link at).
- Then the set replaces the previous one: the previous outputs are moved aside into that
  private folder, the new ones renamed into place. If any rename fails, the ones before it
  are undone, so the folder holds the previous whole set again, and the run fails in one
  line. The private folder is then removed.
- All of that happens under a lock on the results folder (flock, where the system has it),
  so a second run into the same folder waits its turn: two runs never mix their sets.
- A stop (Ctrl-C, SIGTERM, SIGHUP) waits for the renames and the clean-up to end.
- A run that fails removes the results folder, and the parents it made, if it made them
  and they are still empty.

What no program can guard: a kill -9 (or a power cut) in the middle of the renames can
leave a mix of two sets, and its private folder. The next run into the folder removes any
such private folder (it can tell, as it holds the lock) and writes its whole set.
"""

import contextlib
import os
import pathlib
import shutil
import tempfile

import report
from command_line import InputError, RunError, signals_held

try:
    import fcntl
except ImportError:  # Windows: no flock; runs into one folder are not kept apart there
    fcntl = None

PRIVATE = ".autoenc-"  # the prefix of a run's private folder


@contextlib.contextmanager
def results_folder(out, names):
    """The results folder `out`, made if need be and proven writable (InputError if not);
    yields an OutputSet for the output files `names`. If the block fails, the folders it
    made are removed again, when empty."""
    if not str(out):
        raise InputError("--out: an empty name; name a folder, such as --out results")
    folder = pathlib.Path(out)
    made = _make_folder(folder)
    try:
        for name in names:
            if (folder / name).is_dir():
                raise InputError(f"--out {report.shown(out)}: a folder named {name} is in the way")
        try:
            with signals_held():
                os.rmdir(tempfile.mkdtemp(prefix=".write-test-", dir=folder))  # can we write?
        except OSError as e:
            raise InputError(
                f"--out {report.shown(out)}: cannot write in the folder ({e.strerror or e})"
            ) from None
        yield OutputSet(folder, names)
    except BaseException:
        with signals_held():
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    path.rmdir()  # only if empty
        raise


def _make_folder(folder):
    """Make folder and its missing parents; return those it made, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not os.path.exists(p)][::-1]
    try:
        with signals_held():
            folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"--out {report.shown(folder)}: exists and is not a folder") from None
    except OSError as e:
        raise InputError(
            f"--out {report.shown(folder)}: cannot make the folder ({e.strerror or e})"
        ) from None
    if not folder.is_dir():
        raise InputError(f"--out {report.shown(folder)}: exists and is not a folder")
    return missing


class OutputSet:
    """The run's outputs in one folder: write_all() puts a whole new set in place."""

    def __init__(self, folder, names):
        self.folder = pathlib.Path(folder)
        self.names = tuple(names)

    def write_all(self, contents):
        """contents: {name: bytes}, one for each of the set's names. Writes them all, then
        replaces the previous set; RunError if that cannot be done, and then the folder
        holds the previous set, whole."""
        assert sorted(contents) == sorted(self.names), sorted(contents)
        try:
            with self._locked():
                self._remove_leftovers()
                with signals_held():
                    private = pathlib.Path(tempfile.mkdtemp(prefix=PRIVATE, dir=self.folder))
                try:
                    (private / "new").mkdir()
                    (private / "old").mkdir()
                    for name, data in contents.items():
                        with open(private / "new" / name, "xb") as f:
                            f.write(data)
                    with signals_held():
                        self._replace(private)
                finally:
                    with signals_held():
                        shutil.rmtree(private, ignore_errors=True)
        except OSError as e:
            raise RunError(
                f"--out {report.shown(self.folder)}: cannot write the results "
                f"({e.strerror or e}); the folder keeps the previous ones"
            ) from None

    def _replace(self, private):
        """Move the previous outputs into private/old, then the new ones into place; if a
        rename fails, undo the ones before it and raise its OSError."""
        moved_aside, placed = [], []
        try:
            for name in self.names:
                if os.path.lexists(self.folder / name):
                    os.replace(self.folder / name, private / "old" / name)
                    moved_aside.append(name)
            for name in self.names:
                os.replace(private / "new" / name, self.folder / name)
                placed.append(name)
        except OSError:
            for name in placed:
                os.replace(self.folder / name, private / "new" / name)
            for name in moved_aside:
                os.replace(private / "old" / name, self.folder / name)
            raise

    @contextlib.contextmanager
    def _locked(self):
        """An exclusive lock on the folder for the block: another run waits for it."""
        if fcntl is None:
            yield
            return
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another run holds it
            yield
        finally:
            os.close(fd)  # and with it the lock

    def _remove_leftovers(self):
        """Private folders of runs that died in the middle (kill -9): under the lock, no
        live run has one."""
        for entry in self.folder.glob(PRIVATE + "*"):
            if entry.is_dir() and not entry.is_symlink():
                with signals_held():
                    shutil.rmtree(entry, ignore_errors=True)

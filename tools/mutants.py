"""Loosen the image reader's bounds and checks one at a time and see the tests fail.

    python tools/mutants.py            # every mutant; prints those the tests let live

Each mutant is one textual change to image_files.py that loosens or drops one bound or
check the module states (an opcode more, a byte order more, a check gone). For each, the
project is copied to a temporary folder, the change made there, and the reader's tests run
(tests/test_image_files.py and tests/test_image_files_bounds.py, stopping at the first
failure). A mutant the tests do not kill is a bound no test holds. Exit status 1 if any
lives. About a minute on two cores.
"""

import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = ["tests/test_image_files.py", "tests/test_image_files_bounds.py"]

# Each mutant: what the change does, then the text in image_files.py (\n: a new line),
# then what it becomes; a blank line between mutants.
MUTANTS_TEXT = r"""
file size limit doubled
    MAX_FILE_BYTES = 256 * 2**20
    MAX_FILE_BYTES = 512 * 2**20

file size one over
    if info.st_size > MAX_FILE_BYTES:
    if info.st_size > MAX_FILE_BYTES + 1:

growing file one over
    if total > MAX_FILE_BYTES:
    if total > MAX_FILE_BYTES + 1:

non-regular files read
    if not stat.S_ISREG(info.st_mode):
    if False:

image count one more
    if shape[0] > MAX_IMAGES:
    if shape[0] > MAX_IMAGES + 1:

image limit raised
    MAX_IMAGES = MAX_FILE_BYTES //
    MAX_IMAGES = 1 + MAX_FILE_BYTES //

no images allowed
    if shape[0] == 0:
    if shape[0] < 0:

opcodes 1001
    MAX_OPCODES = 1000
    MAX_OPCODES = 1001

opcode loop one more
    for count in range(MAX_OPCODES):
    for count in range(MAX_OPCODES + 1):

stack 65
    MAX_STACK = 64
    MAX_STACK = 65

stack check off by one
    if len(self.stack) >= MAX_STACK:
    if len(self.stack) > MAX_STACK:

marks 5
    MAX_MARKS = 4
    MAX_MARKS = 5

marks check off by one
    if len(self.marks) >= MAX_MARKS:
    if len(self.marks) > MAX_MARKS:

tuples of 33
    MAX_TUPLE_ITEMS = 32
    MAX_TUPLE_ITEMS = 33

tuple check off by one
    if len(items) > MAX_TUPLE_ITEMS:
    if len(items) > MAX_TUPLE_ITEMS + 1:

tuples nest deeper
    any(type(inner) is tuple for inner in item)
    False

names of 257 bytes
    MAX_NAME_BYTES = 256
    MAX_NAME_BYTES = 257

GLOBAL line one longer
    self.pos + MAX_NAME_BYTES + 1)
    self.pos + MAX_NAME_BYTES + 2)

long texts decoded whole
    if len(raw) <= MAX_NAME_BYTES:
    if True:

any byte order
    return ("|",) if code.endswith("1") else ("<", ">")
    return ("|", "<", ">", "=")

dtype flags ignored
    state[2:] == (None, None, None, -1, -1, 0)
    state[2:7] == (None, None, None, -1, -1)

dtype numbers may be bools
    all(type(number) is int for number in state[5:])
    True

dtype version 4
    and state[0] == 3
    and state[0] in (3, 4)

array version a bool
    type(state[0]) is int and state[0] == 1
    state[0] == 1

flags of 2
    value in (0, 1)
    value in (0, 1, 2)

copy=False read
    if args[1] or not args[2]:
    if args[1]:

align=True read
    if args[1] or not args[2]:
    if not args[2]:

number types: bool too
    "f2", "f4", "f8")
    "f2", "f4", "f8", "b1")

reconstruct shape a bool
    _shape(args[1], "_reconstruct a shape") == (0,)
    args[1] == (0,)

setstate data a bytearray
    data_kinds = (*_Bytes, _Encoded)
    data_kinds = (*_Bytes, _Encoded, _ByteArray)

sizes may be negative
    if type(size) is not int or size < 0:
    if type(size) is not int:

sizes may be bools
    if type(size) is not int or size < 0:
    if size < 0:

data length may be short
    if _data_length(self.data) != expected:
    if _data_length(self.data) > expected:

setstate keeps byte order
    if self.native and not dtype.isnative:
    if False:

order A
    if order in ("C", "F") and axes is None:
    if order in ("C", "F", "A") and axes is None:

axes may be bools
    all(type(a) is int for a in axes)
    all(type(a) in (int, bool) for a in axes)

any _frombuffer arity
    if len(args) not in _FROMBUFFER_ARGS:
    if len(args) not in (4, 5):

names NumPy lacks
    if (module, name) in _NOT_HERE:
    if False:

store after MARK
    if len(self.stack) <= (self.marks[-1] if self.marks else 0):\n            raise _Refused("stores
    if not self.stack:\n            raise _Refused("stores

pop through MARK
    if len(self.stack) <= (self.marks[-1] if self.marks else 0):\n            raise _Refused("takes
    if not self.stack:\n            raise _Refused("takes

memo store anywhere
    if index > len(self.memo):
    if False:

frame one past
    if self.take_int("<Q") > len(self.data) - self.pos:
    if self.take_int("<Q") > len(self.data) - self.pos + 1:

stray bytes
    if self.pos != len(self.data):
    if False:

protocol 6
    if not 2 <= protocol <= 5:
    if not 2 <= protocol <= 6:

protocol 1
    if not 2 <= protocol <= 5:
    if not 1 <= protocol <= 5:

second PROTO
    if self.pos != 2:
    if False:

STOP inside a MARK
    if len(self.stack) != 1 or self.marks:
    if len(self.stack) != 1:

pixels below 0
    if not (0.0 <= low and high <= 255.0):
    if not (-1.0 <= low and high <= 255.0):

pixels above 255
    if not (0.0 <= low and high <= 255.0):
    if not (0.0 <= low and high <= 256.0):

codec any
    args[1] in ("latin1", "latin-1")
    True

type code any bytes
    and args[2] == b"b"
    and len(args[2]) == 1
"""


def mutants():
    """[(what, old, new)] from MUTANTS_TEXT."""
    found = []
    for entry in MUTANTS_TEXT.strip().split("\n\n"):
        what, old, new = entry.split("\n")
        found.append((what, *(t.strip().replace("\\n", "\n") for t in (old, new))))
    return found


def main():
    source = (ROOT / "image_files.py").read_text()
    living = []
    for what, old, new in mutants():
        if source.count(old) != 1:
            print(f"  ?  {what}: the text to change is not in image_files.py once")
            living.append(what)
            continue
        with tempfile.TemporaryDirectory() as folder:
            copy = pathlib.Path(folder) / "project"
            shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "results*", ".venv"))
            (copy / "image_files.py").write_text(source.replace(old, new))
            run = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS]
            done = subprocess.run(run, cwd=copy, capture_output=True, text=True)
        killed = done.returncode != 0
        print(f"  {'killed' if killed else 'LIVES '}  {what}")
        if not killed:
            living.append(what)
    print(f"{len(mutants()) - len(living)} of {len(mutants())} mutants killed")
    return 1 if living else 0


if __name__ == "__main__":
    sys.exit(main())

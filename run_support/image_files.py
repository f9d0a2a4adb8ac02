"""Reading an image file, a pickle of one NumPy array (N, 15, 15), without running it.

`pickle.load` calls whatever a file names. Here `pickletools.genops` walks the opcodes first,
building nothing; then `pickle.Unpickler`'s `find_class` hands out, for the names an array
needs (STEPS), wrappers that check the file's arguments before NumPy's own functions get
them: NumPy makes the array, as `pickle.load` would, or nothing is (docs/safe_loading.md).
"""

import io
import math
import os
import pickle
import pickletools
import stat

import numpy as np

from run_support.report import count, quoted, shown
from utils import SIDE

MAX_FILE_BYTES = 256 * 2**20  # 256 MiB: the course's training file is 1.8 MB
MAX_IMAGES = MAX_FILE_BYTES // (SIDE * SIDE * 8)  # 149,130: at most 256 MiB as float64, too
MAX_OPCODES = 1000  # a pickled array takes about 60
MAX_BUILDS = 2  # a dtype's state and an array's: no second copy of the data, ever
LONG_TEXT = 256  # characters: a name or a type code is shorter, protocol 2's data longer
NUMBER_TYPES = ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")
OPCODES = """PROTO FRAME STOP MARK NONE NEWTRUE NEWFALSE BININT1 BININT2 BININT SHORT_BINUNICODE
BINUNICODE SHORT_BINBYTES BINBYTES BYTEARRAY8 EMPTY_TUPLE TUPLE1 TUPLE2 TUPLE3 TUPLE BINPUT
MEMOIZE BINGET GLOBAL STACK_GLOBAL REDUCE BUILD""".split()  # NumPy's for an array, disassembled


class ImageFileError(ValueError):
    """A file load_images does not read; the message is one line that starts with the path."""


def load_images(path):
    """A pickle of one (N, 15, 15) array of numbers as new float64 images, or ImageFileError."""
    try:
        data = _read(path)
        _prescan(data)
        made = _Unpickler(io.BytesIO(data)).load()
        array = made.real if type(made) is _StandIn else made
        if type(array) is not np.ndarray:
            raise ImageFileError(f"holds a {type(made).__name__}, not an array of images")
        if array.shape[1:] != (SIDE, SIDE) or not 1 <= len(array) <= MAX_IMAGES:
            expected = f"expected (N, 15, 15) images, N from 1 to {MAX_IMAGES:,}"
            raise ImageFileError(f"holds an array of shape {str(array.shape)[:60]}; {expected}")
        images = array.astype(np.float64, order="C")  # a new, writable, C-ordered array
        low, high = images.min(), images.max()  # NaN if any value is NaN, and the test fails
        if not (0.0 <= low and high <= 255.0):
            raise ImageFileError(f"has pixel values from {low:g} to {high:g}, not all in 0..255")
        return images
    except ImageFileError as why:
        raise ImageFileError(f"{shown(path)}: {why}") from None
    except MemoryError:
        raise
    except Exception as e:  # what NumPy or pickle refuse in the file, as pickle.load does
        why = f"{type(e).__name__}: {quoted(str(e))}"
        raise ImageFileError(f"{shown(path)}: is not a pickle of an array ({why})") from None


def _read(path):
    """A regular file's bytes, MAX_FILE_BYTES at most, without blocking on a FIFO."""
    try:
        info, data = os.stat(path), b""  # checked before it is opened: a device may act on it
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FILE_BYTES:
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            with open(os.open(path, flags), "rb") as f:
                info = os.fstat(f.fileno())
                data = f.read(MAX_FILE_BYTES + 1) if stat.S_ISREG(info.st_mode) else b""
    except FileNotFoundError:
        raise ImageFileError("no such file") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise ImageFileError(f"cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, a device or a socket"
        raise ImageFileError(f"is {kind}, not a regular file of images")
    if max(info.st_size, len(data)) > MAX_FILE_BYTES:
        raise ImageFileError(f"holds over {MAX_FILE_BYTES:,} bytes, the most an image file may")
    return data


def _prescan(data):
    """Only opcodes an array needs, few; memo slots stored in order, fetched where stored
    (pickle trusts a memo index: 9 bytes can take it 4 GB); one long text at most."""
    if len(data) < 2 or data[:1] != pickle.PROTO or not 2 <= data[1] <= 5:
        raise ImageFileError(f"is not a pickle of protocol 2 to 5 (it starts {quoted(data[:8])})")
    try:  # genops: cut short, a byte that is no opcode, text that is not UTF-8
        opcodes = zip(range(MAX_OPCODES + 1), pickletools.genops(data))  # and not one more
        ops, stored = [(op.name, arg, pos) for _, (op, arg, pos) in opcodes], 0  # memo slots
    except ValueError as e:
        raise ImageFileError(f"is not a readable pickle ({quoted(str(e))})") from None
    for i, (name, arg, pos) in enumerate(ops):
        if name not in OPCODES or i == MAX_OPCODES:
            what = name if i < MAX_OPCODES else f"more than {MAX_OPCODES} opcodes"
            raise ImageFileError(f"uses {what}, which no pickled array needs; refused")
        slot, stores = stored if name == "MEMOIZE" else arg, name in ("BINPUT", "MEMOIZE")
        if (name == "BINGET" and slot >= stored) or (stores and slot > stored):
            raise ImageFileError(f"uses memo slot {slot}, while {stored} are stored")
        stored += stores and slot == stored
        if name == "STOP" and pos + 1 < len(data):
            raise ImageFileError(f"has {count(len(data) - pos - 1, 'stray byte')} after its end")
    if sum(name == "BUILD" for name, _, _ in ops) > MAX_BUILDS:
        raise ImageFileError(f"sets more than {MAX_BUILDS} states (BUILD): an array's, a dtype's")
    if sum("UNICODE" in name and len(arg) > LONG_TEXT for name, arg, _ in ops) > 1:
        raise ImageFileError(f"holds more than one text of over {LONG_TEXT} characters")


class _StandIn:
    """A dtype or an array for the file, made real by NumPy when BUILD gives a checked state."""

    __slots__ = ("make", "check", "real")

    def __init__(self, make, check):
        self.make, self.check, self.real = make, check, None

    def __setstate__(self, state):
        real = self.make()
        real.__setstate__(self.check(*state))
        self.real = real


class _Unpickler(pickle.Unpickler):
    """pickle's, knowing only STEPS: each a method given NumPy's own function. One a file."""

    NDARRAY, long_encodes = object(), 0  # for numpy.ndarray (_reconstruct's); long texts encoded

    def find_class(self, module, name):
        if (module, name) not in STEPS:
            name = quoted(f"{module[:80]}.{name[:80]}")
            raise ImageFileError(f"asks for {name}, which no array of images needs; refused")
        real = super().find_class(module, name)  # NumPy's own; or, if this NumPy lacks it
        # (NumPy 1.26 has no numpy._core), the ImportError pickle.load would raise too
        step = STEPS[(module, name)]
        return self.NDARRAY if step is None else lambda *args: step(self, real, *args)

    def reconstruct(self, real, *args):  # an empty array, its state to come
        if args != (self.NDARRAY, (0,), b"b"):
            raise ImageFileError("calls _reconstruct with other than (numpy.ndarray, (0,), b'b')")

        def state(version, shape, dtype, fortran, data):  # as ndarray.__reduce__ gives it
            size = math.prod(_sizes(shape)) * _dtype(dtype).itemsize  # no allocation unless
            if len(data) != size:  # the file holds the bytes
                raise ImageFileError(
                    f"gives an array of shape {str(shape)[:60]} no bytes of its size"
                )
            return version, shape, dtype.real, fortran, data

        return _StandIn(lambda: real(np.ndarray, (0,), b"b"), state)

    def frombuffer(self, real, data=None, dtype=None, shape=(), *order):  # protocol 5's way
        return real(data, _dtype(dtype), _sizes(shape), *order)  # a view of bytes: no copy

    def dtype(self, real, code=None, align=False, copy=True, *rest):
        if code not in NUMBER_TYPES:
            what = quoted(code) if type(code) is str else f"a {type(code).__name__} for a type"
            raise ImageFileError(f"holds an array of {what}, not of numbers")
        if rest or align not in (False, 0) or copy not in (True, 1):  # copy off: NumPy's own
            raise ImageFileError(f"calls numpy.dtype({code!r}) with other than align off, copy on")
        orders = [("|",)] if code.endswith("1") else [("<",), (">",)]  # as NumPy writes

        def state(*s):  # the one state NumPy writes for a plain number type
            if s[1:2] not in orders or s[:1] + s[2:] != (3, None, None, None, -1, -1, 0):
                raise ImageFileError(f"gives numpy.dtype({code!r}) a state NumPy never writes")
            return s

        return _StandIn(lambda: real(code, align, copy), state)

    def encode(self, real, *args):  # protocol 2 writes bytes as latin-1 text
        if len(args) != 2 or type(args[0]) is not str or args[1] not in ("latin1", "latin-1"):
            raise ImageFileError("calls _codecs.encode other than on a text, to latin-1")
        self.long_encodes += len(args[0]) > LONG_TEXT
        if self.long_encodes > 1:
            raise ImageFileError(f"encodes texts of over {LONG_TEXT} characters more than once")
        return args[0].encode("latin-1")


def _dtype(value):
    if type(value) is not _StandIn or not isinstance(value.real, np.dtype):
        raise ImageFileError("gives NumPy no dtype where it wants one")
    return value.real


def _sizes(shape):
    if type(shape) is not tuple or any(type(n) is not int or n < 0 for n in shape):
        raise ImageFileError(f"gives a shape that is not a tuple of sizes: {quoted(repr(shape))}")
    return shape


STEPS = {  # the names a pickled array needs, under NumPy 1.x's and 2.x's module names
    ("numpy", "ndarray"): None,
    ("numpy", "dtype"): _Unpickler.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _Unpickler.reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _Unpickler.reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _Unpickler.frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _Unpickler.frombuffer,
    ("_codecs", "encode"): _Unpickler.encode,
}

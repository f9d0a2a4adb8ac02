"""Reading an image file, a pickle of one NumPy array (N, 15, 15), without running it.

`pickle.load` calls whatever a file names; `load_images` uses two steps of the standard
library instead, after its "Restricting Globals": a pre-scan by `pickletools.genops`, which
builds nothing, of the opcodes, the memo (pickle trusts a memo index: 9 bytes can make it
take 4 GB) and the long texts; then `pickle.Unpickler`, whose `find_class` hands out, for
the few names an array needs (STEPS), wrappers that check the file's arguments before NumPy's
own function gets them. A dtype or an array whose state the file sets is a stand-in until
that state is checked. So NumPy makes the array, as `pickle.load` would, or nothing is made.
"""

import io
import itertools
import math
import os
import pickle
import pickletools
import stat

import numpy as np

from run_support.report import quoted, shown
from utils import SIDE

MAX_FILE_BYTES = 256 * 2**20  # 256 MiB: the course's training file is 1.8 MB
MAX_IMAGES = MAX_FILE_BYTES // (SIDE * SIDE * 8)  # 149,130: at most 256 MiB as float64, too
MAX_OPCODES = 1000  # a pickled array takes about 60
MAX_BUILDS = 2  # a dtype's state, an array's: no file makes a second copy of its data
LONG_TEXT = 256  # characters: a name or a type code is shorter, protocol 2's data longer
NUMBER_TYPES = ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")
OPCODES = """PROTO FRAME STOP MARK NONE NEWTRUE NEWFALSE BININT1 BININT2 BININT SHORT_BINUNICODE
BINUNICODE SHORT_BINBYTES BINBYTES BYTEARRAY8 EMPTY_TUPLE TUPLE1 TUPLE2 TUPLE3 TUPLE BINPUT
MEMOIZE BINGET GLOBAL STACK_GLOBAL REDUCE BUILD""".split()  # NumPy's for an array, disassembled


class ImageFileError(ValueError):
    """A file load_images does not read; the message is one line that starts with the path."""


def load_images(path):
    """The images of a pickle of one (N, 15, 15) array of integers or floats, as a new
    float64 array. ImageFileError for anything else; nothing from the file ever runs."""
    try:
        data = _read(path)
        _prescan(data)
        made = _Unpickler(io.BytesIO(data)).load()
        array = made.real if type(made) is _StandIn else made
        if type(array) is not np.ndarray:
            raise ImageFileError(f"holds a {type(made).__name__}, not an array of images")
        if array.ndim != 3 or array.shape[1:] != (SIDE, SIDE):
            shape = str(array.shape)[:60]  # at most 64 sizes: its start will do
            raise ImageFileError(f"holds an array of shape {shape}; expected (N, 15, 15) images")
        if not 1 <= len(array) <= MAX_IMAGES:
            raise ImageFileError(f"holds {len(array):,} images; a file holds 1 to {MAX_IMAGES:,}")
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
    """The bytes of a regular file of at most MAX_FILE_BYTES, checked before it is opened (a
    device may act on an open), opened without blocking (a FIFO would wait), checked again."""
    data = b""
    try:
        info = os.stat(path)
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
    """ImageFileError unless every opcode is one an array needs (MAX_OPCODES at most, and
    MAX_BUILDS BUILDs), the memo is stored in order and fetched where stored, and there is
    one text at most of over LONG_TEXT characters (protocol 2's data)."""
    if len(data) < 2 or data[:1] != pickle.PROTO or not 2 <= data[1] <= 5:
        raise ImageFileError(f"is not a pickle of protocol 2 to 5 (it starts {quoted(data[:8])})")
    try:  # genops: cut short, a byte that is no opcode, text that is not UTF-8
        ops = list(itertools.islice(pickletools.genops(data), MAX_OPCODES + 1))  # and no more
    except ValueError as e:
        raise ImageFileError(f"is not a readable pickle ({quoted(str(e))})") from None
    ops, stored = [(op.name, arg, pos) for op, arg, pos in ops], 0
    for count, (name, arg, pos) in enumerate(ops):
        if name not in OPCODES or count == MAX_OPCODES:
            what = name if count < MAX_OPCODES else f"more than {MAX_OPCODES} opcodes"
            raise ImageFileError(f"uses {what}, which no pickled array needs; refused")
        slot, stores = stored if name == "MEMOIZE" else arg, name in ("BINPUT", "MEMOIZE")
        if (name == "BINGET" and slot >= stored) or (stores and slot > stored):
            raise ImageFileError(f"uses memo slot {slot}, while {stored} are stored")
        stored += stores and slot == stored
        if name == "STOP" and pos + 1 < len(data):
            raise ImageFileError(f"has {len(data) - pos - 1:,} stray bytes after its end")
    if sum(name == "BUILD" for name, _, _ in ops) > MAX_BUILDS:
        raise ImageFileError(f"sets more than {MAX_BUILDS} states (BUILD): an array's, a dtype's")
    if sum("UNICODE" in name and len(arg) > LONG_TEXT for name, arg, _ in ops) > 1:
        raise ImageFileError(f"holds more than one text of over {LONG_TEXT} characters")


class _StandIn:
    """What a file gets for a dtype or an empty array: NumPy's own, made (`real`) only when
    BUILD gives it a state that `check` passes; check returns the state NumPy is given."""

    __slots__ = ("make", "check", "real")

    def __init__(self, make, check):
        self.make, self.check, self.real = make, check, None

    def __setstate__(self, state):
        real = self.make()
        real.__setstate__(self.check(*state))
        self.real = real


class _Unpickler(pickle.Unpickler):
    """pickle's unpickler, knowing only the names an array needs (STEPS): each a method
    called with NumPy's own function and the file's arguments. One per file."""

    NDARRAY = object()  # what a file gets for numpy.ndarray: an argument of _reconstruct
    long_encodes = 0  # texts of over LONG_TEXT encoded so far

    def find_class(self, module, name):
        if (module, name) not in STEPS:
            name = quoted(f"{module[:80]}.{name[:80]}")
            raise ImageFileError(f"asks for {name}, which no array of images needs; refused")
        try:
            real = super().find_class(module, name)
        except (ImportError, AttributeError):  # pickle.load refuses it too
            raise ImageFileError(
                f"asks for {module}.{name}: NumPy {np.__version__} lacks it"
            ) from None
        step = STEPS[(module, name)]
        return self.NDARRAY if step is None else lambda *args: step(self, real, *args)

    def reconstruct(self, real, *args):  # an empty array, its state to come
        if args != (self.NDARRAY, (0,), b"b") or (type(args[1][0]), type(args[2])) != (int, bytes):
            raise ImageFileError("calls _reconstruct with other than (numpy.ndarray, (0,), b'b')")

        def state(version, shape, dtype, fortran, data):  # as ndarray.__reduce__ gives it
            if type(data) is not bytes or math.prod(_sizes(shape)) * _dtype(dtype).itemsize != len(
                data
            ):
                raise ImageFileError(
                    f"gives an array of shape {str(shape)[:60]} no bytes of its size"
                )
            return version, shape, dtype.real, fortran, data

        return _StandIn(lambda: real(np.ndarray, (0,), b"b"), state)

    def frombuffer(self, real, data=None, dtype=None, shape=(), *order):  # protocol 5's way
        if type(data) not in (bytes, bytearray):
            raise ImageFileError(f"calls _frombuffer on a {type(data).__name__}, not on bytes")
        return real(data, _dtype(dtype), _sizes(shape), *order)  # a view: no copy

    def dtype(self, real, code=None, align=False, copy=True, *rest):
        if type(code) is not str or code not in NUMBER_TYPES:
            what = quoted(code) if type(code) is str else f"a {type(code).__name__} for a type"
            raise ImageFileError(f"holds an array of {what}, not of numbers")
        if rest or align not in (False, 0) or copy not in (True, 1):  # with copy false,
            # NumPy would hand back its own shared dtype, for the file's state to change
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
        raise ImageFileError(f"gives a {type(value).__name__} where NumPy wants a dtype")
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

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
        array = _Unpickler(data).load()
        if type(array) is _StandIn:  # never given a state: what NumPy makes without one
            array = array.real if array.real is not None else array.make()
        if type(array) is not np.ndarray:
            what = "dtype" if isinstance(array, np.dtype) else type(array).__name__  # any NumPy's
            raise ImageFileError(f"holds a {what}, not an array of images")
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
    (pickle trusts a memo index: 9 bytes can take it 4 GB); one long text at most; frames
    that pickle reads as genops does."""
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
    # pickle reads a frame whole and drops what is left of it where an opcode goes on past its
    # end (genops reads on): a frame must start after the one before and end at an opcode
    starts, frame_end = {pos for _, _, pos in ops} | {len(data)}, 0
    for _, length, pos in (op for op in ops if op[0] == "FRAME"):
        if pos < frame_end or pos + 9 + length not in starts:
            where = f"at byte {pos:,} that does not end where an opcode begins"
            raise ImageFileError(f"has a frame {where}; pickle would read it otherwise")
        frame_end = pos + 9 + length
    if sum(name == "BUILD" for name, _, _ in ops) > MAX_BUILDS:
        raise ImageFileError(f"sets more than {MAX_BUILDS} states (BUILD): an array's, a dtype's")
    if sum("UNICODE" in name and len(arg) > LONG_TEXT for name, arg, _ in ops) > 1:
        raise ImageFileError(f"holds more than one text of over {LONG_TEXT} characters")


class _StandIn:
    """A dtype or an array for the file (`what`): real, or made real by NumPy when BUILD
    gives it a state that `check` passes; once, and before anything uses it."""

    __slots__ = ("what", "make", "check", "real")

    def __init__(self, what, make=None, check=None, real=None):
        self.what, self.make, self.check, self.real = what, make, check, real

    def __setstate__(self, state):
        if self.real is not None:
            raise ImageFileError(f"sets the state of a {self.what} twice")
        checked = self.check(*state) if type(state) is tuple else None
        if checked is None:
            raise ImageFileError(f"gives a {self.what} a state NumPy never writes")
        real = self.make()
        real.__setstate__(checked)
        self.real = real


class _Unpickler(pickle.Unpickler):
    """pickle's, knowing only STEPS: each a function given NumPy's own. One a file; what its
    steps count is in `seen`, so that no step refers back to the unpickler (a cycle would keep
    the file's objects until a full garbage collection)."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.seen = {"long encodes": 0}

    def find_class(self, module, name):
        if (module, name) not in STEPS:
            name = quoted(f"{module[:80]}.{name[:80]}")
            raise ImageFileError(f"asks for {name}, which no array of images needs; refused")
        real = super().find_class(module, name)  # NumPy's own; or, if this NumPy lacks it
        # (NumPy 1.26 has no numpy._core), the ImportError pickle.load would raise too
        step, seen = STEPS[(module, name)], self.seen
        return NDARRAY if step is None else lambda *args: step(seen, real, *args)


NDARRAY = object()  # numpy.ndarray, as the file names it for _reconstruct
ORDERS = ("C", "F", "K", "A")
DTYPE_STATE = (3, "<", None, None, None, -1, -1, 0)  # NumPy's for a number type


def _reconstruct(seen, real, *args):  # an empty array, its state to come
    cls, shape, code = args if len(args) == 3 else (None, None, None)
    if not (cls is NDARRAY and _sizes(shape, strict=False) == (0,) and _is(code, b"b")):
        raise ImageFileError("calls _reconstruct with other than (numpy.ndarray, (0,), b'b')")

    def state(version=None, shape=None, dtype=None, fortran=None, data=None, *rest):
        if rest or not (_is(version, 1) and type(fortran) is bool and type(data) is bytes):
            return None  # as ndarray.__reduce__ gives it, or not at all
        _holds(data, _sizes(shape), _dtype(dtype))
        return version, shape, dtype.real, fortran, data

    return _StandIn("numpy.ndarray", lambda: real(np.ndarray, (0,), b"b"), state)


def _frombuffer(seen, real, data=None, dtype=None, shape=None, order=None, *axis_order):
    """Protocol 5's way: NumPy's view of the file's bytes, no copy; the array is done."""
    if type(data) not in (bytes, bytearray) or type(order) is not str or order not in ORDERS:
        raise ImageFileError("calls _frombuffer with other than bytes and an order C, F, K or A")
    _holds(data, _sizes(shape), _dtype(dtype))
    axes = [a if a is None else _sizes(a) for a in axis_order]  # NumPy 2.x's, for order K
    return _StandIn("numpy.ndarray", real=real(data, dtype.real, shape, order, *axes))


def _numpy_dtype(seen, real, code=None, align=False, copy=False, *rest):  # NumPy's defaults
    if type(code) is not str or code not in NUMBER_TYPES:
        what = quoted(code) if type(code) is str else f"a {_kind(code)} for a type"
        raise ImageFileError(f"holds an array of {what}, not of numbers")
    if rest or align is not False or copy is not True:  # copy off: NumPy's own, shared dtype
        raise ImageFileError(f"calls numpy.dtype({code!r}) with other than align off, copy on")
    orders = ("|",) if code.endswith("1") else ("<", ">")  # as NumPy writes them
    states = [(*DTYPE_STATE[:1], order, *DTYPE_STATE[2:]) for order in orders]

    def state(*s):  # the one state NumPy writes for a plain number type, or None
        right = any(len(s) == len(t) and all(map(_is, s, t)) for t in states)
        return s if right else None

    return _StandIn("numpy.dtype", lambda: real(code, align, copy), state)


def _encode(seen, real, *args):  # protocol 2 writes bytes as latin-1 text
    if len(args) != 2 or type(args[0]) is not str or not _is(args[1], "latin1", "latin-1"):
        raise ImageFileError("calls _codecs.encode other than on a text, to latin-1")
    seen["long encodes"] += len(args[0]) > LONG_TEXT
    if seen["long encodes"] > 1:
        raise ImageFileError(f"encodes texts of over {LONG_TEXT} characters more than once")
    return args[0].encode("latin-1")


def _is(value, *choices):
    """value is one of choices, and of its very type (False is no 0, bytearray no bytes)."""
    return any(type(value) is type(c) and value == c for c in choices)


def _kind(value):
    """What a value is, for a message: a stand-in by what it stands for."""
    return value.what if type(value) is _StandIn else type(value).__name__


def _dtype(value):
    if type(value) is not _StandIn or not isinstance(value.real, np.dtype):
        raise ImageFileError("gives NumPy no dtype where it wants one")
    return value.real


def _sizes(shape, strict=True):
    """shape, if a tuple of sizes (plain whole numbers from 0); else ImageFileError, or None.
    The refusal quotes no part of it: a tuple of tuples shared through the memo doubles its
    text at each level."""
    if type(shape) is not tuple:
        what = f"a {_kind(shape)}"
    else:
        bad = [n for n in shape if type(n) is not int or n < 0][:1]
        if not bad:
            return shape
        what = f"{bad[0]:,}" if type(bad[0]) is int else f"a {_kind(bad[0])}"
        what += " among its sizes"
    if strict:
        raise ImageFileError(f"gives a shape that is not a tuple of sizes: {what}")
    return None


def _holds(data, shape, dtype):
    """ImageFileError unless data holds exactly the bytes of an array of shape and dtype,
    checked before NumPy allocates anything."""
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise ImageFileError(f"gives an array of shape {shape} no bytes of its size")


STEPS = {  # the names a pickled array needs, under NumPy 1.x's and 2.x's module names
    ("numpy", "ndarray"): None,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _encode,
}

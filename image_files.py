"""Reading the course's image files without running anything from them.

An image file is a Python pickle of one NumPy array of shape (N, 15, 15): N gray images,
pixel values 0..255. `load_images(path)` reads one and returns it as float64.

A pickle is a program for a small stack machine, and Python's own unpickler will call any
function a file names. So this module does not hand the file to Python's or NumPy's
unpickler at all. It carries its own small pickle machine, after PyTorch's weights-only
unpickler, that knows the few opcodes and globals a pickled array of numbers uses and
refuses everything else by name:

- opcodes: those that NumPy 1.x and 2.x write for an array with pickle protocols 2 to 5,
  found by disassembling such pickles (C, Fortran and other memory orders; `_OPCODES`);
- globals: `_reconstruct`, `_frombuffer`, `ndarray` and `dtype` under the names NumPy 1.x
  and 2.x give them, `_codecs.encode` (protocol 2 stores bytes as text) and `bytes`. None
  of them is called: each stands for a step that the machine itself carries out on plain
  values (a shape, a type code such as "f8", a byte order, raw bytes);
- what the machine builds is plain immutable data (ints, strings, bytes, tuples) and
  records of its own, made afresh for each file; BUILD works only on those records and
  returns a new one. Nothing lives from one call to the next.

Only when the machine has described a whole array, and the description has been checked,
is the array made, by `np.frombuffer` from the file's raw bytes. Then its contents are
checked: real numbers, N >= 1 images of 15 x 15, every value finite and within 0..255.

Everything the file controls is bounded (see the constants below): its size, before it is
read; the number of opcodes; the stack, the memo (a value may be fetched only from where
one was stored) and how deeply tuples nest; integers (32 bits) and array dimensions; type
codes, names and byte orders, which must come from short fixed lists. So no file, however
crafted, makes it run code or hang, and beside the array it returns, reading takes at most
about twice the file's size in memory.

Left out on purpose: pickle protocols 0 and 1 and Python 2's pickles (NumPy under Python 3
never writes them), arrays of objects, strings or records, and out-of-band buffers.
`load_images` raises `ImageFileError`, a ValueError whose one-line message starts with the
path, for any file it does not read.
"""

import math
import os
import pickle
import pickletools
import stat
import struct
from collections import namedtuple

import numpy as np

import report
from utils import SIDE

MAX_FILE_BYTES = 256 * 2**20  # 256 MiB: the course's training file is 1.8 MB
MAX_IMAGES = MAX_FILE_BYTES // (SIDE * SIDE * 8)  # 149,130: at most 256 MiB as float64, too
MAX_OPCODES = 1000  # a pickled array takes about 60
MAX_STACK = 64  # values on the machine's stack at once (a pickled array needs about 10)
MAX_MARKS = 4  # MARKs open at once (a pickled array nests 2)
MAX_TUPLE_ITEMS = 32  # the longest tuple of a pickled array is a dtype's state, of 9 items
MAX_NDIM = 32  # dimensions of an array (NumPy 1.x's own limit)
MAX_NAME_BYTES = 256  # a module or global name in the file

# The number types an image file may hold: "i" signed, "u" unsigned integers, "f" floats,
# with their size in bytes. Nothing else is ever turned into a NumPy dtype.
NUMBER_TYPES = ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")
BYTE_ORDERS = {"<": "<", ">": ">", "=": "=", "|": "="}  # "|": not applicable (one byte)


class ImageFileError(ValueError):
    """A file that `load_images` does not read. The message is one line; it starts with
    the file's path and says what is wrong."""


class _Refused(Exception):
    """Raised inside this module with the reason only; load_images adds the path."""


def load_images(path):
    """Read a pickle of one NumPy array of images, shape (N, 15, 15), values 0..255.

    The array may hold integers or floats, of any byte order, pickled by NumPy 1.x or 2.x
    with protocol 2 to 5. Returns a new float64 array of shape (N, 15, 15).
    Raises ImageFileError for anything else, and never runs anything from the file.
    """
    try:
        data = _read_file(path)
        array = _check_images(_ArrayMachine(data).run().to_numpy())
    except _Refused as why:
        raise ImageFileError(f"{report.shown(path)}: {why}") from None
    return array


# ------------------------------------------------------------------------ the file


def _read_file(path):
    """The file's bytes, once it is known to be a regular file of at most MAX_FILE_BYTES.

    Opened without blocking (a FIFO with no writer would otherwise wait forever), then
    checked on the open file itself, so that it cannot be swapped in between.
    """
    try:
        _check_regular(os.stat(path))  # before opening: opening a device can have effects
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        with open(os.open(path, flags | getattr(os, "O_BINARY", 0)), "rb") as f:
            info = os.fstat(f.fileno())
            _check_regular(info)  # the file opened may have been swapped in since
            return _read_at_most(f, info.st_size)
    except FileNotFoundError:
        raise _Refused("no such file") from None
    except IsADirectoryError:
        raise _Refused("is a folder, not a file of images") from None
    except (OSError, ValueError) as e:  # ValueError: a path with a NUL byte in it
        raise _Refused(f"cannot be read ({_os_reason(e)})") from None


def _check_regular(info):
    """A regular file of at most MAX_FILE_BYTES, or _Refused saying what it is instead."""
    if stat.S_ISDIR(info.st_mode):
        raise _Refused("is a folder, not a file of images")
    if not stat.S_ISREG(info.st_mode):
        raise _Refused(f"is {_file_kind(info.st_mode)}, not a regular file of images")
    if info.st_size > MAX_FILE_BYTES:
        raise _Refused(
            f"holds {info.st_size:,} bytes; an image file may hold at most "
            f"{MAX_FILE_BYTES:,} (256 MiB)"
        )


def _read_at_most(f, expected_size):
    """All of f, read as one block of the size fstat gave; a file that turns out longer
    (one that grows, or /proc's, which say 0) is read on in pieces up to the limit."""
    data = f.read(expected_size + 1)
    if len(data) <= expected_size:
        return data
    pieces, total = [data], len(data)
    while True:
        piece = f.read(2**20)
        if not piece:
            return b"".join(pieces)
        total += len(piece)
        if total > MAX_FILE_BYTES:
            raise _Refused(
                f"holds more than {MAX_FILE_BYTES:,} bytes (256 MiB), the most an "
                "image file may hold"
            )
        pieces.append(piece)


def _file_kind(mode):
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def _os_reason(error):
    return getattr(error, "strerror", None) or str(error)


def _global_name(module, name):
    """module.name for a message, each part cut short before they are joined (a name
    from the file can be as long as the file)."""
    start = module[: report.MAX_QUOTED] + "." + name[: report.MAX_QUOTED]
    return report.quoted(start, length=len(module) + 1 + len(name))


def _excerpt(value):
    """A value from the file, fit to quote in a one-line message: text escaped as repr
    does (newlines, escapes and bidirectional marks become visible) and cut short;
    anything larger only named."""
    if type(value) is _Global:
        return _global_name(value.module, value.name)
    if isinstance(value, (str, bytes, memoryview)):
        return report.quoted(value)
    if value is None or type(value) in (bool, int):
        return repr(value)
    if type(value) is tuple:
        return f"a tuple of {len(value)}"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------- the pickle machine

# What the machine builds besides plain values: a global the file named (checked against
# the allowlist when named), a dtype and an array on their way to being described, and a
# whole description. Immutable, and made afresh for each file.
_Global = namedtuple("_Global", "module name")
_DtypeCall = namedtuple("_DtypeCall", "code")  # numpy.dtype(code, ...), state to come
_Dtype = namedtuple("_Dtype", "code byteorder")
_EmptyArray = namedtuple("_EmptyArray", "")  # _reconstruct(ndarray, ...), state to come
_Bytes = (bytes, memoryview)  # raw data from the file: bytes, or a view of the file's bytes


class _Array(namedtuple("_Array", "shape dtype order data axes")):
    """A pickled array, described: made into a NumPy array only by to_numpy().

    shape: the dimensions as stored; dtype: a _Dtype; order: "C" or "F", how the raw bytes
    run; axes: None, or (protocol 5's "K" order) the transpose of the stored C-ordered array.
    """

    def final_shape(self):
        return self.shape if self.axes is None else tuple(self.shape[i] for i in self.axes)

    def to_numpy(self):
        shape = self.final_shape()
        if len(shape) != 3 or shape[1:] != (SIDE, SIDE):
            raise _Refused(
                f"holds an array of shape {shape}; expected (N, {SIDE}, {SIDE}): "
                f"N images of {SIDE} x {SIDE} pixels"
            )
        if shape[0] == 0:
            raise _Refused(f"holds no images: the array's shape is (0, {SIDE}, {SIDE})")
        if shape[0] > MAX_IMAGES:
            raise _Refused(f"holds {shape[0]:,} images; a file may hold at most {MAX_IMAGES:,}")
        dtype = np.dtype(self.dtype.code).newbyteorder(self.dtype.byteorder)
        expected = math.prod(shape) * dtype.itemsize
        if len(self.data) != expected:
            raise _Refused(
                f"holds {len(self.data):,} bytes of data for an array of shape "
                f"{shape} and type {dtype.str}, which needs {expected:,}"
            )
        array = np.frombuffer(self.data, dtype=dtype)
        if self.axes is not None:
            return array.reshape(self.shape).transpose(self.axes)
        return array.reshape(self.shape, order=self.order)


def _shape(value, what):
    """value as an array shape: a tuple of at most MAX_NDIM sizes, each 0..MAX_FILE_BYTES."""
    if type(value) is not tuple or len(value) > MAX_NDIM:
        raise _Refused(f"gives {what} as {_excerpt(value)}, not a tuple of sizes")
    for size in value:
        if type(size) is not int or not 0 <= size <= MAX_FILE_BYTES:
            raise _Refused(f"gives {what} with a size of {_excerpt(size)}")
    return value


def _call_reconstruct(args):
    """_reconstruct(ndarray, (0,), b"b"): an empty array whose state BUILD will give."""
    if not (
        len(args) == 3
        and type(args[0]) is _Global
        and args[0].name == "ndarray"
        and args[1] == (0,)
        and isinstance(args[2], _Bytes)
        and args[2] == b"b"
    ):
        raise _Refused("calls _reconstruct with arguments other than (numpy.ndarray, (0,), b'b')")
    return _EmptyArray()


def _build_array(empty, state):
    """BUILD on _reconstruct's empty array: state is (version 1, shape, dtype, Fortran
    order or not, raw bytes), as ndarray.__reduce__ gives it."""
    if not (type(state) is tuple and len(state) == 5 and state[0] == 1):
        raise _Refused(
            f"gives an array the state {_excerpt(state)}, not (1, shape, dtype, order, data)"
        )
    _, shape, dtype, fortran, data = state
    if type(dtype) is not _Dtype or not _is_flag(fortran) or not isinstance(data, _Bytes):
        raise _Refused("gives an array a state whose dtype, order or data is of the wrong kind")
    return _Array(_shape(shape, "an array's shape"), dtype, "F" if fortran else "C", data, None)


def _call_frombuffer(args):
    """_frombuffer(data, dtype, shape, order[, axes]): protocol 5's way to an array."""
    if len(args) not in (4, 5):
        raise _Refused(f"calls _frombuffer with {len(args)} arguments, not 4 or 5")
    data, dtype, shape, order = args[:4]
    axes = args[4] if len(args) == 5 else None
    if not isinstance(data, _Bytes) or type(dtype) is not _Dtype:
        raise _Refused("calls _frombuffer with data or a dtype of the wrong kind")
    shape = _shape(shape, "_frombuffer a shape")
    if order in ("C", "F") and axes is None:
        return _Array(shape, dtype, order, data, None)
    if order == "K" and _is_permutation(axes, len(shape)):
        return _Array(shape, dtype, "C", data, axes)
    raise _Refused(f"calls _frombuffer with the order {_excerpt(order)} and axes {_excerpt(axes)}")


def _is_permutation(axes, n):
    """axes is a tuple holding each of 0 .. n-1 once."""
    return type(axes) is tuple and all(type(a) is int for a in axes) and sorted(axes) == [*range(n)]


def _is_flag(value):
    """False or True, or 0 or 1 as older NumPy (the course's files among them) wrote them."""
    return type(value) in (bool, int) and value in (0, 1)


def _call_dtype(args):
    """numpy.dtype(code, align, copy), for the plain number types only."""
    if not (len(args) == 3 and _is_flag(args[1]) and _is_flag(args[2])):
        raise _Refused("calls numpy.dtype with arguments other than (type code, align, copy)")
    if type(args[0]) is not str or args[0] not in NUMBER_TYPES:
        raise _Refused(
            f"holds an array of the type {_excerpt(args[0])}, not one of the "
            f"integer or float types {', '.join(NUMBER_TYPES)}"
        )
    return _DtypeCall(args[0])


def _build_dtype(call, state):
    """BUILD on numpy.dtype(...): state is (version, byte order, subarray, names, fields,
    item size, alignment, flags). A plain number type has no subarray, names or fields,
    its own item size and alignment (-1) and no flags: NumPy writes exactly
    (3, byte order, None, None, None, -1, -1, 0), and reads other flags in ways that
    can treat raw bytes as objects."""
    if not (
        type(state) is tuple
        and len(state) == 8
        and state[0] == 3
        and type(state[1]) is str
        and state[1] in BYTE_ORDERS
        and state[2:] == (None, None, None, -1, -1, 0)
    ):
        raise _Refused(f"gives numpy.dtype({call.code!r}) a state that no plain number type has")
    return _Dtype(call.code, BYTE_ORDERS[state[1]])


def _call_encode(args):
    """_codecs.encode(text, "latin1"): how protocol 2 stores bytes, as text; no other codec."""
    if not (len(args) == 2 and type(args[0]) is str and args[1] in ("latin1", "latin-1")):
        raise _Refused(
            f"calls _codecs.encode with the codec {_excerpt(args[-1] if args else None)}"
        )
    try:
        return args[0].encode("latin-1")
    except UnicodeEncodeError:
        raise _Refused("calls _codecs.encode on text that is not latin-1") from None


def _call_bytes(args):
    """bytes(): protocol 2's way to write empty bytes."""
    if args != ():
        raise _Refused("calls bytes() with arguments")
    return b""


# The globals a pickled array names, under NumPy 1.x's and 2.x's module names, and what
# calling each (REDUCE) does here. numpy.ndarray is only ever an argument.
_CALLS = {
    ("numpy", "ndarray"): None,
    ("numpy", "dtype"): _call_dtype,
    ("_codecs", "encode"): _call_encode,
    ("__builtin__", "bytes"): _call_bytes,
    ("builtins", "bytes"): _call_bytes,
}
for _core in ("numpy.core", "numpy._core"):
    _CALLS[(f"{_core}.multiarray", "_reconstruct")] = _call_reconstruct
    _CALLS[(f"{_core}.numeric", "_frombuffer")] = _call_frombuffer
_BUILDS = {_EmptyArray: _build_array, _DtypeCall: _build_dtype}

_OPCODE_NAMES = {ord(op.code): op.name for op in pickletools.opcodes}


class _ArrayMachine:
    """The pickle machine: one per file. run() interprets data's opcodes, each by the method
    named after it in _OPCODES, and returns the _Array the pickle describes."""

    def __init__(self, data):
        self.data = data
        self.view = memoryview(data)
        self.pos = 0  # where the next opcode or argument starts
        self.stack = []
        self.marks = []  # stack lengths at each open MARK
        self.memo = []
        self.done = False  # STOP reached
        self.result = None  # what STOP found on the stack

    def run(self):
        data = self.data
        if not data:
            raise _Refused("is empty")
        if data.startswith(b"\x93NUMPY"):
            raise _Refused("is a .npy file (numpy.save), not a pickle of images")
        if data[0] != pickle.PROTO[0]:
            raise _Refused(
                f"is not a pickle file of protocol 2 to 5, as NumPy writes (it starts "
                f"{_excerpt(data[:8])})"
            )
        for count in range(MAX_OPCODES):
            if self.pos >= len(data):
                raise _Refused("ends too soon: it is truncated")
            code = data[self.pos]
            self.pos += 1
            step = _OPCODES.get(code)
            if step is None:
                raise _Refused(self._unknown_opcode(code, count))
            step(self)
            if self.done:
                return self._finish()
        raise _Refused(
            f"takes more than {MAX_OPCODES} pickle opcodes; a pickled array takes about 60"
        )

    def _unknown_opcode(self, code, count):
        name = _OPCODE_NAMES.get(code)
        if name is None:
            where = "is not a pickle file" if count == 0 else "is not a readable pickle"
            return f"{where}: byte {code:#04x} at offset {self.pos - 1} is no pickle opcode"
        return (
            f"uses the pickle opcode {name} (at offset {self.pos - 1}), which a pickled "
            "array of numbers never needs; refused, and nothing in the file was run"
        )

    def _finish(self):
        if self.pos != len(self.data):
            raise _Refused(
                f"has {len(self.data) - self.pos:,} stray bytes after the pickled object"
            )
        if type(self.result) is not _Array:
            raise _Refused(f"holds {_excerpt(self.result)}, not a NumPy array of images")
        return self.result

    # -- reading arguments, pushing and popping

    def take(self, n):
        """The next n bytes of the file, as a view (no copy)."""
        if n > len(self.data) - self.pos:
            raise _Refused("ends too soon: it is truncated")
        start, self.pos = self.pos, self.pos + n
        return self.view[start : self.pos]

    def take_int(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def take_line(self):
        """GLOBAL's arguments: text up to a newline, at most MAX_NAME_BYTES long."""
        end = self.data.find(b"\n", self.pos, self.pos + MAX_NAME_BYTES + 1)
        if end < 0:
            raise _Refused("names a global without the newline that ends it, or a too long one")
        line = self.take(end - self.pos + 1)[:-1]
        return self.text(line)

    def text(self, raw):
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError:
            raise _Refused("holds text that is not UTF-8") from None

    def push(self, value):
        if len(self.stack) >= MAX_STACK:
            raise _Refused(f"puts more than {MAX_STACK} values on the pickle stack at once")
        self.stack.append(value)

    def pop(self):
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise _Refused("takes a value from an empty pickle stack")
        return self.stack.pop()

    def pop_items(self):
        """The values pushed since the last MARK, removing the MARK."""
        if not self.marks:
            raise _Refused("closes a MARK it never opened")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def make_tuple(self, items):
        """A tuple of at most MAX_TUPLE_ITEMS, nested at most two deep."""
        if len(items) > MAX_TUPLE_ITEMS:
            raise _Refused(
                f"builds a tuple of {len(items)} items; a pickled array needs at "
                f"most {MAX_TUPLE_ITEMS}"
            )
        for item in items:
            if type(item) is tuple and any(type(inner) is tuple for inner in item):
                raise _Refused("nests tuples more than two deep, as no pickled array does")
        self.push(tuple(items))

    def global_value(self, module, name):
        if (module, name) not in _CALLS:
            raise _Refused(
                f"asks for the global {_global_name(module, name)}, which a "
                "pickled array of images never needs; refused, and nothing in the "
                "file was run"
            )
        self.push(_Global(module, name))

    # -- the opcodes, each named as pickletools names it

    def PROTO(self):
        protocol = self.take(1)[0]
        if self.pos != 2 or not 2 <= protocol <= 5:
            raise _Refused(f"is a pickle of protocol {protocol}; only protocols 2 to 5 are read")

    def FRAME(self):  # protocol 4's framing: a length to check, nothing to do
        if self.take_int("<Q") > len(self.data) - self.pos:
            raise _Refused("ends too soon: it is truncated (a frame runs past its end)")

    def STOP(self):
        if len(self.stack) != 1 or self.marks:
            raise _Refused(f"ends with {len(self.stack)} values on the pickle stack, not one")
        self.result, self.done = self.stack.pop(), True

    def MARK(self):
        if len(self.marks) >= MAX_MARKS:
            raise _Refused(f"opens more than {MAX_MARKS} MARKs at once")
        self.marks.append(len(self.stack))

    def NONE(self):
        self.push(None)

    def NEWTRUE(self):
        self.push(True)

    def NEWFALSE(self):
        self.push(False)

    def BININT1(self):
        self.push(self.take(1)[0])

    def BININT2(self):
        self.push(self.take_int("<H"))

    def BININT(self):
        self.push(self.take_int("<i"))

    def SHORT_BINUNICODE(self):
        self.push(self.text(self.take(self.take(1)[0])))

    def BINUNICODE(self):
        self.push(self.text(self.take(self.take_int("<I"))))

    def SHORT_BINBYTES(self):
        self.push(self.take(self.take(1)[0]))

    def BINBYTES(self):
        self.push(self.take(self.take_int("<I")))

    def BYTEARRAY8(self):
        self.push(self.take(self.take_int("<Q")))

    def EMPTY_TUPLE(self):
        self.make_tuple([])

    def TUPLE1(self):
        self.make_tuple([self.pop()])

    def TUPLE2(self):
        second, first = self.pop(), self.pop()
        self.make_tuple([first, second])

    def TUPLE3(self):
        third, second, first = self.pop(), self.pop(), self.pop()
        self.make_tuple([first, second, third])

    def TUPLE(self):
        self.make_tuple(self.pop_items())

    def BINPUT(self):
        self.put(self.take(1)[0])

    def MEMOIZE(self):
        self.put(len(self.memo))

    def put(self, index):
        """Store the top of the stack at index: the next free one, or one already used."""
        if not self.stack:
            raise _Refused("stores a value from an empty pickle stack")
        if index > len(self.memo):
            raise _Refused(
                f"stores a value at memo index {index}, past the {len(self.memo)} stored so far"
            )
        if index == len(self.memo):
            self.memo.append(self.stack[-1])
        else:
            self.memo[index] = self.stack[-1]

    def BINGET(self):
        index = self.take(1)[0]
        if index >= len(self.memo):
            raise _Refused(f"fetches memo index {index}, where nothing was stored")
        self.push(self.memo[index])

    def GLOBAL(self):
        module = self.take_line()
        self.global_value(module, self.take_line())

    def STACK_GLOBAL(self):
        name, module = self.pop(), self.pop()
        if type(module) is not str or type(name) is not str:
            raise _Refused("names a global by something other than two strings")
        self.global_value(module, name)

    def REDUCE(self):
        args, func = self.pop(), self.pop()
        call = _CALLS.get(func) if type(func) is _Global else None
        if call is None or type(args) is not tuple:
            raise _Refused(f"calls {_excerpt(func)} on {_excerpt(args)}, as no pickled array does")
        self.push(call(args))

    def BUILD(self):
        state, target = self.pop(), self.pop()
        build = _BUILDS.get(type(target))
        if build is None:
            raise _Refused(f"sets the state of {_excerpt(target)}, as no pickled array does")
        self.push(build(target, state))


_OPCODES = {
    getattr(pickle, name)[0]: getattr(_ArrayMachine, name)
    for name in (
        "PROTO",
        "FRAME",
        "STOP",
        "MARK",
        "NONE",
        "NEWTRUE",
        "NEWFALSE",
        "BININT1",
        "BININT2",
        "BININT",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "SHORT_BINBYTES",
        "BINBYTES",
        "BYTEARRAY8",
        "EMPTY_TUPLE",
        "TUPLE1",
        "TUPLE2",
        "TUPLE3",
        "TUPLE",
        "BINPUT",
        "MEMOIZE",
        "BINGET",
        "GLOBAL",
        "STACK_GLOBAL",
        "REDUCE",
        "BUILD",
    )
}


# ------------------------------------------------------------------- the images


def _check_images(array):
    """The array's contents: real numbers, every one finite and within 0..255."""
    images = array.astype(np.float64, order="C")  # a new, writable, C-ordered array
    low, high = images.min(), images.max()  # NaN if any value is NaN
    if not (0.0 <= low and high <= 255.0):
        bad = np.count_nonzero(~np.isfinite(images))
        if bad:
            raise _Refused(f"has {bad:,} pixel values that are NaN or infinite")
        raise _Refused(f"has pixel values from {low:g} to {high:g}; they must lie within 0..255")
    return images

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
  and 2.x give them, `_codecs.encode` (protocol 2 stores bytes as text) and `bytes`, each
  only where the NumPy installed here has it. None of them is called: each stands for a
  step that the machine itself carries out on plain values (a shape, a type code such as
  "f8", a byte order, raw bytes), modelled on what NumPy's own code does;
- what the machine builds is plain immutable data (ints, strings, bytes, tuples) and
  records of its own, made afresh for each file; BUILD works only on those records and
  returns a new one. Nothing lives from one call to the next.

Only when the machine has described a whole array, and the description has been checked,
is the array made, by `np.frombuffer` from the file's raw bytes. Then its contents are
checked: real numbers, N >= 1 images of 15 x 15, every value finite and within 0..255.

The machine reads a file exactly as `pickle.load` would, or refuses it: it accepts only
what NumPy itself writes (a dtype made with copy=True and the byte order NumPy gives its
type; data as bytes), and never what `pickle.load` refuses (a memo store straight after a
MARK, a bool where NumPy wants an integer, a bytearray where it wants bytes).

Everything the file controls is bounded (see the constants below): its size, before it is
read; the number of opcodes; the stack, the memo (a value may be fetched only from where
one was stored) and how deeply tuples nest; integers (32 bits); type codes, names and byte
orders, which must come from short fixed lists. The machine copies no data: bytes and long
texts stay views of the file, and only the one array's data is ever made from them. So no
file, however crafted, makes it run code or hang, and beside the array it returns, reading
takes at most about twice the file's size in memory.

Left out on purpose: pickle protocols 0 and 1 and Python 2's pickles (NumPy under Python 3
never writes them), arrays of objects, strings or records, and out-of-band buffers.
`load_images` raises `ImageFileError`, a ValueError whose one-line message starts with the
path, for any file it does not read.
"""

import codecs
import importlib
import math
import os
import pickle
import pickletools
import stat
import struct
import warnings
from collections import namedtuple

import numpy as np

import report
from utils import SIDE

MAX_FILE_BYTES = 256 * 2**20  # 256 MiB: the course's training file is 1.8 MB
MAX_IMAGES = MAX_FILE_BYTES // (SIDE * SIDE * 8)  # 149,130: at most 256 MiB as float64, too
MAX_OPCODES = 1000  # a pickled array takes about 60
MAX_STACK = 64  # values on the machine's stack at once (a pickled array needs about 10)
MAX_MARKS = 4  # MARKs open at once (a pickled array nests 2)
MAX_TUPLE_ITEMS = 32  # the longest tuple of a pickled array is a dtype's state, of 8 items
MAX_NAME_BYTES = 256  # a text read as text: a name, a type code; longer ones are only data
TEXT_CHUNK = 2**20  # bytes of a long text decoded at a time

# The number types an image file may hold: "i" signed, "u" unsigned integers, "f" floats,
# with their size in bytes. Nothing else is ever turned into a NumPy dtype.
NUMBER_TYPES = ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")


def byte_orders(code):
    """The byte orders NumPy writes for a number type: "|" (not applicable) for one byte,
    else "<" or ">". NumPy would read others too, but into a dtype of another name."""
    return ("|",) if code.endswith("1") else ("<", ">")


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
    if type(value) is _Text:  # its start: at most 4 bytes a character
        start = str(value.raw[: 4 * report.MAX_QUOTED], "utf-8", "ignore")
        return report.quoted(start, length=value.length)
    if type(value) is _Encoded:
        return f"bytes encoded from {_excerpt(value.text)}"
    if type(value) is _ByteArray:
        return f"a bytearray of {len(value.raw):,} bytes"
    if value is None or type(value) in (bool, int):
        return repr(value)
    if type(value) is tuple:
        return f"a tuple of {len(value)}"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------- the pickle machine

# What the machine builds besides plain values: a global the file named (checked against
# the allowlist when named), a long text and what encoding one gives (views of the file,
# decoded only when the array is made), a bytearray, a dtype and an array on their way to
# being described, and a whole description. Immutable, and made afresh for each file.
_Global = namedtuple("_Global", "module name")
_Text = namedtuple("_Text", "raw length")  # UTF-8 text of over MAX_NAME_BYTES; its characters
_Encoded = namedtuple("_Encoded", "text")  # _codecs.encode(a _Text, "latin1"): bytes, to come
_ByteArray = namedtuple("_ByteArray", "raw")  # BYTEARRAY8's data, a view of the file's bytes
_DtypeCall = namedtuple("_DtypeCall", "code")  # numpy.dtype(code, ...), state to come
_Dtype = namedtuple("_Dtype", "code byteorder")
_EmptyArray = namedtuple("_EmptyArray", "")  # _reconstruct(ndarray, ...), state to come
_Bytes = (bytes, memoryview)  # bytes: a view of the file's, or made from a short text


class _Array(namedtuple("_Array", "shape dtype order data axes native")):
    """A pickled array, described: made into a NumPy array only by to_numpy().

    shape: the dimensions as stored; dtype: a _Dtype; order: "C" or "F", how the raw bytes
    run; data: bytes, an _Encoded text or a _ByteArray; axes: None, or (protocol 5's "K"
    order) the transpose of the stored C-ordered array; native: whether the array is put
    in this machine's byte order, as ndarray.__setstate__ does (and _frombuffer does not).
    """

    def final_shape(self):
        return self.shape if self.axes is None else tuple(self.shape[i] for i in self.axes)

    def to_numpy(self):
        shape = self.final_shape()
        if len(shape) != 3 or shape[1:] != (SIDE, SIDE):
            raise _Refused(
                f"holds an array of shape {_shape_text(shape)}; expected (N, {SIDE}, {SIDE}): "
                f"N images of {SIDE} x {SIDE} pixels"
            )
        if shape[0] == 0:
            raise _Refused(f"holds no images: the array's shape is (0, {SIDE}, {SIDE})")
        if shape[0] > MAX_IMAGES:
            raise _Refused(f"holds {shape[0]:,} images; a file may hold at most {MAX_IMAGES:,}")
        dtype = np.dtype(self.dtype.byteorder + self.dtype.code)  # "<f8" here: "=", as NumPy
        expected = math.prod(shape) * dtype.itemsize
        if _data_length(self.data) != expected:
            raise _Refused(
                f"holds {_data_length(self.data):,} bytes of data for an array of shape "
                f"{shape} and type {dtype.str}, which needs {expected:,}"
            )
        array = np.frombuffer(_data_bytes(self.data), dtype=dtype)
        if self.native and not dtype.isnative:  # swapped in place where the bytes are ours
            array = array.byteswap(inplace=array.flags.writeable).view(dtype.newbyteorder("="))
        if self.axes is not None:
            return array.reshape(self.shape).transpose(self.axes)
        return array.reshape(self.shape, order=self.order)


def _shape_text(shape):
    """A shape for a message: whole if short, else its start (up to 32 sizes of 10 digits)."""
    text = str(shape)
    return text if len(text) <= 40 else f"{text[:36]}... ({len(shape)} dimensions)"


def _data_length(data):
    """How many bytes data stands for."""
    if type(data) is _Encoded:
        return data.text.length  # latin-1: one byte a character
    return len(data.raw if type(data) is _ByteArray else data)


def _data_bytes(data):
    """data's bytes: the file's own, or (protocol 2) its latin-1 text encoded, made here
    piece by piece so that no more than the bytes themselves are ever held at once."""
    if type(data) is _ByteArray:
        return data.raw
    if type(data) is not _Encoded:
        return data
    made = bytearray()
    for piece in _decoded_pieces(data.text.raw):
        try:
            made += piece.encode("latin-1")
        except UnicodeEncodeError:
            raise _Refused("calls _codecs.encode on text that is not latin-1") from None
    return made


def _decoded_pieces(raw):
    """raw, UTF-8, as text, TEXT_CHUNK bytes at a time; _Refused if it is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(raw), TEXT_CHUNK):
            yield decoder.decode(raw[start : start + TEXT_CHUNK])
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _Refused("holds text that is not UTF-8") from None


def _shape(value, what):
    """value as an array shape: a tuple of sizes, each an int >= 0 (NumPy refuses a bool)."""
    if type(value) is not tuple:
        raise _Refused(f"gives {what} as {_excerpt(value)}, not a tuple of sizes")
    for size in value:
        if type(size) is not int or size < 0:
            raise _Refused(f"gives {what} with a size of {_excerpt(size)}")
    return value


def _call_reconstruct(args):
    """_reconstruct(ndarray, (0,), b"b"): an empty array whose state BUILD will give."""
    if not (
        len(args) == 3
        and type(args[0]) is _Global
        and args[0].name == "ndarray"
        and _shape(args[1], "_reconstruct a shape") == (0,)
        and args[2] == b"b"  # bytes: not a bytearray, nor text (NumPy takes that, too)
    ):
        raise _Refused("calls _reconstruct with arguments other than (numpy.ndarray, (0,), b'b')")
    return _EmptyArray()


def _build_array(empty, state):
    """BUILD on _reconstruct's empty array: state is (version 1, shape, dtype, Fortran
    order or not, raw bytes), as ndarray.__reduce__ gives it. NumPy's __setstate__ takes
    bytes (or text) as the data, never a bytearray."""
    if not (type(state) is tuple and len(state) == 5 and type(state[0]) is int and state[0] == 1):
        raise _Refused(
            f"gives an array the state {_excerpt(state)}, not (1, shape, dtype, order, data)"
        )
    _, shape, dtype, fortran, data = state
    data_kinds = (*_Bytes, _Encoded)
    if type(dtype) is not _Dtype or not _is_flag(fortran) or not isinstance(data, data_kinds):
        raise _Refused("gives an array a state whose dtype, order or data is of the wrong kind")
    order = "F" if fortran else "C"
    return _Array(_shape(shape, "an array's shape"), dtype, order, data, None, True)


def _call_frombuffer(args):
    """_frombuffer(data, dtype, shape, order[, axes]): protocol 5's way to an array. The
    axes (NumPy 2.1 and later) only where the NumPy installed here takes them."""
    if len(args) not in _FROMBUFFER_ARGS:
        raise _Refused(
            f"calls _frombuffer with {len(args)} arguments; the NumPy installed here "
            f"({np.__version__}) takes {' or '.join(map(str, _FROMBUFFER_ARGS))}"
        )
    data, dtype, shape, order = args[:4]
    axes = args[4] if len(args) == 5 else None
    if not isinstance(data, (*_Bytes, _Encoded, _ByteArray)) or type(dtype) is not _Dtype:
        raise _Refused("calls _frombuffer with data or a dtype of the wrong kind")
    shape = _shape(shape, "_frombuffer a shape")
    if order in ("C", "F") and axes is None:
        return _Array(shape, dtype, order, data, None, False)
    if order == "K" and _is_permutation(axes, len(shape)):
        return _Array(shape, dtype, "C", data, axes, False)
    raise _Refused(f"calls _frombuffer with the order {_excerpt(order)} and axes {_excerpt(axes)}")


def _is_permutation(axes, n):
    """axes is a tuple holding each of 0 .. n-1 once."""
    return type(axes) is tuple and all(type(a) is int for a in axes) and sorted(axes) == [*range(n)]


def _is_flag(value):
    """False or True, or 0 or 1 as older NumPy (the course's files among them) wrote them."""
    return type(value) in (bool, int) and value in (0, 1)


def _call_dtype(args):
    """numpy.dtype(code, align=False, copy=True), for the plain number types only: what
    NumPy writes. With copy false, NumPy hands back its shared dtype and then ignores the
    byte order in the state BUILD gives it."""
    if not (len(args) == 3 and _is_flag(args[1]) and _is_flag(args[2])):
        raise _Refused("calls numpy.dtype with arguments other than (type code, align, copy)")
    if args[1] or not args[2]:
        raise _Refused(
            f"calls numpy.dtype with align={args[1]!r} and copy={args[2]!r}; NumPy writes "
            "align false and copy true, and reads a false copy with another byte order"
        )
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
        and state[1] in byte_orders(call.code)
        and state[2:] == (None, None, None, -1, -1, 0)
        and all(type(number) is int for number in state[5:])
    ):
        raise _Refused(f"gives numpy.dtype({call.code!r}) a state that NumPy never writes for it")
    return _Dtype(call.code, state[1])


def _call_encode(args):
    """_codecs.encode(text, "latin1"): how protocol 2 stores bytes, as text; no other codec.
    A long text is encoded only if it becomes the array's data (see _data_bytes)."""
    if not (len(args) == 2 and type(args[0]) in (str, _Text) and args[1] in ("latin1", "latin-1")):
        raise _Refused(
            f"calls _codecs.encode with the codec {_excerpt(args[-1] if args else None)}"
        )
    if type(args[0]) is _Text:
        return _Encoded(args[0])
    try:
        return args[0].encode("latin-1")
    except UnicodeEncodeError:
        raise _Refused("calls _codecs.encode on text that is not latin-1") from None


def _call_bytes(args):
    """bytes(): protocol 2's way to write empty bytes."""
    if args != ():
        raise _Refused("calls bytes() with arguments")
    return b""


def _numpy_global(module, name):
    """module.name as pickle.load finds it with the NumPy installed here, or None (NumPy
    1.26 has no numpy._core.numeric; NumPy 2 keeps numpy.core's names, with a warning)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


# The globals a pickled array names, under NumPy 1.x's and 2.x's module names, and what
# calling each (REDUCE) does here. numpy.ndarray is only ever an argument. NumPy's own
# steps count only where the NumPy installed here has them, as for pickle.load.
_CALLS = {
    ("numpy", "ndarray"): None,
    ("numpy", "dtype"): _call_dtype,
    ("_codecs", "encode"): _call_encode,
    ("__builtin__", "bytes"): _call_bytes,
    ("builtins", "bytes"): _call_bytes,
}
_NOT_HERE = set()  # NumPy's steps under a name the NumPy installed here does not have
_FROMBUFFER_ARGS = (4,)  # NumPy 2.1's _frombuffer takes a fifth, the axis order
for _core in ("numpy.core", "numpy._core"):
    for _module, _name, _call in (
        ("multiarray", "_reconstruct", _call_reconstruct),
        ("numeric", "_frombuffer", _call_frombuffer),
    ):
        _found = _numpy_global(f"{_core}.{_module}", _name)
        if _found is None:
            _NOT_HERE.add((f"{_core}.{_module}", _name))
            continue
        _CALLS[(f"{_core}.{_module}", _name)] = _call
        if _name == "_frombuffer" and _found.__code__.co_argcount == 5:
            _FROMBUFFER_ARGS = (4, 5)
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
            raise _Refused(
                f"names a global without the newline that ends it within {MAX_NAME_BYTES} bytes"
            )
        line = self.take(end - self.pos + 1)[:-1]
        return self.text(line)

    def text(self, raw):
        """UTF-8 text from the file: a str if it is at most MAX_NAME_BYTES long, else a
        _Text, a view of the file's bytes checked piece by piece (never decoded whole: one
        character beyond the BMP makes a Python string 4 bytes a character)."""
        if len(raw) <= MAX_NAME_BYTES:
            try:
                return str(raw, "utf-8")
            except UnicodeDecodeError:
                raise _Refused("holds text that is not UTF-8") from None
        return _Text(raw, sum(len(piece) for piece in _decoded_pieces(raw)))

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
        if (module, name) in _NOT_HERE:
            raise _Refused(
                f"asks for {module}.{name}, which the NumPy installed here ({np.__version__}) "
                "does not have; pickle.load refuses it too (a newer NumPy wrote the file)"
            )
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
        if self.pos != 2:
            raise _Refused(f"has a second PROTO opcode, at offset {self.pos - 2}")
        if not 2 <= protocol <= 5:
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
        self.push(_ByteArray(self.take(self.take_int("<Q"))))

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
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise _Refused("stores a value from an empty pickle stack, or right after a MARK")
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
            raise _Refused(
                "names a global by something other than two strings of at most "
                f"{MAX_NAME_BYTES} bytes: {_excerpt(module)} and {_excerpt(name)}"
            )
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

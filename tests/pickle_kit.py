"""Pickles by hand for tests, and what pickle.load and image_files make of them.

Writer writes any tree of plain values, globals, calls and BUILDs as the opcodes a pickler
would write for it, with the choices a test wants to vary (protocol, how globals are named,
memo stores) made explicit:

    Global("numpy", "dtype"); Call(func, args); Build(obj, state); ByteArray(b"..")

reference(data) is pickle.load itself, allowed only the globals the reader knows;
described(data) is the reader's array before its conversion to float64, or its refusal.
"""

import io
import pickle
import struct
import warnings
from collections import namedtuple

import numpy as np

import image_files

Global = namedtuple("Global", "module name")
Call = namedtuple("Call", "func args")  # func(*args), by REDUCE
Build = namedtuple("Build", "obj state")  # obj, then obj.__setstate__(state), by BUILD
ByteArray = namedtuple("ByteArray", "data")  # BYTEARRAY8 (protocol 5)


class Writer:
    """write(tree) gives a whole pickle: PROTO, the tree's opcodes, STOP.

    stack_global: name globals by STACK_GLOBAL (protocol 4's way) rather than GLOBAL;
    memo: "binput" or "memoize" stores every value made in the memo, as picklers do, or None;
    put_after_mark: also store right after every MARK (which pickle.load refuses).
    """

    def __init__(self, protocol=3, stack_global=False, memo="binput", put_after_mark=False):
        self.protocol, self.stack_global = protocol, stack_global
        self.memo, self.put_after_mark = memo, put_after_mark
        self.stored = 0

    def write(self, tree, frame=False, stray=b""):
        self.stored = 0
        body = self.value(tree)
        head = pickle.PROTO + bytes([self.protocol])
        if frame:  # protocol 4's framing: one frame holding the whole body and STOP
            head += pickle.FRAME + struct.pack("<Q", len(body) + 1)
        return head + body + pickle.STOP + stray

    def put(self):
        if self.memo is None:
            return b""
        self.stored += 1
        if self.memo == "memoize":
            return pickle.MEMOIZE
        return pickle.BINPUT + bytes([self.stored - 1])

    def mark(self):
        return pickle.MARK + (self.put() if self.put_after_mark else b"")

    def value(self, v):
        if v is None:
            return pickle.NONE
        if v is True or v is False:
            return pickle.NEWTRUE if v else pickle.NEWFALSE
        if type(v) is int:
            if 0 <= v < 256:
                return pickle.BININT1 + bytes([v])
            if 0 <= v < 65536:
                return pickle.BININT2 + struct.pack("<H", v)
            return pickle.BININT + struct.pack("<i", v)
        if type(v) is str:
            raw = v.encode("utf-8", "surrogatepass")
            if len(raw) < 256 and self.protocol >= 4:
                return pickle.SHORT_BINUNICODE + bytes([len(raw)]) + raw + self.put()
            return pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw + self.put()
        if type(v) is bytes:
            if len(v) < 256:
                return pickle.SHORT_BINBYTES + bytes([len(v)]) + v + self.put()
            return pickle.BINBYTES + struct.pack("<I", len(v)) + v + self.put()
        if type(v) is ByteArray:
            return pickle.BYTEARRAY8 + struct.pack("<Q", len(v.data)) + v.data + self.put()
        if type(v) is tuple:
            items = b"".join(self.value(item) for item in v)
            if len(v) <= 3:
                small = (pickle.EMPTY_TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3)
                return items + small[len(v)] + self.put()
            return self.mark() + items + pickle.TUPLE + self.put()
        if type(v) is Global:
            if self.stack_global:
                return self.value(v.module) + self.value(v.name) + pickle.STACK_GLOBAL + self.put()
            return pickle.GLOBAL + f"{v.module}\n{v.name}\n".encode() + self.put()
        if type(v) is Call:
            return self.value(v.func) + self.value(v.args) + pickle.REDUCE + self.put()
        if type(v) is Build:
            return self.value(v.obj) + self.value(v.state) + pickle.BUILD
        raise TypeError(f"no opcodes for {v!r}")


class Restricted(pickle.Unpickler):
    """pickle.load itself, allowed only the globals the reader knows: the reference."""

    def find_class(self, module, name):
        if (module, name) not in {*image_files._CALLS, *image_files._NOT_HERE}:
            raise pickle.UnpicklingError(f"{module}.{name} is not for this test")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def reference(data):
    """What pickle.load makes of data. Ask it only of files the reader took, or of files
    whose dtype state has no flags: NumPy trusts those flags to mean objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy 2's notes on numpy.core and align=0
        return Restricted(io.BytesIO(data)).load()


def described(data):
    """What the reader makes of data before converting it to float64, or its refusal."""
    try:
        return image_files._ArrayMachine(data).run().to_numpy()
    except image_files._Refused as why:
        return str(why)


def assert_same_array(ours, theirs):
    """Equal as arrays are: type, byte order, shape, memory layout and every byte."""
    assert isinstance(theirs, np.ndarray)
    assert (ours.dtype, ours.dtype.str, ours.dtype.byteorder) == (
        theirs.dtype,
        theirs.dtype.str,
        theirs.dtype.byteorder,
    )
    assert (ours.shape, ours.strides) == (theirs.shape, theirs.strides)
    assert ours.tobytes() == theirs.tobytes()

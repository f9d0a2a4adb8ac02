"""image_files' pickle machine against pickle.load, and each of its bounds at its edge.

The first half writes array pickles field by field (tests/pickle_kit.py), each field
either as NumPy writes it or in a way it does not, and asks of every one: the reader loads
it exactly as pickle.load does, or refuses it; and it loads it if, and only if, every field
is one the reader means to take. The second half puts each limit the module states to the
test just inside (it passes) and just outside (it is refused, by that limit).
"""

import importlib.util
import inspect
import io
import pickle
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import ROOT
from pickle_kit import (
    Build,
    ByteArray,
    Call,
    Global,
    Writer,
    assert_same_array,
    described,
    reference,
)

import image_files
from image_files import ImageFileError, load_images

N = 2  # images in most pickles here


def numpy_has(module, name):
    """Whether the NumPy installed here has module.name, as pickle.load looks it up."""
    return image_files._numpy_global(module, name) is not None


def frombuffer_takes_axes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from numpy.core.numeric import _frombuffer
    return len(inspect.signature(_frombuffer).parameters) == 5


# ------------------------------------------------------- equal to pickle.load, or refused

# Each field of an array pickle: the values to try, each with whether the reader takes it
# (True), refuses it (False), or may do either as long as it agrees with pickle.load (None).
FIELDS = {
    "protocol": [(2, True), (3, True), (4, True), (5, True)],
    "stack_global": [(False, True), (True, True)],
    "memo": [("binput", True), ("memoize", True), (None, True)],
    "put_after_mark": [(False, True), (True, False)],  # pickle.load refuses it
    "frame": [(None, True), (0, True), (1, False), (-1, None)],  # frame length, off by this
    "stray": [(b"", True), (b"\x00", False)],
    "core": [("numpy._core", True), ("numpy.core", True)],  # as NumPy here has them
    "route": [("reconstruct", True), ("frombuffer", True), ("frombuffer K", True)],
    "empty_shape": [((0,), True), ((False,), False), (0, False), ((), False), ((1,), False)],
    "typecode": [("bytes", True), ("encoded", True), ("bytearray", False), ("text", False)],
    "code": [(c, True) for c in image_files.NUMBER_TYPES] + [(c, False) for c in ("b1", "c8")],
    "align": [(False, True), (0, True), (True, False), (1, False), (2, False), (None, False)],
    "copy": [(True, True), (1, True), (False, False), (0, False), (2, False), (None, False)],
    "dtype_version": [(3, True), (4, False), (2, False)],
    "byteorder": [("native", True), ("swapped", True), ("=", False), ("|", True), ("x", False)],
    "itemsize": [(-1, True), ("own", False), (0, False)],
    "alignment": [(-1, True), (1, False)],
    "flags": [(0, True), (False, False), (16, False)],
    "version": [(1, True), (True, False), (2, False)],
    "shape": [("images", True), ("flat", False), ("bool", False)],
    "fortran": [(False, True), (True, True), (0, True), (1, True), (2, False), (None, False)],
    "data": [("bytes", True), ("encoded", True), ("bytearray", True), ("text", False)],
    "data_extra": [(0, True), (1, False), (-1, False)],
    "order": [("C", True), ("F", True), ("A", False), ("K", False)],
    "axes": [((1, 2, 0), True), ((True, 2, False), False), ((-2, -1, 0), False), ((1, 0), False)],
}

# Fields whose values NumPy writes are many (one NumPy or protocol, or another): any of those.
OPEN = ("protocol", "stack_global", "memo", "core", "route", "code", "fortran", "data", "order")


def pick(rng, deviations):
    """A choice for every field: any of those NumPy writes where all of them are (the
    protocol, the way to an array, ...), else the first, NumPy's own, but for `deviations`
    fields."""
    choice = {}
    for name, values in FIELDS.items():
        each = [value for value in values if value[1]] if name in OPEN else values[:1]
        choice[name] = each[rng.integers(len(each))]
    for name in rng.choice(list(FIELDS), size=deviations, replace=False):
        values = FIELDS[name]
        choice[name] = values[rng.integers(len(values))]
    return choice


# The fields each way to an array writes; the others do not appear in its pickle.
ROUTE_FIELDS = {
    "reconstruct": {"empty_shape", "typecode", "version", "shape", "fortran"},
    "frombuffer": {"shape", "order"},
    "frombuffer K": {"axes"},
}


def expected(choice):
    """True: the reader must take this pickle; False: it must refuse it; None: either."""
    route = choice["route"][0]
    unused = set().union(*ROUTE_FIELDS.values()) - ROUTE_FIELDS[route]
    if choice["memo"][0] is None:
        unused.add("put_after_mark")  # nothing to store
    verdicts = [ok for name, (_, ok) in choice.items() if name not in unused]
    code, order, core = choice["code"][0], choice["byteorder"][0], choice["core"][0]
    step = ("multiarray", "_reconstruct") if route == "reconstruct" else ("numeric", "_frombuffer")
    verdicts.append(numpy_has(f"{core}.{step[0]}", step[1]))
    if route == "frombuffer K":
        verdicts.append(frombuffer_takes_axes())
    if order in ("|", "swapped"):  # NumPy writes "|" for one-byte types, and only for them
        verdicts.append(code.endswith("1") == (order == "|"))
    if route == "reconstruct" and choice["data"][0] == "bytearray":
        verdicts.append(False)  # ndarray.__setstate__ refuses a bytearray
    if False in verdicts:
        return False
    return None if None in verdicts else True


def array_pickle(choice, images):
    """The pickle the choice describes, of images (N, 15, 15) stored as its type code."""
    value = {name: pair[0] for name, pair in choice.items()}
    code = value["code"]
    native = "<" if sys.byteorder == "little" else ">"
    one_byte = code.endswith("1")
    byteorder = {
        "native": "|" if one_byte else native,
        "swapped": {"<": ">", ">": "<"}[native],
    }.get(value["byteorder"], value["byteorder"])
    layout = np.dtype(code).newbyteorder(byteorder if byteorder in "<>" else "=")
    array = images.astype(layout)
    itemsize = {"own": array.itemsize}.get(value["itemsize"], value["itemsize"])
    dtype = Build(
        Call(Global("numpy", "dtype"), (code, value["align"], value["copy"])),
        (value["dtype_version"], byteorder, None, None, None, itemsize, value["alignment"])
        + (value["flags"],),
    )
    route, order = value["route"], value["order"]
    fortran = bool(value["fortran"]) if route == "reconstruct" else order == "F"
    raw = array.tobytes(order="F" if fortran else "C")
    shape = {"images": array.shape, "flat": (len(array), 225), "bool": (True, 15, 15)}[
        value["shape"]
    ]
    axes = None
    if route == "frombuffer K":  # stored as the C-ordered transpose, put back by axes
        stored = np.ascontiguousarray(array.transpose(2, 0, 1))
        raw, shape, order, axes = stored.tobytes(), stored.shape, "K", value["axes"]
    raw = raw[: len(raw) + value["data_extra"]] if value["data_extra"] < 0 else raw
    raw += b"\x07" * max(0, value["data_extra"])
    data = {
        "bytes": raw,
        "encoded": Call(Global("_codecs", "encode"), (raw.decode("latin-1"), "latin1")),
        "bytearray": ByteArray(raw),
        "text": raw.decode("latin-1"),
    }[value["data"]]
    core = value["core"]
    if route == "reconstruct":
        typecode = {
            "bytes": b"b",
            "encoded": Call(Global("_codecs", "encode"), ("b", "latin1")),
            "bytearray": ByteArray(b"b"),
            "text": "b",
        }[value["typecode"]]
        empty = Call(
            Global(f"{core}.multiarray", "_reconstruct"),
            (Global("numpy", "ndarray"), value["empty_shape"], typecode),
        )
        tree = Build(empty, (value["version"], shape, dtype, value["fortran"], data))
    else:
        args = (data, dtype, shape, order) + ((axes,) if axes else ())
        tree = Call(Global(f"{core}.numeric", "_frombuffer"), args)
    writer = Writer(
        value["protocol"], value["stack_global"], value["memo"], value["put_after_mark"]
    )
    data = writer.write(tree, frame=value["frame"] is not None, stray=value["stray"])
    if value["frame"]:  # the frame's length, off by this many bytes
        length = struct.unpack("<Q", data[3:11])[0] + value["frame"]
        data = data[:3] + struct.pack("<Q", length) + data[11:]
    return data


def test_the_writer_writes_what_numpys_pickler_writes():
    """The choice of every first field is NumPy's own: protocol 3 byte for byte."""
    images = np.arange(N * 225).reshape(N, 15, 15) % 256
    first = {name: values[0] for name, values in FIELDS.items()}
    for code in ("f8", "u1"):
        choice = {**first, "protocol": (3, True), "code": (code, True)}
        choice["core"] = ("numpy._core" if np.__version__ >= "2" else "numpy.core", True)
        assert array_pickle(choice, images) == pickle.dumps(images.astype(code), protocol=3)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_pickle_loads_as_pickle_load_does_or_is_refused():
    """3000 array pickles, each NumPy's own but for up to three fields (and 300 with none):
    the reader takes those it means to, refuses the rest, and what it takes is exactly what
    pickle.load makes: type, byte order, shape, layout and bytes."""
    rng = np.random.default_rng(14)
    taken = refused = 0
    for case in range(3300):
        choice = pick(rng, deviations=0 if case < 300 else int(rng.integers(1, 4)))
        images = rng.integers(0, 256, (N, 15, 15))
        data = array_pickle(choice, images)
        ours, verdict = described(data), expected(choice)
        if isinstance(ours, str):
            assert verdict is not True, (choice, ours)
            refused += 1
            continue
        assert verdict is not False, {k: v[0] for k, v in choice.items()}
        assert_same_array(ours, reference(data))
        assert np.array_equal(ours, images.astype(ours.dtype))
        taken += 1
    assert taken > 500 and refused > 1000, (taken, refused)  # both ways are exercised


# ------------------------------------------------------------ the cases that broke before


def numpy_pickle(images, protocol=3, **fields):
    """A pickle of images as NumPy writes it, but for the fields given (value, verdict)."""
    choice = {name: values[0] for name, values in FIELDS.items()}
    choice["core"] = ("numpy._core" if np.__version__ >= "2" else "numpy.core", True)
    choice.update({name: (value, None) for name, value in fields.items()}, protocol=(protocol, 1))
    return array_pickle(choice, images)


@pytest.mark.parametrize("copy", [False, 0])
def test_a_dtype_made_without_copy_is_refused(copy):
    """NumPy hands back its shared dtype, then ignores the byte order in the file: pickle.load
    reads 0, 1, 2 where the file's order would give 0, 3e-319, ..."""
    images = np.arange(N * 225).reshape(N, 15, 15)
    data = numpy_pickle(images, code="f8", byteorder="swapped", copy=copy)
    assert not np.array_equal(reference(data), images)  # what pickle.load makes of it
    assert "copy=" in described(data)
    assert isinstance(described(numpy_pickle(images, code="f8", byteorder="swapped")), np.ndarray)


@pytest.mark.parametrize("memo", ["binput", "memoize"])
def test_a_memo_store_straight_after_a_mark_is_refused(memo):
    images = np.zeros((N, 15, 15))
    for protocol in (2, 5):
        data = numpy_pickle(images, protocol, memo=memo, put_after_mark=True)
        with pytest.raises(pickle.UnpicklingError):
            reference(data)
        assert "right after a MARK" in described(data)
    # a store after a value that follows a MARK is fine, as every pickler writes it
    assert isinstance(described(numpy_pickle(images, 3, memo=memo)), np.ndarray)


def test_a_bytearray_is_data_for_frombuffer_only():
    images = np.zeros((N, 15, 15))
    for route in ("reconstruct", "frombuffer"):
        data = numpy_pickle(images, 5, route=route, data="bytearray")
        if route == "reconstruct":
            with pytest.raises(TypeError):
                reference(data)
            assert "wrong kind" in described(data)
        else:
            assert_same_array(described(data), reference(data))


@pytest.mark.parametrize("field, value", [("empty_shape", (False,)), ("shape", "bool")])
def test_a_bool_where_numpy_wants_an_integer_is_refused(field, value):
    data = numpy_pickle(np.zeros((1, 15, 15)), **{field: value})
    with pytest.raises(TypeError):
        reference(data)
    assert "with a size of" in described(data)


def test_a_newer_numpys_names_are_refused_where_this_one_lacks_them(monkeypatch):
    """NumPy 1.26 has no numpy._core.numeric: pickle.load refuses NumPy 2's protocol 5 files
    there, and so does the reader, in words that say why."""
    name = ("numpy._core.numeric", "_frombuffer")
    monkeypatch.setattr(image_files, "_NOT_HERE", {name})
    monkeypatch.delitem(image_files._CALLS, name, raising=False)  # NumPy 1.26: not there
    data = numpy_pickle(np.zeros((N, 15, 15)), 5, route="frombuffer", core="numpy._core")
    assert "which the NumPy installed here" in described(data)
    monkeypatch.setattr(image_files, "_FROMBUFFER_ARGS", (4,))  # as NumPy 2.0 has it
    data = numpy_pickle(np.zeros((N, 15, 15)), 5, route="frombuffer K", core="numpy.core")
    assert "with 5 arguments" in described(data) and "takes 4" in described(data)


# ---------------------------------------------------------- memory bounded by the file


# Run in a fresh process. On Linux the peak is the process's VmHWM, reset to the resident
# size once the imports are done (ru_maxrss would not do: Linux carries it over from the
# parent that started the process, here pytest, already larger than what is measured).
PEAK_MEMORY = """
import os, resource, sys
sys.path.insert(0, {root!r})
import image_files

def resident(field):
    with open("/proc/self/status") as f:
        return 1024 * int(next(line for line in f if line.startswith(field)).split()[1])

linux = os.path.exists("/proc/self/clear_refs")
if linux:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak, from here on
    before = resident("VmRSS:")
else:  # macOS: ru_maxrss is the process's own, in bytes
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    made, said = image_files.load_images({path!r}).nbytes, ""
except image_files.ImageFileError as e:
    made, said = 0, str(e)
peak = resident("VmHWM:") if linux else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak - before - made, said)
"""


def peak_memory(data, tmp_path):
    """load_images on data in a fresh process: (its peak memory beyond the array it
    returns, its message if refused), in bytes."""
    path = tmp_path / "file.pickle"
    path.write_bytes(data)
    code = PEAK_MEMORY.format(root=str(ROOT), path=str(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    grown, _, said = done.stdout.partition(" ")
    return int(grown), said.strip()


MEGABYTES = 8 * 2**20


def test_encoding_one_memoised_text_again_and_again_copies_nothing(tmp_path):
    """_codecs.encode on one memoised 8 MB text, 60 times over: each result stays on the
    stack, and used to be a copy (a 1 MB file took 289 MB)."""
    text = "a" * MEGABYTES
    encode = pickle.GLOBAL + b"_codecs\nencode\n"
    call = encode + pickle.BINGET + b"\x00" + pickle.SHORT_BINUNICODE + b"\x06latin1"
    call += pickle.TUPLE2 + pickle.REDUCE
    data = b"\x80\x02" + Writer(2).value(text) + call * 60 + pickle.STOP  # text at memo 0
    grown, said = peak_memory(data, tmp_path)
    assert "ends with 61 values" in said
    assert grown < len(data) + 16 * 2**20, grown  # the file, and decoding's pieces


def test_a_text_with_one_character_beyond_the_bmp_is_never_decoded_whole(tmp_path):
    """8 MB of text with one emoji would be a 32 MB Python string: as protocol 2's data,
    refused for not being latin-1; as a name, refused for its length; either way without
    ever holding more than the file and a few pieces."""
    text = "\U0001f600" + "a" * MEGABYTES
    images = numpy_pickle(np.zeros((N, 15, 15)), 2, code="f8", data="encoded")
    head = pickle.BINUNICODE + struct.pack("<I", N * 225 * 8)  # the zeros, as text
    at, raw = images.index(head), text.encode()
    rest = images[at + len(head) + N * 225 * 8 :]
    data = images[:at] + pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw + rest
    grown, said = peak_memory(data, tmp_path)
    assert "for an array of shape" in said or "not latin-1" in said, said
    assert grown < len(data) + 16 * 2**20, grown
    name = Writer(4, stack_global=True).write(Global("numpy", text))
    grown, said = peak_memory(name, tmp_path)
    assert "two strings of at most 256 bytes" in said and "8,388,609 in all" in said
    assert grown < len(name) + 16 * 2**20, grown


@pytest.mark.parametrize("protocol, dtype", [(2, "<f8"), (5, "<f8"), (2, ">f8"), (3, ">f8")])
def test_an_honest_file_takes_at_most_twice_its_size(protocol, dtype, tmp_path):
    """Besides the array it returns, at most the file and one copy of its data (protocol 2,
    whose bytes travel as text, needs that copy, and so does a foreign byte order, which
    ndarray.__setstate__ turns into this machine's; protocol 5 needs none)."""
    images = np.random.default_rng(0).integers(0, 256, (20_000, 15, 15)).astype(dtype)
    data = pickle.dumps(images, protocol=protocol)
    grown, said = peak_memory(data, tmp_path)
    assert said == "" and grown < 2 * len(data) + 4 * 2**20, (grown, len(data))


# ------------------------------------------------------------------ each bound at its edge


def ops_pickle(body, protocol=2):
    return b"\x80" + bytes([protocol]) + body + pickle.STOP


def honest(n=N, protocol=3):
    return pickle.dumps(np.zeros((n, 15, 15)), protocol=protocol)


def test_the_opcode_limit_admits_a_thousand_and_refuses_one_more():
    data = honest(protocol=2)  # stores every value, so BINPUT 0 again changes nothing
    count = sum(1 for _ in __import__("pickletools").genops(data))
    padding = pickle.BINPUT + b"\x00"
    at = data.index(b"q\x00") + 2
    just = data[:at] + padding * (image_files.MAX_OPCODES - count) + data[at:]
    assert isinstance(described(just), np.ndarray)
    over = data[:at] + padding * (image_files.MAX_OPCODES - count + 1) + data[at:]
    assert f"more than {image_files.MAX_OPCODES} pickle opcodes" in described(over)


def test_the_stack_limit_admits_sixty_four_values():
    fits = described(ops_pickle(pickle.NONE * image_files.MAX_STACK))
    assert f"ends with {image_files.MAX_STACK} values" in fits
    over = described(ops_pickle(pickle.NONE * (image_files.MAX_STACK + 1)))
    assert f"more than {image_files.MAX_STACK} values" in over


def test_the_mark_limit_admits_four_open_marks():
    fits = described(ops_pickle(pickle.MARK * image_files.MAX_MARKS))
    assert "ends with 0 values" in fits
    over = described(ops_pickle(pickle.MARK * (image_files.MAX_MARKS + 1)))
    assert f"more than {image_files.MAX_MARKS} MARKs" in over


def test_the_tuple_limit_admits_thirty_two_items_nested_two_deep():
    items = image_files.MAX_TUPLE_ITEMS
    fits = described(ops_pickle(pickle.MARK + pickle.NONE * items + pickle.TUPLE))
    assert "holds a tuple of 32" in fits
    over = described(ops_pickle(pickle.MARK + pickle.NONE * (items + 1) + pickle.TUPLE))
    assert "builds a tuple of 33 items" in over
    two_deep = pickle.NONE + pickle.TUPLE1 + pickle.TUPLE1
    assert "holds a tuple of 1" in described(ops_pickle(two_deep))
    assert "more than two deep" in described(ops_pickle(two_deep + pickle.TUPLE1))


@pytest.mark.parametrize("stack_global", [False, True])
def test_a_name_of_256_bytes_is_read_and_one_of_257_refused(stack_global):
    for length, said in ((256, "asks for the global"), (257, "256")):
        data = Writer(4, stack_global).write(Global("numpy", "d" * length))
        message = described(data)
        assert said in message and (length == 256) == ("asks for" in message), message


def test_the_image_count_admits_the_limit_and_refuses_one_more():
    most = image_files.MAX_IMAGES
    assert most == image_files.MAX_FILE_BYTES // (15 * 15 * 8)
    data = honest(n=1)
    for n, said in ((most, "bytes of data for an array"), (most + 1, f"at most {most:,}")):
        shape = struct.pack("<i", n)
        changed = data.replace(b"K\x01K\x0fK\x0f", b"J" + shape + b"K\x0fK\x0f")
        assert said in described(changed)
    assert "holds no images" in described(data.replace(b"K\x01K\x0fK\x0f", b"K\x00K\x0fK\x0f"))


def test_a_negative_size_is_refused():
    data = honest(n=1).replace(b"K\x01K\x0fK\x0f", b"J" + struct.pack("<i", -1) + b"K\x0fK\x0f")
    assert "a size of -1" in described(data)


@pytest.mark.parametrize("extra", [-1, 1])
def test_data_one_byte_short_or_long_is_refused(extra):
    data = numpy_pickle(np.zeros((N, 15, 15)), data_extra=extra)
    assert "bytes of data for an array" in described(data)


def test_a_frame_may_run_to_the_end_and_not_one_byte_past_it():
    assert isinstance(described(numpy_pickle(np.zeros((N, 15, 15)), 4, frame=0)), np.ndarray)
    assert "frame runs past its end" in described(numpy_pickle(np.zeros((N, 15, 15)), 4, frame=1))


def test_nothing_may_follow_the_stop():
    assert isinstance(described(honest()), np.ndarray)
    assert "1 stray byte" in described(honest() + b"\x00")


@pytest.mark.parametrize("protocol", [1, 2, 5, 6])
def test_protocols_two_to_five_are_read(protocol):
    data = b"\x80" + bytes([protocol]) + honest(protocol=3)[2:]
    refused = isinstance(described(data), str)
    assert refused == (protocol not in (2, 3, 4, 5))
    if refused:
        assert f"of protocol {protocol}" in described(data)


def test_a_second_proto_is_refused():
    assert "a second PROTO opcode, at offset 2" in described(b"\x80\x03" + honest(protocol=3))


def test_the_memo_is_read_only_where_stored():
    store = pickle.NONE + pickle.BINPUT + b"\x00"
    assert "ends with 2 values" in described(ops_pickle(store + pickle.BINGET + b"\x00"))
    assert "memo index 1" in described(ops_pickle(store + pickle.BINGET + b"\x01"))
    again = store + pickle.BINPUT + b"\x01" + pickle.BINPUT + b"\x02"
    assert "holds None" in described(ops_pickle(again))
    assert "memo index 3, past the 2" in described(ops_pickle(store + b"q\x01q\x03"))


@pytest.mark.parametrize("size", [0, 1])
def test_the_file_size_limit_is_its_size(size, tmp_path, monkeypatch):
    data = honest()
    path = tmp_path / "images.pickle"
    path.write_bytes(data)
    monkeypatch.setattr(image_files, "MAX_FILE_BYTES", len(data) - size)
    if size == 0:
        assert load_images(path).shape == (N, 15, 15)
    else:
        with pytest.raises(ImageFileError, match="at most"):
            load_images(path)


def test_a_file_that_grows_is_read_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(image_files, "MAX_FILE_BYTES", 3 * 2**20)
    assert len(image_files._read_at_most(io.BytesIO(b"x" * 3 * 2**20), 0)) == 3 * 2**20
    with pytest.raises(image_files._Refused, match="more than"):
        image_files._read_at_most(io.BytesIO(b"x" * (3 * 2**20 + 1)), 0)


def test_a_character_split_between_two_pieces_of_a_text_is_read(monkeypatch):
    """Protocol 2's data, é (two bytes in UTF-8) over and over, read 7 bytes at a time:
    every piece ends inside a character."""
    monkeypatch.setattr(image_files, "TEXT_CHUNK", 7)
    images = np.full((N, 15, 15), 0xE9, dtype=np.uint8)
    data = pickle.dumps(images, protocol=2)
    assert np.array_equal(described(data), images)
    broken = data.replace("é".encode() * 4, b"\xc3" * 8, 1)
    assert "not UTF-8" in described(broken)


@pytest.mark.parametrize("low, high", [(0.0, 255.0), (-5e-324, 255.0), (0.0, 255.00000000000003)])
def test_pixel_values_may_span_0_to_255_and_nothing_more(low, high, tmp_path):
    images = np.full((N, 15, 15), 100.0)
    images[0, 0, 0], images[1, 1, 1] = low, high
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(images))
    if (low, high) == (0.0, 255.0):
        assert np.array_equal(load_images(path), images)
    else:
        with pytest.raises(ImageFileError, match="within 0..255"):
            load_images(path)


def test_a_mark_fences_off_the_values_below_it():
    """As in pickle.load, what follows a MARK cannot reach below it."""
    below = ops_pickle(pickle.NONE + pickle.MARK + pickle.TUPLE1)
    with pytest.raises(pickle.UnpicklingError):
        reference(below)
    assert "from an empty pickle stack" in described(below)
    above = ops_pickle(pickle.NONE + pickle.MARK + pickle.NONE + pickle.TUPLE1 + pickle.TUPLE)
    assert "ends with 2 values" in described(above)


def test_a_shape_of_many_large_sizes_is_quoted_short():
    sizes = b"".join(pickle.BININT + struct.pack("<i", 2**31 - 1) for _ in range(32))
    data = honest(n=1).replace(b"K\x01K\x0fK\x0f\x87", b"(" + sizes + b"t")
    message = described(data)
    assert "(2147483647, 2147483647, 2147483647,... (32 dimensions)" in message, message
    assert len(message) < 140  # the whole shape would be 420 characters


def test_every_mutant_of_the_mutation_tool_still_applies():
    """tools/mutants.py loosens the reader's bounds one at a time (a few minutes, so not
    run here): each of its changes must still find its text in image_files.py, once."""
    spec = importlib.util.spec_from_file_location("mutants", ROOT / "tools" / "mutants.py")
    mutants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutants)
    source = (ROOT / "image_files.py").read_text()
    found = mutants.mutants()
    assert len(found) >= 50
    for what, old, new in found:
        assert source.count(old) == 1 and old != new, what

"""run_support/image_files.py and the shipped images: honest files load as pickle.load loads
them (and what it refuses is refused); each hostile kind of file, at the edge of its bound,
is refused in one line without running anything, blocking, or taking memory or time."""

import gc
import importlib.util
import io
import json
import os
import pathlib
import pickle
import pickletools
import struct
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
from conftest import ROOT, TEST_FILE, TRAIN_FILE

from run_support import image_files, report
from run_support.image_files import ImageFileError, load_images

PICKLES = sorted((ROOT / "tests" / "pickles").glob("*.pickle"))  # tools/make_test_pickles.py
MB = 2**20


def images(n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 15, 15)).astype(np.float64)


def honest(n=2, protocol=3):
    return pickle.dumps(np.zeros((n, 15, 15)), protocol=protocol)


def swap(data, old, new):
    """data with old put to new; old must be there (a change that misses fails the test)."""
    assert data.count(old) == 1, (old, data[:200])
    return data.replace(old, new)


def text(s):
    raw = s.encode("utf-8", "surrogatepass")
    return pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw


def encode(text_op):  # _codecs.encode(text, "latin1"), as protocol 2 writes bytes
    return b"c_codecs\nencode\n" + text_op + text("latin1") + b"\x86R"


def refusal(data, tmp_path, name="images.pickle"):
    """The one-line message load_images gives for a file (bytes, or a path as it is)."""
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path = data
    with pytest.raises(ImageFileError) as caught:
        load_images(path)
    message = str(caught.value)
    assert message.startswith(f"{report.shown(path)}: ") and message.isprintable(), message
    assert len(message) < len(str(path)) + 300, message
    return message


def loaded(data, tmp_path):
    path = tmp_path / "images.pickle"
    path.write_bytes(data)
    return load_images(path)


# ---------------------------------------------------------------- the shipped files


def test_the_shipped_files_are_the_courses_format_and_load_as_pickle_does():
    """Protocol 3 with NumPy 1.x's module names, as the course's files were."""
    for path, n in ((TRAIN_FILE, 1000), (TEST_FILE, 20)):
        data, array = path.read_bytes(), load_images(path)
        found = {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}
        names = {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
        assert data[:2] == b"\x80\x03" and found == names
        assert array.shape == (n, 15, 15) and (array.min(), array.max()) == (0, 255)
        assert array.dtype == np.float64 and np.array_equal(array, pickle.loads(data))


def test_test_images_are_not_training_images():
    train = {image.tobytes() for image in load_images(TRAIN_FILE)}
    test = [image.tobytes() for image in load_images(TEST_FILE)]
    assert len(train) == 1000 and len(set(test)) == 20 and not train & set(test)


def test_the_tool_rebuilds_the_shipped_files_byte_for_byte():
    if importlib.util.find_spec("sklearn") is None:
        pytest.skip("rebuilding the data needs the digits scikit-learn ships")
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "tools" / "make_images.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    train, test, test_labels = tool.build()
    assert tool.course_pickle(train) == TRAIN_FILE.read_bytes()
    assert tool.course_pickle(test) == TEST_FILE.read_bytes()
    assert test_labels.tolist() == [d for d in range(10) for _ in range(2)]


# ------------------------------------------------- honest files, as pickle.load reads them


def test_real_numpy_pickles_of_both_generations_cover_every_protocol_and_layout():
    names = {p.name.split("-", 1)[0][:6] + "-" + p.name.split("-", 1)[1] for p in PICKLES}
    for numpy in ("numpy1", "numpy2"):
        for protocol in (2, 3, 4, 5):
            for layout in ("C", "F", "permuted"):
                assert f"{numpy}-protocol{protocol}-{layout}.pickle" in names


@pytest.mark.parametrize("path", PICKLES, ids=lambda p: p.stem)
def test_real_numpy_pickles_load_as_pickle_load_does_or_are_refused_as_it_refuses(path, tmp_path):
    """NumPy 1.x's and 2.x's own files; where the NumPy here lacks what one asks for
    (NumPy 1.26 and numpy._core, NumPy 2.0 and _frombuffer's axis order), both refuse it."""
    data = path.read_bytes()
    try:
        expected = pickle.loads(data)
    except (ImportError, TypeError, AttributeError):
        assert "numpy2" in path.name  # what NumPy 1.x writes, every NumPy reads
        refusal(data, tmp_path)
        return
    got = load_images(path)
    assert np.array_equal(got, expected) and got.dtype == np.float64 and got.flags.c_contiguous


DTYPES = [np.float64, np.float32, np.float16, np.uint8, np.uint16, np.int8, np.int64]
DTYPES += [">f8", ">i2", "<u4"]
LAYOUTS = {
    "C": lambda a: a,
    "Fortran": np.asfortranarray,
    "permuted": lambda a: np.ascontiguousarray(a.transpose(2, 0, 1)).transpose(1, 2, 0),
    "reversed": lambda a: a[::-1, :, ::-1],
}


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_number_type_and_memory_layout_loads_as_pickle_load_does(protocol, tmp_path):
    """As a new C-ordered float64 array that owns its memory (protocol 5 could hand out a view
    of the file's bytes)."""
    for dtype in DTYPES:
        for layout, make in LAYOUTS.items():
            data = pickle.dumps(make((images(4) % 128).astype(dtype)), protocol=protocol)
            got = loaded(data, tmp_path)  # int8 holds 0..127
            assert np.array_equal(got, pickle.loads(data)), (dtype, layout)
            assert got.dtype == np.float64 and got.flags.c_contiguous and got.flags.owndata


@pytest.mark.parametrize(
    "low, high, ok", [(0.0, 255.0, True), (-5e-324, 255.0, False), (0.0, 255.00000000000003, False)]
)
def test_pixel_values_may_span_0_to_255_and_not_a_hair_more(low, high, ok, tmp_path):
    array = np.full((2, 15, 15), 100.0)
    array[0, 0, 0], array[1, 1, 1] = low, high
    if ok:
        assert np.array_equal(loaded(pickle.dumps(array, protocol=4), tmp_path), array)
    else:
        assert "not all in 0..255" in refusal(pickle.dumps(array, protocol=4), tmp_path)


# --------------------------------------------------------- hostile files: code


class Payload:
    """Pickles as a call of func(*args): what a crafted file runs when pickle.load reads it."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_file_that_runs_code_under_pickle_load_is_refused_and_runs_nothing(protocol, tmp_path):
    import builtins

    import numpy.testing._private.utils as numpy_testing

    marker = tmp_path / "ran"
    touch = f"open({str(marker)!r}, 'w').close()"
    payloads = {
        "os.system": Payload(os.system, f"touch '{marker}'"),
        "builtins.exec": Payload(builtins.exec, touch),
        "subprocess.Popen": Payload(subprocess.Popen, ["touch", str(marker)]),
        "numpy's runstring": Payload(numpy_testing.runstring, touch, {}),  # an exec in NumPy
    }
    for name, payload in payloads.items():
        data = pickle.dumps(payload, protocol=protocol)
        made = pickle.loads(data)  # the control: plain pickle does run it
        if isinstance(made, subprocess.Popen):
            made.wait()
        assert marker.exists(), name
        marker.unlink()
        for file in (data, pickle.dumps([images(1), payload], protocol=protocol)):  # in a list
            message = refusal(file, tmp_path)
            assert "refused" in message or "protocol 2 to 5" in message, message
            assert not marker.exists(), f"the {name} payload ran"


@pytest.mark.parametrize(
    "module, name",
    [
        ("numpy", "load"),
        ("numpy", "frombuffer"),
        ("numpy.core.multiarray", "scalar"),  # an allowed module, another name
        ("posix", "system"),
        ("builtins", "eval"),
        ("__builtin__", "bytes"),  # what protocol 2 writes for b"": no image file needs it
        ("copyreg", "_reconstructor"),
        ("numpy", "ndarray\nx"),  # a name a GLOBAL line cannot hold: by STACK_GLOBAL
    ],
)
def test_a_global_off_the_list_is_refused_by_name(module, name, tmp_path):
    data = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)R."
    if "\n" in name:
        short = [b"\x8c" + bytes([len(s)]) + s.encode() for s in (module, name)]
        data = b"\x80\x04" + b"".join(short) + b"\x93)R."
    said = f"asks for {report.quoted(f'{module}.{name}')}, which no array of images needs"
    assert f"{said}; refused" in refusal(data, tmp_path)


@pytest.mark.parametrize(
    "opcode", ["NEWOBJ", "OBJ", "INST", "EXT1", "EMPTY_DICT", "EMPTY_LIST", "PERSID", "NEXT_BUFFER"]
)
def test_an_opcode_no_array_needs_is_refused_by_name(opcode, tmp_path):
    code = next(op.code for op in pickletools.opcodes if op.name == opcode).encode("latin-1")
    arg = {"EXT1": b"\x01", "INST": b"numpy\ndtype\n", "PERSID": b"x\n"}.get(opcode, b"")
    said = f"uses {opcode}, which no pickled array needs; refused"
    assert said in refusal(b"\x80\x05(" + code + arg + b".", tmp_path)


# ------------------------------------------------- hostile files: memory and time

PEAKS = """
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
from run_support import image_files
def resident(field):
    with open("/proc/self/status") as f:
        return 1024 * int(next(line for line in f if line.startswith(field)).split()[1])
found = []
for path in sys.argv[2:]:
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak from here on
    before, start = resident("VmRSS:"), time.perf_counter()
    try:
        made, said = image_files.load_images(path).nbytes, ""
    except image_files.ImageFileError as e:
        made, said = 0, str(e)
    found.append((resident("VmHWM:") - before - made, time.perf_counter() - start, said))
print(json.dumps(found))
"""

NUMERIC = "numpy._core.numeric" if np.__version__ >= "2" else "numpy.core.numeric"


def frombuffer_of(data=b"C\x00", dtype=b"N", shape=b"K\x00\x85", order=b"X\x01\x00\x00\x00C"):
    """A file that calls _frombuffer on what it is given: each argument as opcodes."""
    head = b"\x80\x02c" + NUMERIC.encode() + b"\n_frombuffer\n("
    return head + data + dtype + shape + order + b"tR."


DTYPE = b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R"  # numpy.dtype("f8", False, True)


def tree(depth):
    """A shape ((1,), (1,)), ...) `depth` levels deep in a few bytes: each level stored once in
    the memo and fetched twice, so that its text doubles with each level."""
    return b"K\x01\x85q\x00" + b"".join(b"h%c\x86q%c" % (k, k + 1) for k in range(depth))


BIG = np.random.default_rng(0).integers(0, 256, (15_000, 15, 15))  # 27 MB as float64
STORED_TEXT = b"\x80\x02" + text("a" * 8 * MB) + b"q\x00"  # 8 MB of text, in memo slot 0
HUGE_SHAPE = b"J\xff\xff\xff\x7fJ\xff\xff\xff\x7fK\x0f"
FILES = {  # name: (the file, what it says: "" if it loads, how many times its size it may take)
    # honest ones; protocol 2's bytes travel as text, decoded: 4 bytes a character
    "protocol 2, <f8": (pickle.dumps(BIG.astype("<f8"), protocol=2), "", 8),
    "protocol 3, >f8": (pickle.dumps(BIG.astype(">f8"), protocol=3), "", 3),
    "protocol 5, u1": (pickle.dumps(BIG.astype("u1"), protocol=5), "", 3),
    # the largest hostile ones
    "a text encoded 60 times": (STORED_TEXT + encode(b"h\x00") * 60 + b".", "more than once", 8),
    "a text beyond the BMP": (
        b"\x80\x02" + text("\U0001f600" + "a" * 8 * MB) + b"q\x00" + encode(b"h\x00") + b".",
        "UnicodeEncodeError",
        8,
    ),
    "a shape of huge sizes": (swap(honest(1), b"K\x01K\x0fK\x0f", HUGE_SHAPE), "no bytes of", 3),
    "50 MB of one BINBYTES": (
        b"\x80\x03B" + struct.pack("<I", 50 * MB) + bytes(50 * MB) + b".",
        "holds a bytes",
        3,
    ),
    "a shape of memo-shared tuples 26 deep": (frombuffer_of(shape=tree(26)), "a tuple among", 3),
    "an order of 40 MB for _frombuffer": (
        frombuffer_of(order=b"X" + struct.pack("<I", 40 * MB) + b"C" * 40 * MB),
        "an order C, F, K or A",
        8,
    ),
    "9 bytes that take pickle 4 GB": (
        b"\x80\x04N" + pickle.LONG_BINPUT + struct.pack("<I", 2**28 - 1) + b".",
        "uses LONG_BINPUT",
        3,
    ),
}


@pytest.fixture(scope="module")
def peaks(tmp_path_factory):
    """Each of FILES read by load_images in one fresh process, in turn: {name: (its peak
    memory beyond the array it returns, its seconds, its message if it refused)}. Linux."""
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("the peak memory of a process is read from Linux's /proc")
    folder = tmp_path_factory.mktemp("peaks")
    paths = [folder / f"{i}.pickle" for i in range(len(FILES))]
    for path, (data, _, _) in zip(paths, FILES.values()):
        path.write_bytes(data)
    command = [sys.executable, "-c", PEAKS, str(ROOT), *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(zip(FILES, json.loads(done.stdout)))


@pytest.mark.parametrize("name", FILES)
def test_a_file_takes_little_memory_and_time_and_the_largest_hostile_ones_are_refused(name, peaks):
    data, said, times = FILES[name]
    grown, seconds, message = peaks[name]
    assert said in message and (message == "") == (said == "") and seconds < 5, message
    assert grown < times * len(data) + 64 * MB, (grown, len(data))


def test_the_memo_is_stored_in_order_and_fetched_only_where_stored(tmp_path):
    for store, ok in ((b"q\x00", True), (b"\x94", True), (b"q\x01", False)):  # MEMOIZE: the next
        message = refusal(b"\x80\x04N" + store + b".", tmp_path)
        assert message.endswith("holds a NoneType, not an array of images") == ok, message
    assert "uses memo slot 1, while 1 are stored" in refusal(b"\x80\x02Nq\x00h\x01.", tmp_path)
    assert "holds a tuple" in refusal(b"\x80\x02Nq\x00h\x00\x86.", tmp_path)  # fetched where stored
    said = "uses memo slot 2, while 1 are stored"  # storing slot 0 again stores no new slot
    assert said in refusal(b"\x80\x02Nq\x00q\x00q\x02.", tmp_path)


@pytest.mark.parametrize("extra", [0, 1])
def test_a_file_of_max_opcodes_loads_and_one_more_is_refused(extra, tmp_path):
    data = honest(protocol=2)  # BINPUT 0 again stores the same value again: nothing changes
    count, at = sum(1 for _ in pickletools.genops(data)), data.index(b"q\x00") + 2
    padded = data[:at] + b"q\x00" * (image_files.MAX_OPCODES - count + extra) + data[at:]
    if extra:
        assert "uses more than 1000 opcodes" in refusal(padded, tmp_path)
    else:
        assert loaded(padded, tmp_path).shape == (2, 15, 15)


def test_two_states_are_set_and_a_third_is_refused(tmp_path):
    """A dtype's state and an array's: a file could otherwise make copy after copy of its data."""
    data = honest(protocol=3)
    assert [op.name for op, _, _ in pickletools.genops(data)].count("BUILD") == 2
    again = swap(data, b"tq\x0cb", b"tq\x0cbh\x0cb")  # the dtype's state set twice
    assert "sets more than 2 states" in refusal(again, tmp_path)


@pytest.mark.parametrize("over", [0, 1])
def test_a_long_text_is_encoded_once_and_a_short_one_as_often_as_asked(over, tmp_path):
    stored = text("a" * (image_files.LONG_TEXT + over)) + b"q\x00"
    message = refusal(b"\x80\x02" + stored + encode(b"h\x00") * 2 + b"\x86.", tmp_path)
    encoded_twice = "more than once" in message
    assert encoded_twice == bool(over) and ("holds a tuple" in message) != encoded_twice, message


def test_a_file_holds_one_long_text_at_most(tmp_path):
    long, short = text("a" * (image_files.LONG_TEXT + 1)), text("a" * image_files.LONG_TEXT)
    assert "more than one text of over 256" in refusal(
        b"\x80\x02" + long + long + b"\x86.", tmp_path
    )
    assert "holds a tuple" in refusal(b"\x80\x02" + long + short + b"\x86.", tmp_path)


def test_a_dtype_never_given_its_state_is_refused(tmp_path):
    """Protocol 5's _frombuffer with a dtype whose BUILD was cut out (else NumPy reads the
    bytes as float64)."""
    data = pickle.dumps(np.zeros((1, 15, 15)), protocol=5)
    ops = [(op.name, pos) for op, _, pos in pickletools.genops(data)]
    mark = max(pos for name, pos in ops if name == "MARK")  # the dtype's state, up to its BUILD
    build = next(pos for name, pos in ops if name == "BUILD")
    cut = data[:mark] + data[build + 1 :]
    cut = cut[:3] + struct.pack("<Q", len(cut) - 11) + cut[11:]  # the frame's new length
    assert "gives NumPy no dtype where it wants one" in refusal(cut, tmp_path)


def test_a_shape_is_plain_sizes_and_an_array_is_of_numbers(tmp_path):
    base, u1 = honest(1), pickle.dumps(images().astype("u1"), protocol=3)
    sizes, dtype, state = b"K\x01K\x0fK\x0f", b"X\x02\x00\x00\x00f8", b"J\xff\xff\xff\xffK\x00t"
    flags, not_numbers, never = b"\x89\x88\x87", "not of numbers", "a state NumPy never writes"
    for data, said in [
        (swap(base, sizes, b"J\xff\xff\xff\xffK\x0fK\x0f"), "not a tuple of sizes"),  # negative
        (swap(base, sizes, b"\x88K\x0fK\x0f"), "not a tuple of sizes"),  # a bool for a size
        (swap(base, dtype, b"X\x02\x00\x00\x00O8"), f"holds an array of 'O8', {not_numbers}"),
        (
            pickle.dumps(np.zeros((1, 15, 15), dtype=[("a", "f8")]), protocol=3),
            "EMPTY_DICT",
        ),  # records
        (pickle.dumps(np.full((1, 15, 15), "7"), protocol=3), f"of 'U1', {not_numbers}"),
        (pickle.dumps(images() > 9, protocol=5), f"holds an array of 'b1', {not_numbers}"),
        (swap(base, flags, b"\x89\x89\x87"), "other than align off, copy on"),  # copy off
        (swap(base, flags, b"\x88\x88\x87"), "other than align off, copy on"),  # align on
        (swap(base, state, b"J\xff\xff\xff\xffK\x10t"), never),  # flags that make objects
        (swap(base, b"q\x0bNNN", b"q\x0bN)N"), never),  # fields
        (swap(u1, b"\x00\x00\x00|", b"\x00\x00\x00<"), never),  # a byte order for one byte
    ]:
        assert said in refusal(data, tmp_path)


# ---------------------------------------------------------- files that are not files


def test_a_fifo_a_device_and_a_folder_are_refused_without_blocking(tmp_path):
    assert refusal(b"", tmp_path).endswith("(it starts b'')")
    assert refusal(tmp_path, tmp_path).endswith("is a folder, not a regular file of images")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")  # no writer: reading it would wait forever
    paths = [str(p) for p in (tmp_path / "fifo", "/dev/zero") if os.path.exists(p)]  # endless
    code = "import sys; sys.path.insert(0, sys.argv[1]); from run_support import image_files\n"
    code += "for path in sys.argv[2:]:\n    try: image_files.load_images(path)\n"
    code += "    except image_files.ImageFileError as e: print(e)"
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), *paths], capture_output=True, text=True, timeout=10
    )
    said = ": is a FIFO, a device or a socket, not a regular file of images"
    assert done.stdout.splitlines() == [report.shown(p) + said for p in paths], done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a FIFO")
def test_a_file_swapped_for_a_fifo_between_the_check_and_the_read_is_refused(tmp_path, monkeypatch):
    """What the path is when it is opened decides, not what it was when it was checked."""
    regular, fifo = tmp_path / "images.pickle", tmp_path / "fifo"
    regular.write_bytes(honest())
    os.mkfifo(fifo)
    real = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real(regular if p == fifo else p, *a, **k))
    said = "is a FIFO, a device or a socket, not a regular file of images"
    assert refusal(fifo, tmp_path).endswith(said)


@pytest.mark.parametrize("over", [0, 1])
def test_the_size_cap_admits_a_file_of_its_size_and_not_one_byte_more(over, tmp_path, monkeypatch):
    data = honest()
    monkeypatch.setattr(image_files, "MAX_FILE_BYTES", len(data) - over)
    if over:
        assert "the most an image file may" in refusal(data, tmp_path)
    else:
        assert loaded(data, tmp_path).shape == (2, 15, 15)


@pytest.mark.parametrize("n", [3, 4])
def test_a_file_holds_max_images_at_most(n, tmp_path, monkeypatch):
    """As float64, as many images as the largest file holds bytes (a file of bytes could
    otherwise ask for eight times its size)."""
    assert image_files.MAX_IMAGES == image_files.MAX_FILE_BYTES // (15 * 15 * 8)
    monkeypatch.setattr(image_files, "MAX_IMAGES", 3)
    data = pickle.dumps(images(n).astype("u1"), protocol=5)
    if n == 3:
        assert loaded(data, tmp_path).shape == (3, 15, 15)
    else:
        assert "N from 1 to 3" in refusal(data, tmp_path)


def test_a_file_that_holds_more_than_its_size_says_is_refused_at_the_cap(tmp_path, monkeypatch):
    """/proc/self/status says 0 bytes, as a file growing while it is read might."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("a file that holds more than its size says: Linux's /proc")
    monkeypatch.setattr(image_files, "MAX_FILE_BYTES", 100)
    assert "holds over 100 bytes, the most" in refusal(pathlib.Path("/proc/self/status"), tmp_path)


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.pickle"
    with open(path, "wb") as f:
        f.truncate(8 * 2**30)  # 8 GiB of nothing: no disk, and all memory if it were read
    start = time.perf_counter()
    assert "holds over 268,435,456 bytes" in refusal(path, tmp_path)
    assert time.perf_counter() - start < 1


def test_what_a_terminal_would_act_on_is_escaped_and_a_long_path_shown_by_its_ends(tmp_path):
    crafted = b"\x80\x04\x8c\x0a\x1b[31mnumpy\x8c\x05dtype\x93)R."
    message = refusal(crafted, tmp_path, "a\n\x1b[2J.pickle")
    assert message.startswith(repr(str(tmp_path / "a\n\x1b[2J.pickle")))
    assert "\\x1b[31mnumpy" in message
    path = str(tmp_path / ("d" * 200)) * 30
    with pytest.raises(ImageFileError) as caught:
        load_images(path)
    message = str(caught.value)
    assert message.startswith(path[:40]) and "..." in message and "File name too long" in message
    assert len(message) < report.MAX_PATH + 60


# ------------------------------------------------------------------ broken files

NOT_A_PICKLE = "is not a pickle of protocol 2 to 5"
BROKEN = {
    "truncated": (pickle.dumps(images(), protocol=4)[:500], "is not a readable pickle"),
    "text": (b"# a text file\n", NOT_A_PICKLE),
    "protocol 0": (pickle.dumps(images(), protocol=0), NOT_A_PICKLE),
    "protocol 1": (pickle.dumps(images(), protocol=1), NOT_A_PICKLE),
    "protocol 6": (b"\x80\x06N.", NOT_A_PICKLE),
    "a .npy file": (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", NOT_A_PICKLE),
    "two objects": (honest(protocol=4) * 2, "stray bytes after its end"),
    "one byte after the end": (honest(protocol=5) + b".", "has 1 stray byte after its end"),
    "a number": (pickle.dumps(7, protocol=4), "holds a int, not an array of images"),
    "a tuple": (pickle.dumps((1, 2), protocol=4), "holds a tuple, not an array of images"),
    "flat images": (pickle.dumps(images().reshape(3, 225), protocol=5), "shape (3, 225); expected"),
    "no images": (
        pickle.dumps(np.zeros((0, 15, 15)), protocol=3),
        "shape (0, 15, 15); expected (N, 15, 15) images, N from 1 to 149,130",
    ),
    "NaN": (pickle.dumps(np.full((1, 15, 15), np.nan), protocol=4), "from nan to nan, not all in"),
    "infinity": (
        pickle.dumps(np.full((2, 15, 15), np.inf), protocol=5),
        "from inf to inf, not all",
    ),
    "a stack empty": (b"\x80\x02\x85.", "UnpicklingError"),
    "not UTF-8": (b"\x80\x04\x8c\x02\xff\xfe.", "is not a readable pickle"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_file_is_refused_in_one_line_that_names_it(case, tmp_path):
    data, said = BROKEN[case]
    assert said in refusal(data, tmp_path)


def mutations(seed, count):
    """Byte flips, insertions, deletions, cuts and repeats of honest pickles of every
    protocol, aimed mostly at the opcodes before the pixels."""
    rng = np.random.default_rng(seed)
    small = images(2).astype(np.uint8)
    bases = [
        pickle.dumps(a, protocol=p)
        for p in (2, 3, 4, 5)
        for a in (small, small / 2.0, np.asfortranarray(small))
    ]
    for _ in range(count):
        data = bytearray(bases[rng.integers(len(bases))])
        for _ in range(rng.integers(1, 4)):
            at, kind = int(rng.integers(min(len(data), 160) or 1)), rng.integers(4)
            if kind == 0 and at < len(data):
                data[at] = rng.integers(256)
            elif kind == 1:
                data[at:at] = rng.integers(0, 256, rng.integers(1, 9), dtype=np.uint8).tobytes()
            elif kind == 2:
                del data[at : at + rng.integers(1, 9)]
            else:
                data[at:at] = data[at : at + rng.integers(1, 17)]
        yield bytes(data)


def test_mutated_pickles_load_as_pickle_load_does_or_are_refused_in_one_line(tmp_path):
    taken = refused = 0
    for data in mutations(2026, 1500):
        try:
            got = loaded(data, tmp_path)
        except ImageFileError as e:
            assert str(e).isprintable() and "\n" not in str(e)
            refused += 1
        else:  # taken, so of NumPy's names only: pickle.loads is safe to ask
            assert np.array_equal(got, pickle.loads(data).astype(np.float64))
            taken += 1
    assert taken > 15 and refused > 1000, (taken, refused)  # both ways are walked


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_data_that_is_not_the_size_of_its_shape_is_refused_alike_by_every_protocol(
    protocol, tmp_path
):
    """Protocols 2 to 4 give the bytes to an array's state, 5 to _frombuffer: one check."""
    data = pickle.dumps(images(3), protocol=protocol)
    for n in (2, 4):
        short = swap(data, b"K\x03K\x0fK\x0f", b"K%cK\x0fK\x0f" % n)
        said = f"gives an array of shape ({n}, 15, 15) no bytes of its size"
        assert refusal(short, tmp_path).endswith(said)
    assert np.array_equal(loaded(data, tmp_path), images(3))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_one_nan_or_infinity_among_numbers_is_refused(protocol, tmp_path):
    for bad in (np.nan, np.inf, -0.5, 255.5):
        pixels = images(4)
        pixels[2, 7, 3] = bad
        message = refusal(pickle.dumps(pixels, protocol=protocol), tmp_path)
        assert "not all in 0..255" in message and f"{bad:g}" in message, message


def test_reconstruct_is_given_exactly_what_numpy_writes_or_the_file_is_refused(tmp_path):
    """Compared by identity and type, never by ==: False == 0, bytearray(b"b") == b"b"."""
    data = honest(protocol=3)
    said = "calls _reconstruct with other than (numpy.ndarray, (0,), b'b')"
    for old, new in [
        (b"cnumpy\nndarray\n", b"cnumpy\ndtype\n"),  # another class
        (b"cnumpy\nndarray\n", b"N"),
        (b"K\x00\x85q\x02", b"\x89\x85q\x02"),  # (False,)
        (b"K\x00\x85q\x02", b"K\x00K\x00\x86q\x02"),  # (0, 0)
        (b"C\x01bq\x03", b"\x96\x01\x00\x00\x00\x00\x00\x00\x00bq\x03"),  # bytearray
        (b"C\x01bq\x03", b"C\x01cq\x03"),
    ]:
        assert said in refusal(swap(data, old, new), tmp_path), new
    four = swap(swap(data, b"C\x01bq\x03\x87", b"C\x01bq\x03Nt"), b"q\x00c", b"q\x00(c")
    assert said in refusal(four, tmp_path)  # a fourth argument
    never = "gives a numpy.ndarray a state NumPy never writes"
    one = honest(1, protocol=3)
    for old, new in [
        (b"q\x05(K\x01", b"q\x05(\x88"),  # version True, which == 1
        (b"tq\x0cb\x89B", b"tq\x0cbK\x00B"),  # Fortran order 0, which == False
        (b"b\x89B\x08\x07\x00\x00", b"b\x89\x96\x08\x07" + bytes(6)),  # bytes as a bytearray
    ]:
        assert refusal(swap(one, old, new), tmp_path).endswith(never), new
    assert refusal(data[:-1] + b"\x85.", tmp_path).endswith("holds a tuple, not an array of images")


def test_a_shape_is_a_tuple_of_plain_sizes_in_every_place_a_file_gives_one(tmp_path):
    for shape, said in [
        (b"\x88\x85", "a bool among its sizes"),
        (b"J\xff\xff\xff\xff\x85", "-1 among its sizes"),
        (b"K\x01", "not a tuple of sizes: a int"),
        (tree(3), "a tuple among its sizes"),
        (b"C\x01b\x85", "a bytes among its sizes"),
        (DTYPE, "not a tuple of sizes: a numpy.dtype"),  # a stand-in by what it stands for
        (DTYPE + b"\x85", "a numpy.dtype among its sizes"),
    ]:
        assert said in refusal(frombuffer_of(shape=shape), tmp_path), shape


def test_frombuffer_takes_bytes_and_an_order_numpy_knows(tmp_path):
    said = "calls _frombuffer with other than bytes and an order C, F, K or A"
    long_order = b"X" + struct.pack("<I", 4000) + b"C" * 4000
    for data, order in [(b"N", b"X\x01\x00\x00\x00C"), (b"C\x00", b"X\x01\x00\x00\x00c")]:
        assert said in refusal(frombuffer_of(data=data, order=order), tmp_path)
    message = refusal(frombuffer_of(order=long_order), tmp_path)
    assert said in message and len(message) < 300
    assert said in refusal(frombuffer_of(order=b""), tmp_path)  # an argument left out


def test_a_dtype_is_made_as_numpy_writes_it_and_its_state_set_once_before_any_use(tmp_path):
    base = honest(1, protocol=3)
    flags, said = b"\x89\x88\x87", "with other than align off, copy on"
    for new in (b"\x89\x86", b"K\x00K\x01\x87", b"\x89K\x01\x87"):
        assert said in refusal(swap(base, flags, new), tmp_path), new  # copy left out: off
    five = pickle.dumps(images(1), protocol=5)
    ops = [(op.name, pos) for op, _, pos in pickletools.genops(five)]
    build = next(pos for name, pos in ops if name == "BUILD")
    memoized = sum(name == "MEMOIZE" for name, pos in ops if pos < build) - 1  # its state
    again = five[: build + 1] + b"h%cb" % memoized + five[build + 1 :]  # set, then set again
    again = again[:3] + struct.pack("<Q", len(again) - 11) + again[11:]  # the frame's length
    assert "sets the state of a numpy.dtype twice" in refusal(again, tmp_path)
    dtype_only = pickle.dumps(np.dtype("f8"), protocol=3)
    assert refusal(dtype_only, tmp_path).endswith(": holds a dtype, not an array of images")


def test_a_frame_must_end_where_an_opcode_begins(tmp_path):
    """pickle reads a frame whole and, where an opcode runs past its end, drops the rest of it
    and reads on after the frame: genops would see other opcodes than the unpickler runs. Here
    genops sees NONE, BININT, SHORT_BINBYTES; pickle would run LONG_BINPUT 2**28 - 1 (4 GB)."""
    bomb = pickle.LONG_BINPUT + struct.pack("<I", 2**28 - 1)
    frame = b"\x95" + struct.pack("<Q", 4) + b"NJ\x00\x00"  # BININT's argument cut after 2
    data = b"\x80\x04" + frame + b"\x00\x00C" + bytes([len(bomb)]) + bomb + b"."
    seen = [op.name for op, _, _ in pickletools.genops(data)]
    assert seen == ["PROTO", "FRAME", "NONE", "BININT", "SHORT_BINBYTES", "STOP"]
    assert "has a frame at byte 2 that does not end where an opcode begins" in refusal(
        data, tmp_path
    )
    honest5 = honest(1, protocol=5)
    nested = honest5[:11] + b"\x95" + struct.pack("<Q", 0) + honest5[11:]  # a frame in a frame
    nested = nested[:3] + struct.pack("<Q", len(nested) - 11) + nested[11:]
    assert "has a frame at byte 11 that does not end" in refusal(nested, tmp_path)
    at = [pos for _, _, pos in pickletools.genops(honest5)][3]  # the second opcode in the frame
    first, second = (b"\x95" + struct.pack("<Q", n) for n in (at - 11, len(honest5) - at))
    two = honest5[:2] + first + honest5[11:at] + second + honest5[at:]  # one after the other
    assert np.array_equal(loaded(two, tmp_path), np.zeros((1, 15, 15)))


class Strict(pickle._Unpickler):
    """pickle's pure-Python unpickler, which refuses a frame an opcode runs past, given the
    reader's own steps: the C unpickler's twin, reading frames strictly."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.seen = {"long encodes": 0}

    def find_class(self, module, name):
        step, real = image_files.STEPS[(module, name)], super().find_class(module, name)
        return image_files.NDARRAY if step is None else lambda *a: step(self.seen, real, *a)


def outcome(unpickler):
    """What an unpickler makes of a file: the array's bytes, another object's type, or
    refused (with pickle's word if the framing was at fault)."""
    try:
        made = unpickler.load()
    except pickle.UnpicklingError as e:
        return ("frames", str(e)) if "frame" in str(e) else ("refused",)
    except Exception:
        return ("refused",)
    made = made.real if type(made) is image_files._StandIn else made
    return (
        ("array", made.dtype.str, made.shape, made.tobytes())
        if hasattr(made, "shape")
        else (
            "made",
            type(made).__name__,
        )
    )


def test_what_the_prescan_allows_of_mutated_frames_both_unpicklers_read_alike(tmp_path):
    """Differential: frames moved, resized and nested in honest protocol 4 and 5 files.
    Whatever the pre-scan allows, the reader's unpickler (pickle's C one) makes exactly what
    the strict pure-Python one makes with the same steps, which never finds a frame read
    otherwise: so the unpickler runs no opcode the pre-scan did not see."""
    rng, allowed, refused = np.random.default_rng(7), 0, 0
    bases = [pickle.dumps(images(2).astype(t), protocol=p) for p in (4, 5) for t in ("u1", "f8")]
    for _ in range(400):
        data = bytearray(bases[rng.integers(len(bases))])
        if rng.integers(2):  # the frame's length changed by a little
            length = struct.unpack("<Q", data[3:11])[0] + int(rng.integers(-12, 13))
            data[3:11] = struct.pack("<Q", max(length, 0))
        else:  # a second frame opened somewhere in the first
            at, length = int(rng.integers(11, 80)), int(rng.integers(0, 60))
            data[at:at] = b"\x95" + struct.pack("<Q", length)
        data = bytes(data)
        try:
            image_files._prescan(data)
        except ImageFileError as e:
            assert "frame" in str(e) or "opcode" in str(e) or "readable" in str(e), str(e)
            refused += 1
            continue
        allowed += 1
        strict = outcome(Strict(data))
        assert strict[0] != "frames", (strict, data[:60])
        assert outcome(image_files._Unpickler(data)) == strict, data[:60]
    assert allowed > 20 and refused > 200, (allowed, refused)


def test_a_load_gives_its_memory_back_as_it_returns(tmp_path):
    """No cycle between the unpickler and what it made: without a garbage collection, only
    the array is left once load_images returns."""
    path = tmp_path / "images.pickle"
    for protocol in (2, 3, 5):
        path.write_bytes(pickle.dumps(images(2000), protocol=protocol))
        gc.disable()
        tracemalloc.start()
        try:
            array = load_images(path)
            held = tracemalloc.get_traced_memory()[0] - array.nbytes
        finally:
            tracemalloc.stop()
            gc.enable()
        assert held < 256 * 2**10, (protocol, held)  # the file is 3.6 MB

"""The shipped image files, the tool that makes them, and image_files.load_images."""

import copyreg
import importlib.util
import os
import pickle
import pickletools
import struct
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TEST_FILE, TRAIN_FILE
from pickle_kit import assert_same_array, described, reference

import image_files
import report
from image_files import ImageFileError, load_images

PICKLES = ROOT / "tests" / "pickles"  # real NumPy 1.x and 2.x output: tools/make_test_pickles.py


def load_tool():
    """tools/make_images.py as a module (it imports scikit-learn only inside build())."""
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "tools" / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_images = load_tool()


def some_images(n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 15, 15)).astype(np.float64)


def refusal(path):
    """The message load_images gives for path; fails the test if it loads."""
    with pytest.raises(ImageFileError) as caught:
        load_images(path)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith(f"{report.shown(path)}: ") and "\n" not in message, message
    assert len(message) < 500, message
    return message


def refusal_of(data, tmp_path):
    path = tmp_path / "images.pickle"
    path.write_bytes(data)
    return refusal(path)


# ---------------------------------------------------------------- the shipped files


def test_shipped_files_load_with_the_course_shapes():
    train, test = load_images(TRAIN_FILE), load_images(TEST_FILE)
    assert train.shape == (1000, 15, 15) and test.shape == (20, 15, 15)
    for images in (train, test):
        assert images.dtype == np.float64
        assert images.min() == 0.0 and images.max() == 255.0


def test_shipped_files_are_in_the_course_format():
    """Pickle protocol 3 with NumPy 1.x's module names, as the course's files were."""
    for path in (TRAIN_FILE, TEST_FILE):
        data = path.read_bytes()
        assert data[:2] == b"\x80\x03", path.name
        found = {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}
        assert found == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
        plain = pickle.loads(data)  # plain NumPy reads it too, to the same array
        assert plain.dtype == np.float64 and np.array_equal(plain, load_images(path))


def test_test_images_are_not_training_images():
    train, test = load_images(TRAIN_FILE), load_images(TEST_FILE)
    train_set = {image.tobytes() for image in train}
    assert len(train_set) == len(train)  # no training image twice, either
    assert not any(image.tobytes() in train_set for image in test)
    assert len({image.tobytes() for image in test}) == len(test)


def test_glyphs_are_sized_and_placed_like_the_course():
    """Bright digits 8 to 11 pixels tall on a black background, inside the frame."""
    images = np.concatenate([load_images(TRAIN_FILE), load_images(TEST_FILE)])
    ink = images > 0
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    heights = 15 - rows.argmax(axis=1) - rows[:, ::-1].argmax(axis=1)
    widths = 15 - cols.argmax(axis=1) - cols[:, ::-1].argmax(axis=1)
    assert heights.min() >= 8 and heights.max() <= 11
    assert set(np.unique(heights)) >= {9, 10, 11}  # the sizes vary
    assert widths.min() >= 2 and widths.max() <= 11
    assert not ink[:, 0, :].any() and not ink[:, -1, :].any()  # a black margin all round
    assert not ink[:, :, 0].any() and not ink[:, :, -1].any()
    assert ink.mean() < 0.4  # dark background: most pixels are black
    tops = rows.argmax(axis=1)
    assert len(np.unique(tops)) >= 3  # the glyphs are shifted about


# What NumPy 1.26.4 wrote for pickle.dumps(np.array([[[0., 255.], [17., 3.5]]]), protocol=3).
NUMPY1_PROTOCOL3 = (
    b"\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02"
    b"C\x01bq\x03\x87q\x04Rq\x05(K\x01K\x01K\x02K\x02\x87q\x06cnumpy\ndtype\nq\x07X\x02\x00\x00"
    b"\x00f8q\x08\x89\x88\x87q\tRq\n(K\x03X\x01\x00\x00\x00<q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff"
    b"\xff\xffK\x00tq\x0cb\x89C \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe0o@\x00"
    b"\x00\x00\x00\x00\x001@\x00\x00\x00\x00\x00\x00\x0c@q\rtq\x0eb."
)


def test_the_tool_writes_numpy_1_bytes():
    """course_pickle gives the very bytes NumPy 1.26.4 wrote for the same array."""
    small = np.array([[[0.0, 255.0], [17.0, 3.5]]])
    assert make_images.course_pickle(small) == NUMPY1_PROTOCOL3


def test_the_tool_rebuilds_the_shipped_files_byte_for_byte():
    pytest.importorskip("sklearn", reason="rebuilding the data needs scikit-learn")
    train, test, test_labels = make_images.build()
    assert make_images.course_pickle(train) == TRAIN_FILE.read_bytes()
    assert make_images.course_pickle(test) == TEST_FILE.read_bytes()
    assert test_labels.tolist() == [d for d in range(10) for _ in range(2)]


def test_the_tool_keeps_test_digits_out_of_training():
    labels = np.repeat(np.arange(10), 30)
    train, test = make_images.choose(labels, np.random.default_rng(0))
    assert len(train) == min(make_images.N_TRAIN, 300 - 20) and len(test) == 20
    assert not set(train.tolist()) & set(test.tolist())
    assert labels[test].tolist() == [d for d in range(10) for _ in range(2)]


# ------------------------------------------------------------- pickles that must load

REAL_PICKLES = sorted(PICKLES.glob("*.pickle"))
PICKLED_ARRAY = (np.arange(2 * 15 * 15) % 256).reshape(2, 15, 15)  # what each of them holds


def test_real_pickles_cover_both_numpy_generations():
    """Protocols 2 to 5 and three memory layouts, each as NumPy 1.x and 2.x wrote them."""
    names = {p.name for p in REAL_PICKLES}
    for major in ("numpy1.", "numpy2."):
        for protocol in (2, 3, 4, 5):
            for layout in ("C", "F", "permuted"):
                assert any(
                    n.startswith(major) and n.endswith(f"-protocol{protocol}-{layout}.pickle")
                    for n in names
                ), (major, protocol, layout)
    # NumPy 2's protocol 5 calls _frombuffer with five arguments for the permuted layout
    [numpy2_permuted] = [
        p
        for p in REAL_PICKLES
        if p.name.startswith("numpy2.") and p.name.endswith("protocol5-permuted.pickle")
    ]
    ops = [op.name for op, _, _ in pickletools.genops(numpy2_permuted.read_bytes())]
    assert "_frombuffer" in numpy2_permuted.read_bytes().decode("latin-1")
    assert ops.count("TUPLE") >= 2  # the arguments: (data, dtype, shape, "K", axis order)


def older_numpy(data):
    """A NumPy 1.x pickle as NumPy before 1.16 wrote it, the course's gift-pack files among
    them: numpy.dtype's align and copy flags as the ints 0 and 1, not False and True."""
    return data.replace(b"f8q\x08\x89\x88\x87", b"f8q\x08K\x00K\x01\x87")


def test_pickles_of_older_numpy_load_as_the_course_files_do(tmp_path):
    data = older_numpy(NUMPY1_PROTOCOL3)
    assert data != NUMPY1_PROTOCOL3
    expected = pickle.loads(data)  # what NumPy itself makes of it
    images = np.repeat(np.kron(expected, np.ones((1, 8, 8)))[:, :15, :15], 2, axis=0)
    path = tmp_path / "old.pickle"
    path.write_bytes(older_numpy(make_images.course_pickle(images)))
    assert b"K\x00K\x01" in path.read_bytes()
    assert np.array_equal(load_images(path), images)
    for flag in (b"K\x02", b"N", b"X\x01\x00\x00\x001"):  # no flag but 0, 1, False, True
        bad = data.replace(b"K\x00K\x01", b"K\x00" + flag)
        assert "calls numpy.dtype with arguments other than" in refusal_of(bad, tmp_path)


@pytest.mark.parametrize("path", REAL_PICKLES, ids=lambda p: p.stem)
def test_real_numpy_pickles_load(path):
    """Each loads as pickle.load loads it with the NumPy installed here; NumPy 2.4's protocol
    5 pickle of a transposed array only where _frombuffer takes its axis order (2.1 on)."""
    try:
        expected = reference(path.read_bytes())
    except (TypeError, ImportError):  # NumPy 2.0's 4-argument _frombuffer; 1.26's modules
        message = refusal(path)
        assert "calls _frombuffer with 5 arguments" in message or "installed here" in message
        assert "numpy2" in path.name  # what NumPy 1.x writes, every NumPy reads
        return
    assert_same_array(described(path.read_bytes()), expected)
    loaded = load_images(path)
    assert loaded.dtype == np.float64 and loaded.flags.c_contiguous
    assert np.array_equal(loaded, PICKLED_ARRAY)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize(
    "dtype",
    [
        np.float64,
        np.float32,
        np.float16,
        np.uint8,
        np.uint16,
        np.int8,
        np.int64,
        ">f8",
        ">i2",
        "<u4",
    ],
)
def test_every_protocol_and_numeric_dtype_loads(protocol, dtype, tmp_path):
    images = (some_images(4) % 128).astype(dtype)  # int8 holds 0..127
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(images, protocol=protocol))
    loaded = load_images(path)
    assert loaded.dtype == np.float64
    assert np.array_equal(loaded, images.astype(np.float64))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("layout", ["fortran", "permuted", "strided", "reversed"])
def test_arrays_in_any_memory_layout_load_equal(protocol, layout, tmp_path):
    images = some_images(6)
    array = {
        "fortran": np.asfortranarray(images),
        "permuted": np.ascontiguousarray(images.transpose(2, 0, 1)).transpose(1, 2, 0),
        "strided": np.concatenate([images, images])[::2],
        "reversed": images[::-1, :, ::-1],
    }[layout]
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(array, protocol=protocol))
    assert np.array_equal(load_images(path), array)


def test_load_images_returns_a_fresh_writable_copy(tmp_path):
    images = some_images().astype(np.uint8)
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(images, protocol=5))  # protocol 5: a buffer of the file
    loaded = load_images(path)
    loaded[0, 0, 0] = 9.0  # would fail on a read-only array
    assert loaded.flags.c_contiguous and loaded.flags.owndata


# ------------------------------------------------------------------ hostile pickles


class Payload:
    """Pickles as a call of `func(*args)`: what a crafted pickle runs when it is loaded."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def hostile_payloads(marker):
    import builtins

    import numpy.testing._private.utils as numpy_testing_utils

    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": Payload(os.system, f"touch '{marker}'"),
        "builtins.exec": Payload(builtins.exec, touch),
        "subprocess.call": Payload(subprocess.call, ["touch", str(marker)]),
        "subprocess.Popen": Payload(subprocess.Popen, ["touch", str(marker)]),
        # numpy.testing's runstring(code, namespace) is an exec() inside NumPy itself
        "numpy runstring": Payload(numpy_testing_utils.runstring, touch, {}),
    }


def assert_live(data, marker):
    """The control: plain pickle does run this payload."""
    result = pickle.loads(data)
    if isinstance(result, subprocess.Popen):
        result.wait()
    assert marker.exists(), "the control failed: this payload does not run under pickle.load"
    marker.unlink()


@pytest.mark.parametrize(
    "name", ["os.system", "builtins.exec", "subprocess.call", "subprocess.Popen", "numpy runstring"]
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_hostile_pickles_are_refused_and_do_not_run(name, protocol, tmp_path):
    marker = tmp_path / "ran"
    payload = hostile_payloads(marker)[name]
    data = pickle.dumps(payload, protocol=protocol)
    assert_live(data, marker)
    # alone, and inside an innocent-looking array file
    for blob in (data, pickle.dumps([some_images(1), payload], protocol=protocol)):
        message = refusal_of(blob, tmp_path)
        assert "refused" in message or "not a pickle file of protocol 2 to 5" in message
        assert not marker.exists(), f"the {name} payload ran"


def raw_global_pickle(module, name, *args):
    """A protocol-2 pickle calling module.name(*args) (string arguments), written by hand."""
    arg_ops = b"".join(b"X" + struct.pack("<I", len(a.encode())) + a.encode() for a in args)
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n(" + arg_ops + b"tR."


@pytest.mark.parametrize(
    "module, name",
    [
        ("numpy", "load"),  # a NumPy function with allow_pickle
        ("numpy._core.multiarray", "scalar"),  # a NumPy module of the allowlist, another name
        ("numpy.core.multiarray", "system"),  # a dangerous name in an allowed module
        ("numpy", "system"),
        ("posix", "system"),  # where os.system really lives
        ("builtins", "eval"),
        ("__builtin__", "eval"),  # the Python 2 name
        ("copyreg", "_reconstructor"),
        ("numpy", "frombuffer"),
    ],
)
def test_globals_off_the_allowlist_are_refused(module, name, tmp_path):
    message = refusal_of(raw_global_pickle(module, name, "x"), tmp_path)
    assert f"asks for the global '{module}.{name}'" in message and "refused" in message


def test_codecs_encode_admits_latin1_only(tmp_path):
    """Protocol 2 needs _codecs.encode(text, 'latin1'); no other codec is let through."""
    message = refusal_of(raw_global_pickle("_codecs", "encode", "eA==", "base64"), tmp_path)
    assert "with the codec 'base64'" in message


# ---------------------------------------------- memory, time and what a file may ask

SMALL_MEMORY = 768 * 2**20  # address space of a process that loads one hostile file


def load_in_a_small_process(path, timeout=60):
    """load_images(path) in a fresh process limited to SMALL_MEMORY of address space:
    what would take the machine down there ends in MemoryError instead. Returns what the
    process printed: the refusal's message."""
    resource = pytest.importorskip("resource")  # POSIX only
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({SMALL_MEMORY}, {SMALL_MEMORY}))\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import image_files\n"
        f"try:\n    image_files.load_images({str(path)!r})\n"
        "except image_files.ImageFileError as e:\n    print(e)\n"
        "else:\n    print('loaded')\n"
    )
    del resource
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    assert done.stdout.count("\n") == 1 and done.stdout.startswith(f"{path}: "), done.stdout
    return done.stdout.strip()


def test_a_memo_index_far_beyond_the_memo_is_refused_without_allocating(tmp_path):
    """A 9-byte pickle storing at memo index 2**29 made Python's unpickler allocate ~8 GB."""
    path = tmp_path / "memo.pickle"
    path.write_bytes(b"\x80\x02N" + pickle.LONG_BINPUT + struct.pack("<I", 2**29) + b".")
    assert len(path.read_bytes()) == 9
    assert "LONG_BINPUT" in load_in_a_small_process(path)
    # and the opcodes the reader does allow may store only at the next free index
    path.write_bytes(b"\x80\x02N" + pickle.BINPUT + b"\x05.")
    assert "memo index 5, past the 0 stored so far" in refusal(path)
    path.write_bytes(b"\x80\x02" + pickle.BINGET + b"\x00.")
    assert "fetches memo index 0, where nothing was stored" in refusal(path)


def test_a_fifo_is_refused_at_once(tmp_path):
    """A FIFO with no writer blocked the reader forever."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "images.pickle"
    os.mkfifo(fifo)
    assert "is a FIFO (named pipe), not a regular file" in load_in_a_small_process(fifo, 30)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_before_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    assert "is a device, not a regular file" in load_in_a_small_process(device, 30)


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.pickle"
    with open(path, "wb") as f:
        f.truncate(8 * 2**30)  # 8 GiB of nothing: takes no disk, would take all memory
    message = load_in_a_small_process(path)
    assert "holds 8,589,934,592 bytes; an image file may hold at most 268,435,456" in message
    with open(path, "r+b") as f:
        f.truncate(image_files.MAX_FILE_BYTES + 1)  # one byte too many is too many
    assert "may hold at most" in refusal(path)


def test_a_file_that_says_it_is_empty_is_read_within_the_limit():
    """/proc's files report size 0 and hold more: they are read, within the limit."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc here")
    assert "is not a pickle file" in refusal("/proc/self/status")


def huge_integer_shape_pickle(references):
    """The CPU attack: an array state whose shape holds `references` references (through
    the memo) to one integer of 20,000 digits."""
    huge = 10**20000
    raw = huge.to_bytes((huge.bit_length() + 8) // 8, "little", signed=True)
    shape = (
        b"("
        + pickle.LONG4
        + struct.pack("<i", len(raw))
        + raw
        + pickle.BINPUT
        + b"\x00"
        + (pickle.BINGET + b"\x00") * (references - 1)
        + b"t"
    )
    return NUMPY1_PROTOCOL3.replace(b"(K\x01K\x01K\x02K\x02\x87q\x06", b"(K\x01" + shape)


def test_a_shape_of_many_huge_integers_is_refused_at_once(tmp_path):
    """A 20 KB pickle whose shape holds thousands of references to one huge integer kept
    the old size check busy for minutes and made a megabyte-long message."""
    data = huge_integer_shape_pickle(3000)
    assert 10_000 < len(data) < 30_000
    path = tmp_path / "shape.pickle"
    path.write_bytes(data)
    assert "LONG4" in load_in_a_small_process(path, timeout=30)
    # integers the reader does read are 32-bit, and a tuple holds at most MAX_TUPLE_ITEMS
    big = pickle.BININT + struct.pack("<i", 2**31 - 1)
    many = NUMPY1_PROTOCOL3.replace(b"K\x02K\x02\x87q\x06", b"K\x02K\x02" + big * 40 + b"tq\x06")
    many = many.replace(b"(K\x01K\x01K\x02", b"(K\x01(K\x01K\x02")
    assert "builds a tuple of 43 items" in refusal_of(many, tmp_path)
    sizes = NUMPY1_PROTOCOL3.replace(b"K\x01K\x02K\x02\x87", b"K\x01" + big + b"K\x02\x87")
    assert "shape (1, 2147483647, 2); expected" in refusal_of(sizes, tmp_path)


@pytest.mark.parametrize("opcode", ["NEWOBJ", "NEWOBJ_EX", "OBJ", "INST"])
def test_object_making_opcodes_are_refused_by_name(opcode, tmp_path):
    """NEWOBJ and kin on the allowed numpy.dtype made an object without its __init__,
    and an AttributeError escaped."""
    dtype = b"\x8c\x05numpy\x8c\x05dtype\x93"  # STACK_GLOBAL numpy.dtype
    data = {
        "NEWOBJ": b"\x80\x04" + dtype + b")\x81.",
        "NEWOBJ_EX": b"\x80\x04" + dtype + b"))\x92.",
        "OBJ": b"\x80\x02(cnumpy\ndtype\no.",
        "INST": b"\x80\x02(inumpy\ndtype\n.",
    }[opcode]
    assert [op.name for op, _, _ in pickletools.genops(data)].count(opcode) == 1
    message = refusal_of(data, tmp_path)
    assert f"uses the pickle opcode {opcode}" in message and "refused" in message


def test_nothing_one_file_does_changes_how_the_next_is_read(tmp_path):
    """BUILD with a __class__ slot state, applied to the shared stand-in for
    numpy.ndarray, changed it for the rest of the process."""
    good = tmp_path / "good.pickle"
    good.write_bytes(pickle.dumps(some_images(), protocol=2))
    as_slots = b"\x80\x02cnumpy\nndarray\nN}U\t__class__cnumpy\ndtype\ns\x86b."
    as_tuple = b"\x80\x02cnumpy\nndarray\nK\x01\x85b."
    on_dtype = NUMPY1_PROTOCOL3.replace(b"tq\x0cb", b"tq\x0cbh\x0cb")  # a second BUILD
    assert "EMPTY_DICT" in refusal_of(as_slots, tmp_path)
    assert "sets the state of 'numpy.ndarray'" in refusal_of(as_tuple, tmp_path)
    assert "sets the state of a _Dtype" in refusal_of(on_dtype, tmp_path)
    for _ in range(2):  # no state left behind: the good file still loads, every time
        assert np.array_equal(load_images(good), some_images())
        assert "sets the state of 'numpy.ndarray'" in refusal_of(as_tuple, tmp_path)


@pytest.mark.parametrize("code", [0xF0, 0x1234, 0x12345], ids=["EXT1", "EXT2", "EXT4"])
def test_copyreg_extension_codes_never_reach_their_global(code, tmp_path):
    """Once a process has registered an extension code and used it, EXT1/2/4 reached that
    global without ever asking find_class."""
    import builtins

    marker = tmp_path / "ran"
    copyreg.add_extension("builtins", "exec", code)
    try:
        data = pickle.dumps(Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"), 2)
        ext = [op.name for op, _, _ in pickletools.genops(data) if op.name.startswith("EXT")]
        assert ext == [{0xF0: "EXT1", 0x1234: "EXT2", 0x12345: "EXT4"}[code]]
        assert_live(data, marker)  # registered and used: now in copyreg's cache
        message = refusal_of(data, tmp_path)
        assert f"uses the pickle opcode {ext[0]}" in message
        assert not marker.exists()
    finally:
        copyreg.remove_extension("builtins", "exec", code)


def stack_global_pickle(module, name):
    """Protocol 4: STACK_GLOBAL module.name, the names given as BINUNICODE strings."""

    def text(s):
        return (
            b"X"
            + struct.pack("<I", len(s.encode("utf-8", "surrogatepass")))
            + s.encode("utf-8", "surrogatepass")
        )

    return b"\x80\x04" + text(module) + text(name) + b"\x93)R."


@pytest.mark.parametrize(
    "module, name",
    [
        ("os\nFAKE LINE", "system"),
        ("\x1b[31mnumpy\x1b[0m", "dtype"),
        ("numpy", "\u202edtype"),  # right-to-left override
        ("numpy\u2066", "\u200fndarray"),
        ("\x00\x07\x08\r", "x"),
    ],
)
def test_messages_escape_what_comes_from_the_file(module, name, tmp_path):
    message = refusal_of(stack_global_pickle(module, name), tmp_path)
    assert message.isprintable(), message
    assert repr(f"{module}.{name}") in message  # escaped as repr escapes it, and visible


def test_messages_quote_only_a_short_excerpt(tmp_path):
    big = "numpy" + "A" * 20_000_000  # a 20 MB name
    message = refusal_of(stack_global_pickle(big, "dtype"), tmp_path)
    assert "'numpyAAAA" in message and "(20,000,005 in all)" in message
    assert "two strings of at most 256 bytes" in message and len(message) < 400
    for code in ("U" + "7" * 5_000_000, "f8\n\x1b[2J"):  # a type code, 5 MB or hostile
        data = NUMPY1_PROTOCOL3.replace(
            b"X\x02\x00\x00\x00f8", b"X" + struct.pack("<I", len(code)) + code.encode()
        )
        message = refusal_of(data, tmp_path)
        assert "holds an array of the type" in message and message.isprintable()


def test_a_path_that_a_terminal_would_act_on_is_escaped(tmp_path):
    path = tmp_path / "images\n\x1b[2J.pickle"
    path.write_bytes(b"junk")
    with pytest.raises(ImageFileError) as caught:
        load_images(path)
    message = str(caught.value)
    assert message.startswith(repr(str(path)) + ": ") and message.isprintable()


@pytest.mark.filterwarnings("ignore:numpy.core.numeric is deprecated:DeprecationWarning")
@pytest.mark.parametrize("version", ["numpy2", "numpy1"])
def test_a_good_file_numpy_2_protocol_5_of_a_transposed_array_loads(version, tmp_path):
    """NumPy 2's protocol-5 pickle of a permuted array (neither C nor Fortran order) calls
    _frombuffer(buf, dtype, shape, "K", axis_order), five arguments; the old reader
    refused it."""
    images = some_images(5)
    transposed = np.ascontiguousarray(images.transpose(1, 0, 2)).transpose(1, 0, 2)
    assert not (transposed.flags.c_contiguous or transposed.flags.f_contiguous)
    data = pickle.dumps(transposed, protocol=5)
    if b"\x8c\x01K" not in data:  # the "K" order: NumPy 2.1 and later
        pytest.skip(f"NumPy {np.__version__} pickles this array another way")
    if version == "numpy1":  # the same call under NumPy 1.x's module name, a byte shorter
        data = data.replace(b"\x8c\x13numpy._core.numeric", b"\x8c\x12numpy.core.numeric")
        assert data[2] == pickle.FRAME[0]  # so the frame that holds it is a byte shorter
        data = data[:3] + struct.pack("<Q", struct.unpack("<Q", data[3:11])[0] - 1) + data[11:]
    path = tmp_path / "transposed.pickle"
    path.write_bytes(data)
    assert np.array_equal(load_images(path), images)
    assert np.array_equal(pickle.loads(data), images)  # what NumPy makes of the same bytes


# ------------------------------------------------------------------ broken files


def pickled(obj):
    return pickle.dumps(obj, protocol=4)


BROKEN = {
    "empty": (b"", "is empty"),
    "truncated": (pickled(some_images())[:500], "truncated"),
    "cut at the end": (pickled(some_images())[:-1], "truncated"),
    "not a pickle": (b"# a text file\n", "is not a pickle file"),
    "a PBM image": (b"P1\n15 15\n0 1 0\n", "is not a pickle file"),
    "text with a pickle-like start": (b"(this is not a pickle", "is not a pickle file"),
    "protocol 0": (pickle.dumps(some_images(), protocol=0), "is not a pickle file of protocol 2"),
    "protocol 1": (pickle.dumps(some_images(), protocol=1), "is not a pickle file of protocol 2"),
    "npy file": (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", "npy file"),
    "two objects": (pickled(some_images()) + pickled(some_images()), "stray bytes"),
    "a dict": (pickled({"images": [1, 2]}), "EMPTY_DICT"),
    "a list of images": (pickled(some_images().tolist()), "EMPTY_LIST"),
    "a number": (pickled(7), "holds 7, not a NumPy array"),
    "a tuple": (pickled((1, 2)), "holds a tuple of 2, not a NumPy array"),
    "None": (pickled(None), "holds None, not a NumPy array"),
    "complex numbers": (pickled(some_images().astype(complex)), "the type 'c16', not one of"),
    "booleans": (pickled(some_images() > 100), "the type 'b1', not one of"),
    "strings": (pickled(np.full((1, 15, 15), "7")), "the type 'U1', not one of"),
    "flattened images": (pickled(some_images().reshape(3, 225)), "(3, 225); expected (N, 15, 15)"),
    "wrong size": (pickled(some_images()[:, :, :14]), "shape (3, 15, 14)"),
    "one image without its batch axis": (pickled(some_images()[0]), "shape (15, 15)"),
    "four axes": (pickled(some_images()[None]), "shape (1, 3, 15, 15)"),
    "no images": (pickled(np.zeros((0, 15, 15))), "holds no images"),
    "no images, protocol 2": (pickle.dumps(np.zeros((0, 15, 15)), 2), "holds no images"),
    "NaN": (pickled(np.where(np.eye(15) > 0, np.nan, 1.0)[None]), "15 pixel values that are NaN"),
    "infinity": (pickled(np.full((2, 15, 15), np.inf)), "450 pixel values that are NaN or inf"),
    "negative": (pickled(some_images() - 1), "from -1 to 254; they must lie within 0..255"),
    "too bright": (pickled(some_images() + 1), "from 1 to 256; they must lie within 0..255"),
    "binary junk": (bytes(range(200, 256)), "is not a pickle file"),
    # an object array's items are pointers: raw bytes read as pointers could crash or worse
    "object array from raw bytes, protocol 3": (
        pickle.dumps(some_images(), 3).replace(b"X\x02\x00\x00\x00f8", b"X\x02\x00\x00\x00O8"),
        "the type 'O8', not one of",
    ),
    "object array from raw bytes, protocol 5": (
        pickle.dumps(some_images(), protocol=5).replace(b"\x8c\x02f8", b"\x8c\x02O8"),
        "the type 'O8', not one of",
    ),
    "object array": (pickled(some_images(1).astype(object)), "the type 'O8', not one of"),
    "record array": (pickled(np.zeros((1, 15, 15), dtype=[("a", "f8")])), "the type 'V8'"),
    "a type string NumPy lacks": (
        pickled(some_images()).replace(b"\x8c\x02f8", b"\x8c\x02f9"),
        "the type 'f9', not one of",
    ),
    "data too short for the shape": (
        pickled(some_images()).replace(b"K\x03K\x0fK\x0f", b"K\x04K\x0fK\x0f"),
        "holds 5,400 bytes of data for an array of shape (4, 15, 15) and type <f8, which needs "
        "7,200",
    ),
    "a dtype state with fields": (
        pickled(some_images()).replace(b"\x8c\x01<\x94NNN", b"\x8c\x01<\x94N)N"),
        "gives numpy.dtype('f8') a state that NumPy never writes for it",
    ),
    "a protocol from the future": (b"\x80\x06N.", "is a pickle of protocol 6"),
    "not UTF-8": (b"\x80\x04\x8c\x02\xff\xfe.", "holds text that is not UTF-8"),
    "opcode after the header is junk": (b"\x80\x02\xff.", "byte 0xff at offset 2 is no pickle"),
    "a MARK never closed": (b"\x80\x02(N.", "ends with 1 values on the pickle stack"),
    "too many MARKs": (b"\x80\x02" + b"(" * 5 + b".", "opens more than 4 MARKs at once"),
    "a stack too deep": (b"\x80\x02" + b"N" * 65 + b".", "more than 64 values on the pickle"),
    "too many opcodes": (b"\x80\x02" + b"N0" * 600 + b"N.", "POP"),
    "too many allowed opcodes": (b"\x80\x02N" + b"q\x00" * 1000 + b".", "more than 1000 pickle"),
    "tuples nested three deep": (b"\x80\x02N\x85\x85\x85.", "nests tuples more than two deep"),
    "pop from an empty stack": (b"\x80\x02\x85.", "takes a value from an empty pickle stack"),
    "a frame longer than the file": (
        b"\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.",
        "a frame runs past its end",
    ),
    "a global name without its newline": (b"\x80\x02cnumpy" + b"x" * 300, "without the newline"),
    "protocol 5 out-of-band buffer": (b"\x80\x05\x97.", "NEXT_BUFFER"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_files_are_refused_with_the_file_named(case, tmp_path):
    data, expected = BROKEN[case]
    message = refusal_of(data, tmp_path)
    assert expected in message


def test_a_missing_file_and_a_folder_are_refused(tmp_path):
    assert refusal(tmp_path / "nowhere.pickle") == f"{tmp_path / 'nowhere.pickle'}: no such file"
    assert refusal(tmp_path) == f"{tmp_path}: is a folder, not a file of images"
    (tmp_path / "a_file").write_bytes(b"")
    assert "cannot be read" in refusal(tmp_path / "a_file" / "below")


# ------------------------------------------------------------------------ fuzzing


def fuzz_cases(seed, count):
    """Mutations of valid pickles of every protocol: byte flips, insertions, deletions,
    truncations and repeated spans, aimed mostly at the opcodes (not the pixel bytes)."""
    rng = np.random.default_rng(seed)
    images = some_images(2).astype(np.uint8)  # small pixel data: the opcodes are the target
    bases = [
        pickle.dumps(a, protocol=p)
        for p in (2, 3, 4, 5)
        for a in (images, images.astype(np.float64) / 2, np.asfortranarray(images))
    ]
    for _ in range(count):
        data = bytearray(bases[rng.integers(len(bases))])
        for _ in range(rng.integers(1, 4)):
            head = max(1, min(len(data), 160))  # the opcodes before the pixels
            at = int(rng.integers(head if rng.random() < 0.8 else max(len(data), 1)))
            kind = rng.integers(5)
            if kind == 0 and at < len(data):  # flip to a random byte
                data[at] = rng.integers(256)
            elif kind == 1:  # insert random bytes
                data[at:at] = rng.integers(0, 256, rng.integers(1, 9), dtype=np.uint8).tobytes()
            elif kind == 2:  # delete a span
                del data[at : at + rng.integers(1, 9)]
            elif kind == 3:  # truncate
                del data[at:]
            else:  # repeat a span
                data[at:at] = data[at : at + rng.integers(1, 17)]
        yield bytes(data)


def test_fuzzed_pickles_load_or_are_refused_in_one_line(tmp_path):
    """4000 seeded mutations: each loads an array of images (the same one plain pickle
    makes of it) or is refused with a one-line ImageFileError; nothing else escapes.
    Each case must finish within 2 s (they take about 0.1 ms): a bound for hangs."""
    import time

    path = tmp_path / "fuzzed.pickle"
    loaded = refused = 0
    for case, data in enumerate(fuzz_cases(seed=2026, count=4000)):
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            images = load_images(path)
        except ImageFileError as e:
            message = str(e)
            assert message.startswith(f"{path}: ") and "\n" not in message, (case, message)
            assert len(message) < len(str(path)) + 300 and message.isprintable(), (case, message)
            refused += 1
        else:
            assert images.ndim == 3 and images.shape[1:] == (15, 15) and len(images) >= 1
            assert images.dtype == np.float64 and 0 <= images.min() and images.max() <= 255
            # accepted, so only allowed opcodes and globals: plain pickle is safe to ask
            assert_same_array(described(data), reference(data))
            loaded += 1
        assert time.perf_counter() - start < 2.0, (case, data)
    assert loaded > 50 and refused > 3000, (loaded, refused)  # both paths are exercised


def test_a_path_longer_than_the_system_allows_is_quoted_by_its_two_ends(tmp_path):
    path = str(tmp_path / ("d" * 200)) * 30  # 6,000 characters and more
    with pytest.raises(ImageFileError) as caught:
        load_images(path)
    message = str(caught.value)
    assert len(message) < report.MAX_PATH + 100 and "..." in message, message
    assert message.startswith(path[:40]) and "cannot be read (File name too long)" in message
    assert report.shown(path[: report.MAX_PATH]) == path[: report.MAX_PATH]  # at the limit
    assert len(report.shown(path[: report.MAX_PATH + 1])) == report.MAX_PATH

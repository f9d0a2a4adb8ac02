"""The shipped image files, the tool that makes them, and utils.load_images."""

import importlib.util
import os
import pathlib
import pickle
import pickletools
import subprocess

import numpy as np
import pytest

import utils

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRAIN_FILE = ROOT / "images_train.pickle"
TEST_FILE = ROOT / "images_test.pickle"


def load_tool():
    """tools/make_images.py as a module (it imports scikit-learn only inside build())."""
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "tools" / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_images = load_tool()


def some_images(n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 15, 15)).astype(np.float64)


# ---------------------------------------------------------------- the shipped files


def test_shipped_files_load_with_the_course_shapes():
    train, test = utils.load_images(TRAIN_FILE), utils.load_images(TEST_FILE)
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
        assert pickle.loads(data).dtype == np.float64  # plain NumPy reads it too


def test_test_images_are_not_training_images():
    train, test = utils.load_images(TRAIN_FILE), utils.load_images(TEST_FILE)
    train_set = {image.tobytes() for image in train}
    assert len(train_set) == len(train)  # no training image twice, either
    assert not any(image.tobytes() in train_set for image in test)
    assert len({image.tobytes() for image in test}) == len(test)


def test_glyphs_are_sized_and_placed_like_the_course():
    """Bright digits 8 to 11 pixels tall on a black background, inside the frame."""
    images = np.concatenate([utils.load_images(TRAIN_FILE), utils.load_images(TEST_FILE)])
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


def test_the_tool_writes_numpy_1_bytes():
    """course_pickle gives the very bytes NumPy 1.26.4 wrote for the same array."""
    small = np.array([[[0.0, 255.0], [17.0, 3.5]]])
    assert make_images.course_pickle(small) == NUMPY1_PICKLES[3]


def test_the_tool_rebuilds_the_shipped_files_byte_for_byte():
    pytest.importorskip("sklearn", reason="rebuilding the data needs scikit-learn (tools/requirements.txt)")
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

# What NumPy 1.26.4 wrote for pickle.dumps(np.array([[[0., 255.], [17., 3.5]]]), protocol=p).
NUMPY1_PICKLES = {
    2: b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02"
    b"c_codecs\nencode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07"
    b"\x87q\x08Rq\t(K\x01K\x01K\x02K\x02\x87q\ncnumpy\ndtype\nq\x0bX\x02\x00\x00\x00f8q\x0c\x89"
    b"\x88\x87q\rRq\x0e(K\x03X\x01\x00\x00\x00<q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq"
    b"\x10b\x89h\x03X!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3\xa0o@"
    b"\x00\x00\x00\x00\x00\x001@\x00\x00\x00\x00\x00\x00\x0c@q\x11h\x05\x86q\x12Rq\x13tq\x14b.",
    3: b"\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02"
    b"C\x01bq\x03\x87q\x04Rq\x05(K\x01K\x01K\x02K\x02\x87q\x06cnumpy\ndtype\nq\x07X\x02\x00\x00"
    b"\x00f8q\x08\x89\x88\x87q\tRq\n(K\x03X\x01\x00\x00\x00<q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff"
    b"\xff\xffK\x00tq\x0cb\x89C \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe0o@\x00"
    b"\x00\x00\x00\x00\x001@\x00\x00\x00\x00\x00\x00\x0c@q\rtq\x0eb.",
}


def as_numpy1(data):
    """A protocol 2 or 3 pickle of an array, with NumPy 1.x's name for the reconstructor."""
    return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


@pytest.mark.parametrize("protocol", [2, 3])
def test_numpy1_pickles_load(protocol, tmp_path):
    small = np.array([[[0.0, 255.0], [17.0, 3.5]]])
    # NumPy 1.x wrote the same bytes as this NumPy but for the module's name ...
    assert as_numpy1(pickle.dumps(small, protocol=protocol)) == NUMPY1_PICKLES[protocol]
    # ... so a file of 15 x 15 images written by NumPy 1.x is these bytes
    images = some_images()
    path = tmp_path / "numpy1.pickle"
    path.write_bytes(as_numpy1(pickle.dumps(images, protocol=protocol)))
    assert b"numpy.core.multiarray" in path.read_bytes()
    assert np.array_equal(utils.load_images(path), images)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int64, ">f8", ">i2"])
def test_every_protocol_and_numeric_dtype_loads(protocol, dtype, tmp_path):
    images = some_images(4).astype(dtype)
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(images, protocol=protocol))
    loaded = utils.load_images(path)
    assert loaded.dtype == np.float64
    assert np.array_equal(loaded, images.astype(np.float64))


def test_a_fortran_ordered_array_loads(tmp_path):
    images = np.asfortranarray(some_images(2))  # pickled through another path in protocol 5
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(images, protocol=5))
    assert np.array_equal(utils.load_images(path), images)


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


@pytest.mark.parametrize("name", ["os.system", "builtins.exec", "subprocess.call", "subprocess.Popen", "numpy runstring"])
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_hostile_pickles_are_refused_and_do_not_run(name, protocol, tmp_path):
    marker = tmp_path / "ran"
    payload = hostile_payloads(marker)[name]
    data = pickle.dumps(payload, protocol=protocol)

    # the payload is live: plain pickle runs it
    result = pickle.loads(data)
    if isinstance(result, subprocess.Popen):
        result.wait()
    assert marker.exists(), "the control failed: this payload does not run under pickle.load"
    marker.unlink()

    # inside an innocent-looking array file, too
    for blob in (data, pickle.dumps([some_images(1), payload], protocol=protocol)):
        path = tmp_path / "hostile.pickle"
        path.write_bytes(blob)
        with pytest.raises(utils.ImageFileError, match="refused") as caught:
            utils.load_images(path)
        assert str(caught.value).startswith(f"{path}: ")
        assert not marker.exists(), f"the {name} payload ran"


def raw_global_pickle(module, name, *args):
    """A protocol-0 pickle calling module.name(*args) (string arguments), written by hand."""
    arg_ops = b"".join(b"V" + a.encode() + b"\n" for a in args)
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n(" + arg_ops + b"tR."


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
    ],
)
def test_globals_off_the_allowlist_are_refused(module, name, tmp_path):
    path = tmp_path / "global.pickle"
    path.write_bytes(raw_global_pickle(module, name, "x"))
    with pytest.raises(utils.ImageFileError, match=f"refused: the pickle asks for {module}.{name}"):
        utils.load_images(path)


def test_codecs_encode_admits_latin1_only(tmp_path):
    """Protocol 2 needs _codecs.encode(text, 'latin1'); no other codec is let through."""
    path = tmp_path / "codec.pickle"
    path.write_bytes(raw_global_pickle("_codecs", "encode", "eA==", "base64"))
    with pytest.raises(utils.ImageFileError, match="refused"):
        utils.load_images(path)


# ------------------------------------------------------------------ broken files


def pickled(obj):
    return pickle.dumps(obj, protocol=4)


BROKEN = {
    "empty": (b"", "is empty"),
    "truncated": (pickled(some_images())[:500], "truncated"),
    "cut at the end": (pickled(some_images())[:-1], "truncated"),
    "not a pickle": (b"# a text file\n", "is not a pickle file"),
    "a PBM image": (b"P1\n15 15\n0 1 0\n", "not a readable pickle"),
    "text with a pickle-like start": (b"(this is not a pickle", "not a readable pickle"),
    "npy file": (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", "npy file"),
    "two objects": (pickled(some_images()) + pickled(some_images()), "stray bytes"),
    "a dict": (pickled({"images": [1, 2]}), "holds a dict, not a NumPy array"),
    "a list of images": (pickled(some_images().tolist()), "holds a list"),
    "complex numbers": (pickled(some_images().astype(complex)), "complex128, not of real numbers"),
    "booleans": (pickled(some_images() > 100), "bool, not of real numbers"),
    "strings": (pickled(np.full((1, 15, 15), "7")), "numpy.dtype('U1'), a dtype that is not a plain number type"),
    "flattened images": (pickled(some_images().reshape(3, 225)), "shape (3, 225); expected (N, 15, 15)"),
    "wrong size": (pickled(some_images()[:, :, :14]), "shape (3, 15, 14)"),
    "one image without its batch axis": (pickled(some_images()[0]), "shape (15, 15)"),
    "four axes": (pickled(some_images()[None]), "shape (1, 3, 15, 15)"),
    "no images": (pickled(np.zeros((0, 15, 15))), "holds no images"),
    "NaN": (pickled(np.where(np.eye(15) > 0, np.nan, 1.0)[None]), "15 pixel values that are NaN or infinite"),
    "infinity": (pickled(np.full((2, 15, 15), np.inf)), "450 pixel values that are NaN or infinite"),
    "negative": (pickled(some_images() - 1), "from -1 to 254; they must lie within 0..255"),
    "too bright": (pickled(some_images() + 1), "from 1 to 256; they must lie within 0..255"),
    "binary junk": (bytes(range(200, 256)), "is not a pickle file"),
    # an object array's items are pointers: raw bytes read as pointers could crash or worse
    "object array from raw bytes, protocol 3": (
        pickle.dumps(some_images(), protocol=3).replace(b"X\x02\x00\x00\x00f8", b"X\x02\x00\x00\x00O8"),
        "refused: the pickle asks for numpy.dtype('O8'",
    ),
    "object array from raw bytes, protocol 5": (
        pickle.dumps(some_images(), protocol=5).replace(b"\x8c\x02f8", b"\x8c\x02O8"),
        "refused: the pickle asks for numpy.dtype('O8'",
    ),
    "object array": (pickled(some_images(1).astype(object)), "numpy.dtype('O8'), a dtype that is not a plain number type"),
    "record array": (pickled(np.zeros((1, 15, 15), dtype=[("a", "f8")])), "numpy.dtype('V8'), a dtype that is not"),
    "a type string NumPy lacks": (pickled(some_images()).replace(b"\x8c\x02f8", b"\x8c\x02f9"), "not a readable pickle"),
    "data too short for the shape": (pickled(some_images()).replace(b"K\x03K\x0fK\x0f", b"K\x04K\x0fK\x0f"), "5400 bytes of data for an array of shape (4, 15, 15)"),
    "a dtype state with fields": (
        pickled(some_images()).replace(b"\x8c\x01<\x94NNN", b"\x8c\x01<\x94N)N"), "a dtype state that no plain number type has"
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_files_are_refused_with_the_file_named(case, tmp_path):
    data, expected = BROKEN[case]
    path = tmp_path / "images.pickle"
    path.write_bytes(data)
    with pytest.raises(utils.ImageFileError) as caught:
        utils.load_images(path)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message


def test_a_missing_file_and_a_folder_are_refused(tmp_path):
    missing = tmp_path / "nowhere.pickle"
    with pytest.raises(utils.ImageFileError, match=f"^{missing}: no such file$"):
        utils.load_images(missing)
    with pytest.raises(utils.ImageFileError, match=f"^{tmp_path}: is a folder, not a file of images$"):
        utils.load_images(tmp_path)


def test_load_images_returns_a_fresh_writable_copy(tmp_path):
    images = some_images().astype(np.uint8)
    path = tmp_path / "images.pickle"
    path.write_bytes(pickle.dumps(images, protocol=5))  # protocol 5 rebuilds from a read-only buffer
    loaded = utils.load_images(path)
    loaded[0, 0, 0] = 9.0  # would fail on a read-only array
    assert loaded.flags.c_contiguous

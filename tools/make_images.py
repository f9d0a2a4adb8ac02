"""Rebuild images_train.pickle and images_test.pickle from real handwritten digits.

Run from the project root, with no arguments:

    python tools/make_images.py

It needs scikit-learn installed (tools/requirements.txt) for the UCI handwritten digits it
ships, the file `sklearn.datasets.load_digits` reads, which this tool reads itself (no
scikit-learn code runs, nothing is downloaded). Only this tool needs it; the program does not.

The 1797 UCI digits are 8 x 8 images of 17 gray levels (0..16), white on black, each
digit filling the frame's height. Every one used here is resampled to a random height of
9, 10 or 11 pixels (bilinear, in exact arithmetic), scaled to 0..255, and placed near the
middle of a black 15 x 15 frame with a random shift of up to one pixel each way: the
course's own images are digits of that size in a frame of that size.

- images_train.pickle: 1000 images, (1000, 15, 15) float64, values 0..255.
- images_test.pickle: 20 images, (20, 15, 15): two of each digit, in the order
  0, 0, 1, 1, ..., 9, 9; none of them is one of the training images.

Both are written as the course's files were: pickle protocol 3, with the module names of
NumPy 1.x, so that any NumPy, old or new, reads them. A fixed seed makes every run
rebuild both files byte for byte.
"""

import importlib.util
import pathlib
import pickle
import pickletools
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from utils import SIDE  # noqa: E402  (15: one definition, the network's)

SEED = 2020
N_TRAIN = 1000
TEST_PER_DIGIT = 2
HEIGHTS = (9, 10, 11)  # the glyph's height in pixels
MAX_SHIFT = 1  # pixels, each way, from the centred position
TRAIN_FILE = ROOT / "images_train.pickle"
TEST_FILE = ROOT / "images_test.pickle"


def bilinear_weights(n_in, n_out):
    """Resampling from n_in to n_out samples by linear interpolation between pixel centres
    (edges held), in whole numbers: (W, den) such that W @ v / den resamples v.

    Output pixel i is centred at (i + 1/2) n_in / n_out - 1/2 input pixels, which is
    ((2i + 1) n_in - n_out) / den with den = 2 n_out: a whole number over den. Exact
    arithmetic keeps every rounding the same on every machine (many pixels land exactly
    on a half, where a float computed in another order could round the other way).
    """
    den = 2 * n_out
    centres = np.clip((2 * np.arange(n_out) + 1) * n_in - n_out, 0, (n_in - 1) * den)  # times den
    left = centres // den
    right = np.minimum(left + 1, n_in - 1)
    frac = centres - left * den  # the weight of `right`, times den
    w = np.zeros((n_out, n_in), dtype=np.int64)
    rows = np.arange(n_out)
    np.add.at(w, (rows, left), den - frac)
    np.add.at(w, (rows, right), frac)
    return w, den


def render(digit, height, shift_y, shift_x):
    """One 8 x 8 UCI digit (whole numbers 0..16) as a 15 x 15 image (whole numbers 0..255)."""
    w, den = bilinear_weights(digit.shape[0], height)
    glyph = w @ digit.astype(np.int64) @ w.T  # the resampled digit, times den ** 2
    # pixel = glyph * 255 / (16 den^2), rounded half up, in whole numbers
    scale = 16 * den * den
    glyph = (2 * 255 * glyph + scale) // (2 * scale)
    top = np.clip((SIDE - height) // 2 + shift_y, 0, SIDE - height)
    left = np.clip((SIDE - height) // 2 + shift_x, 0, SIDE - height)
    image = np.zeros((SIDE, SIDE))
    image[top : top + height, left : left + height] = glyph
    return image


def choose(labels, rng):
    """Indices of the test digits (two of each, in label order) and of the training
    digits (the next N_TRAIN of a random order, none of them a test digit)."""
    order = rng.permutation(len(labels))
    test = [i for d in range(10) for i in order[labels[order] == d][:TEST_PER_DIGIT]]
    taken = set(test)
    train = [i for i in order if i not in taken][:N_TRAIN]
    return np.array(train), np.array(test)


def uci_digits():
    """The 1797 UCI digits (8 x 8, 0..16) and their labels, from the file scikit-learn ships
    (what sklearn.datasets.load_digits reads), read without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        sys.exit(
            "make_images.py: scikit-learn is not installed: pip install -r tools/requirements.txt"
        )
    path = pathlib.Path(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


def build():
    """(train_images, test_images, test_labels), made afresh from the UCI digits."""
    images, labels = uci_digits()
    rng = np.random.default_rng(SEED)
    train_idx, test_idx = choose(labels, rng)

    def render_all(indices):
        shifts = (-MAX_SHIFT, MAX_SHIFT + 1)
        return np.array(
            [render(images[i], rng.choice(HEIGHTS), *rng.integers(*shifts, 2)) for i in indices]
        )

    return render_all(train_idx), render_all(test_idx), labels[test_idx]


def course_pickle(images):
    """The bytes of `images` pickled as the course's files were: protocol 3, NumPy 1.x.

    NumPy 2 names its array reconstructor numpy._core.multiarray._reconstruct; NumPy 1.x
    named it numpy.core.multiarray._reconstruct, and NumPy 2 still reads that name. In
    protocol 3 a global is written as the text of its module and name, so renaming it is
    a change of those bytes alone; the result is the byte string NumPy 1.x writes.
    """
    data = pickle.dumps(np.ascontiguousarray(images, dtype=np.float64), protocol=3)
    data = data.replace(
        b"cnumpy._core.multiarray\n_reconstruct\n", b"cnumpy.core.multiarray\n_reconstruct\n"
    )
    found = {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}
    expected = {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    assert found == expected, f"unexpected pickle globals: {sorted(found)}"
    return data


def main():
    train, test, test_labels = build()
    for path, images in ((TRAIN_FILE, train), (TEST_FILE, test)):
        path.write_bytes(course_pickle(images))
        print(f"wrote {path.name}: {images.shape[0]} images")
    print("test digits:", " ".join(str(d) for d in test_labels))


if __name__ == "__main__":
    sys.exit(main())

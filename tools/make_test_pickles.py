"""Write tests/pickles/: one image array pickled every way the reader must accept.

    python tools/make_test_pickles.py

Run it once under NumPy 1.x and once under NumPy 2.x (for one, in a virtual environment
with `pip install numpy==1.26.4`); each run adds the files of its own NumPy version:

    tests/pickles/numpy<version>-protocol<p>-<layout>.pickle

for pickle protocols 2 to 5 and three memory layouts of the same array, `EXPECTED`:
C order, Fortran order, and a permuted one (C order for axes (1, 0, 2), which NumPy 2.1+
pickles with protocol 5 as `_frombuffer(..., "K", axis_order)`). The tests check that each
file loads equal to `EXPECTED`, so the files are real NumPy output, not imitations.
"""

import pathlib
import pickle

import numpy as np

FOLDER = pathlib.Path(__file__).resolve().parent.parent / "tests" / "pickles"
EXPECTED = (np.arange(2 * 15 * 15) % 256).reshape(2, 15, 15).astype(np.float64)
LAYOUTS = {
    "C": EXPECTED,
    "F": np.asfortranarray(EXPECTED),
    "permuted": np.ascontiguousarray(EXPECTED.transpose(1, 0, 2)).transpose(1, 0, 2),
}


def main():
    FOLDER.mkdir(exist_ok=True)
    for layout, array in LAYOUTS.items():
        assert np.array_equal(array, EXPECTED)
        for protocol in (2, 3, 4, 5):
            name = f"numpy{np.__version__}-protocol{protocol}-{layout}.pickle"
            (FOLDER / name).write_bytes(pickle.dumps(array, protocol=protocol))
            print("wrote", FOLDER / name)


if __name__ == "__main__":
    main()

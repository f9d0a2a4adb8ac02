"""AutoEncNetLite's math as plain NumPy functions.

AutoEncNetLite is the small autoencoder of "Introduction to Deep Learning", Homework II:
15 x 15 gray images, flattened to D = 225 inputs, pass through four layers and come back
as 225 outputs (the names are those of the project's spec and of README.md):

    Layer_in:   a_in   = x @ w_in.T + b_in            z_in   = ReLU(a_in)     (N, 75)
    Layer_rec:  a_rec  = z_in @ w_rec.T + b_rec       z_rec  = ReLU(a_rec)    (N, 75)
    Layer_link: x_reduce = reduce3(x)                 z_link = a_link = x_reduce @ w_link.T
    Layer_out:  z_sum  = z_rec + z_link
                a_out  = z_sum @ w_out.T + b_out      y      = ReLU(a_out)    (N, 225)

    loss        L = sum((y - x) ** 2)      over every image of the batch and every pixel

A batch holds one image per row: x has shape (N, 225) for any N >= 1. Weights are stored
(out, in), as in the course template, so a layer is `inputs @ w.T + b`.

`backprop` is written by hand as the mirror image of `forward`: each of its steps carries
the forward equation it differentiates. The tests check every derivative against central
differences.

Left out on purpose: classes, autograd, optimisers other than plain SGD, and anything
that draws: this module imports NumPy and the standard library only, so the math can be
read and tested without a plotting stack. Reading the image files is here too
(`load_images`), because a pickle must be read with care.
"""

import io
import math
import os
import pickle
import re

import numpy as np

SIDE = 15  # images are SIDE x SIDE pixels
D = SIDE * SIDE  # 225 inputs and outputs
P = D // 3  # 75 hidden units

TRAINED = ("w_in", "b_in", "w_link", "w_out", "b_out")  # what SGD updates and backprop returns
PARAMS = ("w_in", "b_in", "w_rec", "b_rec", "w_link", "w_out", "b_out")


# ----------------------------------------------------------------------------- init


def xavier_uniform(rng, n_out, n_in):
    """(n_out, n_in) weights drawn from U(-l, l), l = sqrt(6 / (n_in + n_out)) (Glorot)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_out, n_in))


def init(rng=None):
    """The network's seven parameters, initialised as the spec says.

    rng: a numpy.random.Generator, or an int seed. None means seed 0, so that a bare
         init() gives the same network every time.
    Returns a dict of float64 arrays:
        w_in (75, 225), w_link (75, 75), w_out (225, 75): Xavier uniform, drawn in that order;
        w_rec (75, 75): the identity; b_in (1, 75), b_rec (1, 75), b_out (1, 225): zeros.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    w_in = xavier_uniform(rng, P, D)
    w_link = xavier_uniform(rng, P, P)
    w_out = xavier_uniform(rng, D, P)
    return {
        "w_in": w_in,
        "b_in": np.zeros((1, P)),
        "w_rec": np.eye(P),
        "b_rec": np.zeros((1, P)),
        "w_link": w_link,
        "w_out": w_out,
        "b_out": np.zeros((1, D)),
    }


# -------------------------------------------------------------------------- forward


def relu(a):
    """ReLU(a) = max(a, 0), elementwise. Its derivative is 1 where a > 0, else 0."""
    return np.maximum(a, 0.0)


def reduce3(x):
    """(N, 225) -> (N, 75): the mean of each three consecutive pixels.

    As 15 is a multiple of 3, this is 1 x 3 average pooling along every image row.
    It has no parameters, and x needs no gradient, so backprop never goes through it.
    """
    return (x[:, 0::3] + x[:, 1::3] + x[:, 2::3]) / 3.0  # pixels 3k, 3k+1, 3k+2 -> output k


def forward_in_scalar(x, w_in, b_in):
    """Layer_in in scalar form: z_in = ReLU(x @ w_in.T + b_in), one multiply-add at a time.

    x: (N, 225), w_in: (75, 225), b_in: (1, 75). Returns z_in: (N, 75).

    Plain Python loops over images, units and pixels; the arrays are turned into Python
    lists first, so no NumPy operation does any of the arithmetic. It exists to be timed
    against `forward_in_vector`.
    """
    x_rows, w_rows, biases = x.tolist(), w_in.tolist(), b_in[0].tolist()
    z_in = []
    for x_row in x_rows:  # each image n
        z_row = []
        for w_row, bias in zip(w_rows, biases, strict=True):  # each hidden unit p
            a = bias
            for x_d, w_d in zip(x_row, w_row, strict=True):  # each pixel d
                a += x_d * w_d  # a_in[n, p] = b_in[p] + sum_d x[n, d] * w_in[p, d]
            z_row.append(a if a > 0.0 else 0.0)  # z_in[n, p] = ReLU(a_in[n, p])
        z_in.append(z_row)
    return np.array(z_in, dtype=np.float64).reshape(len(x_rows), len(w_rows))


def forward_in_vector(x, w_in, b_in):
    """Layer_in in vector form: z_in = ReLU(x @ w_in.T + b_in), one matrix product.

    x: (N, 225) for any N >= 1, w_in: (75, 225), b_in: (1, 75), broadcast over the
    batch. Returns z_in: (N, 75).
    """
    return relu(x @ w_in.T + b_in)


def forward(params, x):
    """All four layers in vector form.

    params: the dict of `init`; x: (N, 225), values in [0, 1].
    Returns (y, cache): the reconstruction y (N, 225), and a dict of what backprop needs
    (x and every intermediate array, by its name in the equations above).
    """
    # Layer_in
    a_in = x @ params["w_in"].T + params["b_in"]  # (N, 75)
    z_in = relu(a_in)
    # Layer_rec (not trained)
    a_rec = z_in @ params["w_rec"].T + params["b_rec"]  # (N, 75)
    z_rec = relu(a_rec)
    # Layer_link: no bias, identity activation
    x_reduce = reduce3(x)  # (N, 75)
    a_link = x_reduce @ params["w_link"].T  # (N, 75)
    z_link = a_link
    # Layer_out
    z_sum = z_rec + z_link  # (N, 75)
    a_out = z_sum @ params["w_out"].T + params["b_out"]  # (N, 225)
    y = relu(a_out)
    cache = {
        "x": x, "a_in": a_in, "a_rec": a_rec, "x_reduce": x_reduce,
        "z_sum": z_sum, "a_out": a_out, "y": y,
    }  # fmt: skip
    return y, cache


def get_loss(y, x):
    """Sum of squared errors over the whole batch and every pixel: sum((y - x) ** 2).

    No 1/2 factor and no averaging, so the loss grows with the batch size.
    y, x: arrays of one shape. Returns a Python float.
    """
    if np.shape(y) != np.shape(x):
        raise ValueError(f"get_loss: y has shape {np.shape(y)} but x has {np.shape(x)}")
    return float(np.sum((y - x) ** 2))


# ------------------------------------------------------------------------- backward


def backprop(params, cache):
    """The derivatives of L = sum((y - x) ** 2) with respect to the five trained arrays.

    params: the dict of `init`; cache: what `forward` returned beside y.
    Returns a dict with keys w_in, b_in, w_link, w_out, b_out; each value dL/d(that
    parameter), of the parameter's shape. Layer_rec is not trained and gets nothing, but
    the error flows back through it to Layer_in. Read it bottom-up against `forward`.
    """
    x, y = cache["x"], cache["y"]
    # forward was: L = sum((y - x) ** 2)
    d_y = 2.0 * (y - x)  # (N, 225)
    # forward was: y = ReLU(a_out)
    d_a_out = d_y * (cache["a_out"] > 0)  # (N, 225)
    # forward was: a_out = z_sum @ w_out.T + b_out
    d_w_out = d_a_out.T @ cache["z_sum"]  # (225, 75)
    d_b_out = d_a_out.sum(axis=0, keepdims=True)  # (1, 225): b_out is added to every row
    d_z_sum = d_a_out @ params["w_out"]  # (N, 75)
    # forward was: z_sum = z_rec + z_link: a sum passes its gradient to both terms
    d_z_rec = d_z_sum
    d_z_link = d_z_sum
    # forward was: z_link = a_link (identity activation)
    d_a_link = d_z_link
    # forward was: a_link = x_reduce @ w_link.T (x_reduce = reduce3(x) needs no gradient)
    d_w_link = d_a_link.T @ cache["x_reduce"]  # (75, 75)
    # forward was: z_rec = ReLU(a_rec)
    d_a_rec = d_z_rec * (cache["a_rec"] > 0)  # (N, 75)
    # forward was: a_rec = z_in @ w_rec.T + b_rec (w_rec, b_rec not trained: only d_z_in)
    d_z_in = d_a_rec @ params["w_rec"]  # (N, 75)
    # forward was: z_in = ReLU(a_in)
    d_a_in = d_z_in * (cache["a_in"] > 0)  # (N, 75)
    # forward was: a_in = x @ w_in.T + b_in
    d_w_in = d_a_in.T @ x  # (75, 225)
    d_b_in = d_a_in.sum(axis=0, keepdims=True)  # (1, 75)
    return {"w_in": d_w_in, "b_in": d_b_in, "w_link": d_w_link, "w_out": d_w_out, "b_out": d_b_out}


def apply_dw(params, dw, lr):
    """One SGD step, in place: param -= lr * dL/dparam for the five trained arrays.

    params: the dict of `init` (changed in place); dw: the dict of `backprop` (not
    changed); lr: the learning rate. w_rec and b_rec are never touched.
    """
    for name in TRAINED:
        params[name] -= lr * dw[name]


# ----------------------------------------------------------------------- image files


class ImageFileError(ValueError):
    """A file of images that `load_images` refuses. The message starts with the file's path."""


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside the allowlist."""


# How the pickle of an array works: NumPy pickles an array as a call of its reconstructor
# (protocols 2 to 4: `_reconstruct(ndarray, (0,), b"b")`, then the array's state: version,
# shape, dtype, Fortran order, raw bytes) or of `_frombuffer(bytes, dtype, shape, order)`
# (protocol 5); a dtype as `dtype("f8", False, True)` and its state (byte order and more).
# Here those globals are not NumPy's functions but recorders: loading the pickle builds a
# plain description of the array, and only once it has been checked is the array made,
# by np.frombuffer from the raw bytes. No NumPy code ever sees an object the pickle made.

_NUMBER_TYPE = re.compile(r"[biufc][0-9]{1,2}\Z")  # NumPy type strings: b1, u1, i8, f8, c16, ...


class _DtypeSpec:
    """What a pickled `numpy.dtype(spec, align, copy)` and its state ask for."""

    def __init__(self, spec, align=False, copy=False):
        if not (isinstance(spec, str) and _NUMBER_TYPE.match(spec)):
            raise _RefusedGlobal(f"numpy.dtype({spec!r}), a dtype that is not a plain number type")
        np.dtype(spec)  # a strict type string is safe to parse; this one must also exist
        self.spec, self.byteorder = spec, "="

    def __setstate__(self, state):
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not (isinstance(state, tuple) and len(state) >= 8 and state[1] in ("<", ">", "|", "=")
                and state[2:5] == (None, None, None)):  # fmt: skip
            raise ValueError(f"a dtype state that no plain number type has: {state!r}")
        self.byteorder = state[1]

    def dtype(self):
        return np.dtype(self.spec).newbyteorder(self.byteorder if self.byteorder != "|" else "=")


class _ArraySpec:
    """What a pickled array asks for: shape, dtype, Fortran order or not, raw bytes."""

    shape = dtype_spec = data = None
    fortran = False

    def __setstate__(self, state):
        # (version, shape, dtype, is_fortran, raw bytes), as ndarray.__reduce__ gives it
        if not (isinstance(state, tuple) and len(state) == 5):
            raise ValueError("an array state that is not (version, shape, dtype, order, data)")
        self.set(*state[1:])

    def set(self, shape, dtype_spec, fortran, data):
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise ValueError(f"an array shape that is not a tuple of sizes: {shape!r}")
        if not isinstance(dtype_spec, _DtypeSpec):
            raise ValueError("an array whose dtype is not a pickled numpy.dtype")
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError(f"array data of type {type(data).__name__}, not bytes")
        self.shape, self.dtype_spec, self.fortran, self.data = shape, dtype_spec, fortran is True, data

    def array(self):
        if self.data is None:
            raise ValueError("an array without its state")
        dtype = self.dtype_spec.dtype()
        if len(self.data) != math.prod(self.shape) * dtype.itemsize:
            raise ValueError(f"{len(self.data)} bytes of data for an array of shape {self.shape} and dtype {dtype}")
        return np.frombuffer(self.data, dtype=dtype).reshape(self.shape, order="F" if self.fortran else "C")


class _NdarrayToken:
    """Stands for numpy.ndarray, which a pickle names only to pass it to the reconstructor."""


def _reconstruct(cls, shape, typecode):
    """Stands for numpy's _reconstruct(ndarray, (0,), b"b"): an empty array, state to come."""
    if not isinstance(cls, _NdarrayToken):
        raise ValueError("the array reconstructor called on something other than numpy.ndarray")
    return _ArraySpec()


def _frombuffer(data, dtype_spec, shape, order):
    """Stands for numpy's _frombuffer(bytes, dtype, shape, order) of protocol 5."""
    spec = _ArraySpec()
    spec.set(shape, dtype_spec, order == "F", data)
    return spec


def _latin1_encode(text, encoding):
    """What protocol 2 uses to rebuild bytes (codecs.encode(text, 'latin1')), and no other codec."""
    if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
        raise _RefusedGlobal(f"_codecs.encode with the codec {encoding!r}")
    return text.encode("latin-1")


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): _NdarrayToken(),
    ("numpy", "dtype"): _DtypeSpec,
    ("_codecs", "encode"): _latin1_encode,
}
for _core in ("numpy.core", "numpy._core"):  # NumPy 1.x and 2.x names
    _ALLOWED_GLOBALS[(f"{_core}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED_GLOBALS[(f"{_core}.numeric", "_frombuffer")] = _frombuffer


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are the recorders above: it can build plain Python
    data and descriptions of arrays, and call nothing else."""

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None


def load_images(path):
    """Read a pickle of one NumPy array of images, shape (N, 15, 15), values 0..255.

    The pickle is read without running any code from it: the only globals it may name
    are the few a pickled array of numbers needs, and they merely record the array's
    shape, number type and raw bytes, from which np.frombuffer then makes it. The array
    must hold real numbers
    (integers or floats), N >= 1 images of 15 x 15 pixels, every value finite and within
    0..255. Returns it as float64, shape (N, 15, 15).

    Raises ImageFileError (a ValueError) for anything else, with a one-line message that
    starts with the path and says what is wrong.
    """
    path = os.fspath(path)

    def refuse(why):
        return ImageFileError(f"{path}: {why}")

    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise refuse("no such file") from None
    except IsADirectoryError:
        raise refuse("is a folder, not a file of images") from None
    except OSError as e:
        raise refuse(f"cannot be read ({e.strerror or e})") from None
    if not data:
        raise refuse("is empty")
    if data.startswith(b"\x93NUMPY"):
        raise refuse("is a .npy file (numpy.save), not a pickle of images")

    stream = io.BytesIO(data)
    try:
        images = _ArrayOnlyUnpickler(stream).load()
    except _RefusedGlobal as e:
        raise refuse(
            f"refused: the pickle asks for {e}, which a pickled array of images never needs "
            "(a crafted pickle can run code this way); nothing in it was run"
        ) from None
    except EOFError:
        raise refuse("ends too soon: it is truncated, or not a pickle") from None
    except Exception as e:  # the unpickler calls nothing but NumPy's constructors: bad data
        detail = " ".join(str(e).split())  # pickle's own messages may span lines
        if "truncated" in detail:
            raise refuse("ends too soon: it is truncated") from None
        if "invalid load key" in detail:
            raise refuse(f"is not a pickle file ({detail})") from None
        raise refuse(f"is not a readable pickle of a NumPy array ({type(e).__name__}: {detail})") from None
    if stream.tell() != len(data):
        raise refuse(f"has {len(data) - stream.tell()} stray bytes after the pickled object")
    if not isinstance(images, _ArraySpec):
        raise refuse(f"holds a {type(images).__name__}, not a NumPy array of images")
    try:
        images = images.array()
    except ValueError as e:
        raise refuse(f"is not a readable pickle of a NumPy array ({e})") from None

    if images.dtype.kind not in "iuf":
        raise refuse(f"holds an array of {images.dtype}, not of real numbers")
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise refuse(f"holds an array of shape {images.shape}; expected (N, {SIDE}, {SIDE}): N images of {SIDE} x {SIDE} pixels")
    if images.shape[0] == 0:
        raise refuse("holds no images: the array's shape is (0, 15, 15)")
    images = images.astype(np.float64)
    bad = np.count_nonzero(~np.isfinite(images))
    if bad:
        raise refuse(f"has {bad} pixel values that are NaN or infinite")
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        raise refuse(f"has pixel values from {low:g} to {high:g}; they must lie within 0..255")
    return images

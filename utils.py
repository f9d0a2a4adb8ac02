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

Left out on purpose: classes, autograd, optimisers other than plain SGD, files and
anything that draws. This module imports NumPy only, so the math can be read and tested
without a plotting stack or a file format in the way (image_files.py reads the images,
plots.py draws, train_autoenc_lite.py runs the homework).
"""

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
    """ReLU(a) = max(a, 0), elementwise.

    Its derivative is 1 where a > 0 and 0 elsewhere, 0 included (as in PyTorch). Since
    ReLU(a) > 0 exactly where a > 0, backprop reads that mask off the output: z > 0.
    """
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
    if x.ndim != 2 or x.shape[1] != w_in.shape[1] or b_in.shape != (1, w_in.shape[0]):
        raise ValueError(
            f"forward_in_scalar: x {x.shape}, w_in {w_in.shape} and b_in {b_in.shape} do not "
            "fit (N, D), (P, D) and (1, P)"
        )
    x_rows, w_rows, biases = x.tolist(), w_in.tolist(), b_in[0].tolist()
    z_in = []
    for x_row in x_rows:  # each image n
        z_row = []
        for w_row, bias in zip(w_rows, biases):  # each hidden unit p
            a = bias
            for x_d, w_d in zip(x_row, w_row):  # each pixel d
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
    Returns (y, cache): the reconstruction y (N, 225), and a dict of what backprop needs:
    x and the intermediate arrays, by their names in the equations above.
    """
    # Layer_in
    z_in = forward_in_vector(x, params["w_in"], params["b_in"])  # (N, 75)
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
    cache = {"x": x, "z_in": z_in, "z_rec": z_rec, "x_reduce": x_reduce, "z_sum": z_sum, "y": y}
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
    the error flows back through it to Layer_in. Read it bottom-up against `forward`;
    docs/backprop.md derives each step.

    Every layer `a = inputs @ w.T + b` has the same three rules, for its error
    d_a = dL/da (N, out): dL/dw = d_a.T @ inputs, dL/db = the column sums of d_a, and
    dL/dinputs = d_a @ w. A ReLU passes the error where its output is above zero.
    """
    x, y = cache["x"], cache["y"]
    # forward was: L = sum((y - x) ** 2)
    d_y = 2.0 * (y - x)  # (N, 225)
    # forward was: y = ReLU(a_out)
    d_a_out = d_y * (y > 0)  # (N, 225)
    # forward was: a_out = z_sum @ w_out.T + b_out
    d_w_out = d_a_out.T @ cache["z_sum"]  # (225, 75)
    d_b_out = d_a_out.sum(axis=0, keepdims=True)  # (1, 225): b_out is added to every row
    d_z_sum = d_a_out @ params["w_out"]  # (N, 75)
    # forward was: z_sum = z_rec + z_link: a sum passes its error to both terms
    d_z_rec = d_z_sum
    d_z_link = d_z_sum
    # forward was: z_link = a_link (identity activation)
    d_a_link = d_z_link
    # forward was: a_link = x_reduce @ w_link.T (x_reduce = reduce3(x) needs no gradient)
    d_w_link = d_a_link.T @ cache["x_reduce"]  # (75, 75)
    # forward was: z_rec = ReLU(a_rec)
    d_a_rec = d_z_rec * (cache["z_rec"] > 0)  # (N, 75)
    # forward was: a_rec = z_in @ w_rec.T + b_rec (w_rec, b_rec not trained: only d_z_in)
    d_z_in = d_a_rec @ params["w_rec"]  # (N, 75)
    # forward was: z_in = ReLU(a_in)
    d_a_in = d_z_in * (cache["z_in"] > 0)  # (N, 75)
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

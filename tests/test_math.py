"""The math of a utils.py, through its public functions alone: init, forward_in_scalar,
forward_in_vector, forward, get_loss, backprop and apply_dw, the cache passed through
untouched. A kit for any utils.py with that API, needing NumPy and pytest only, that scores
it by the homework's rubric (tests/conftest.py prints the table):

    python -m pytest tests/test_math.py                  # the project's utils.py
    python -m pytest tests/test_math.py --utils PATH     # another one

Each test grades one homework item (its `item` mark) and calls the student's functions for
that item alone; the network and the images it needs come from the spec's equations,
written out here (SPEC.md), never from the student's init. Backprop is checked by central
differences only: the kit holds the forward equations and no derivative."""

import copy

import numpy as np
import pytest

from run_support.gradient_check import central_difference, relative_error

SHAPES = {"w_in": (75, 225), "b_in": (1, 75), "w_rec": (75, 75), "b_rec": (1, 75)}
SHAPES |= {"w_link": (75, 75), "w_out": (225, 75), "b_out": (1, 225)}
TRAINED = ("w_in", "b_in", "w_link", "w_out", "b_out")  # what backprop returns, SGD moves
relu = lambda a: np.maximum(a, 0.0)  # noqa: E731


def spec_forward(params, x):
    """The spec's forward pass: every pre-activation, and the output y."""
    a_in = x @ params["w_in"].T + params["b_in"]
    a_rec = relu(a_in) @ params["w_rec"].T + params["b_rec"]
    z_sum = relu(a_rec) + x.reshape(len(x), 75, 3).mean(axis=2) @ params["w_link"].T
    a_out = z_sum @ params["w_out"].T + params["b_out"]
    return {"a_in": a_in, "a_rec": a_rec, "a_out": a_out, "y": relu(a_out)}


def spec_init(seed):
    """The spec's network: Xavier uniform w_in, w_link, w_out; w_rec the identity; zero biases."""
    rng = np.random.default_rng(seed)
    params = {name: np.zeros(shape) for name, shape in SHAPES.items()}
    for name in ("w_in", "w_link", "w_out"):
        limit = np.sqrt(6.0 / sum(SHAPES[name]))
        params[name] = rng.uniform(-limit, limit, SHAPES[name])
    params["w_rec"] = np.eye(75)
    return params


def general_params(seed):
    """A network with every array, Layer_rec's too, set to something general."""
    rng = np.random.default_rng(seed)
    return {name: rng.normal(0, 0.3, shape) for name, shape in SHAPES.items()}


# ---------------------------------------------------------------------------- init


@pytest.mark.item("2.1")
def test_init_gives_the_seven_arrays_of_the_spec(utils):
    params = utils.init(np.random.default_rng(1))
    assert {name: a.shape for name, a in params.items()} == SHAPES
    assert all(a.dtype == np.float64 for a in params.values())
    assert np.array_equal(params["w_rec"], np.eye(75))
    assert not (params["b_in"].any() or params["b_rec"].any() or params["b_out"].any())


@pytest.mark.item("2.1")
@pytest.mark.parametrize("name", ["w_in", "w_link", "w_out"])
def test_init_draws_xavier_uniform(utils, name):
    w = utils.init(np.random.default_rng(2))[name]
    limit = np.sqrt(6.0 / sum(w.shape))
    assert np.abs(w).max() <= limit
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit  # the draws fill U(-l, l)
    # U(-l, l) has mean 0, variance l^2 / 3: 5 % is over four standard errors of either here
    assert abs(w.mean()) < 0.05 * limit and w.var() == pytest.approx(limit**2 / 3, rel=0.05)


@pytest.mark.item("2.1")
def test_init_is_reproducible_for_a_seed(utils):
    a, b = (utils.init(np.random.default_rng(7)) for _ in range(2))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["w_in"], utils.init(np.random.default_rng(8))["w_in"])


# ------------------------------------------------------------------------- forward


@pytest.mark.item("2.2.1")
@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_layer_in_scalar_and_vector_agree_with_the_spec(utils, n):
    params = general_params(n)
    x = np.random.default_rng(n).uniform(0.0, 1.0, (n, 225))
    expected = relu(spec_forward(params, x)["a_in"])
    for form in (utils.forward_in_scalar, utils.forward_in_vector):
        z = form(x, params["w_in"], params["b_in"])
        assert z.shape == (n, 75) and np.abs(z - expected).max() <= 1e-12
    assert 0 < np.count_nonzero(expected) < expected.size  # the ReLU cut some, not all


class NoVectorMath(np.ndarray):
    """An array on which every NumPy operation (ufunc, np.dot, @, sum, ...) raises."""

    def __array_ufunc__(self, *args, **kwargs):
        raise AssertionError("a NumPy ufunc did arithmetic in the scalar form")

    def __array_function__(self, *args, **kwargs):
        raise AssertionError("a NumPy function did arithmetic in the scalar form")


@pytest.mark.item("2.2.1")
def test_layer_in_scalar_does_no_vector_arithmetic(utils):
    params = general_params(3)
    x = np.random.default_rng(3).uniform(0.0, 1.0, (2, 225))
    guarded = [a.view(NoVectorMath) for a in (x, params["w_in"], params["b_in"])]
    with pytest.raises(AssertionError):  # the guard works: vector math on it is caught
        guarded[0] @ guarded[1].T
    z = utils.forward_in_scalar(*guarded)
    assert np.abs(np.asarray(z) - relu(spec_forward(params, x)["a_in"])).max() <= 1e-12


@pytest.mark.item("2.2.2")
@pytest.mark.parametrize("n", [1, 3])
def test_forward_is_the_spec_for_any_batch(utils, n):
    params = general_params(10 + n)
    x = np.random.default_rng(n).uniform(0.0, 1.0, (n, 225))
    y, _ = utils.forward(params, x)
    expected = spec_forward(params, x)["y"]
    assert y.shape == (n, 225) and np.abs(y - expected).max() <= 1e-12
    assert 0 < np.count_nonzero(y) < y.size


@pytest.mark.item("2.2.2")
def test_reduce_x_3_is_the_mean_of_three_neighbouring_pixels(utils):
    """Only Layer_link reads x through reduce x 3: with the rest of the network zero, y is
    w_out @ w_link @ reduce3(x), so pooling pixel 3k, 3k+1, 3k+2 into k is what y shows."""
    params = {name: np.zeros(shape) for name, shape in SHAPES.items()}
    params["w_link"], params["w_out"][:75] = np.eye(75), np.eye(75)
    x = np.arange(2 * 225, dtype=float).reshape(2, 225) / 450
    y, _ = utils.forward(params, x)
    assert np.allclose(y[:, :75], x.reshape(2, 75, 3).mean(axis=2), rtol=0, atol=1e-15)
    assert not y[:, 75:].any()


@pytest.mark.item("2.3.1")
def test_get_loss_is_the_sum_of_squared_errors(utils):
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([[0.0, 2.0], [1.0, 1.0]])
    assert utils.get_loss(y, x) == 14.0  # 1 + 0 + 4 + 9: summed, not averaged, no 1/2


# ------------------------------------------------------------------------ backprop

STEP = 1e-3  # central-difference step


@pytest.fixture(scope="module")
def kink_free():
    """A batch of 3 images and a network whose every pre-activation is far from 0, with a
    general, non-symmetric w_rec (with the identity a wrong transpose would go unseen).
    Each bias puts 0 in the middle of the widest gap between its unit's values."""
    rng = np.random.default_rng(0)
    params = spec_init(0)
    params["w_rec"] = rng.uniform(-0.3, 0.3, (75, 75))
    x = rng.uniform(0.0, 1.0, (3, 225))
    for bias, pre in (("b_in", "a_in"), ("b_rec", "a_rec"), ("b_out", "a_out")):
        params[bias] = np.zeros_like(params[bias])
        values = np.sort(spec_forward(params, x)[pre], axis=0)
        widest = np.diff(values, axis=0).argmax(axis=0)
        cols = np.arange(values.shape[1])
        params[bias] = -(values[widest, cols] + values[widest + 1, cols])[None, :] / 2
    for pre in ("a_in", "a_rec", "a_out"):
        a = spec_forward(params, x)[pre]
        assert np.abs(a).min() > 5 * STEP and 0.3 < (a > 0).mean() < 0.7, pre
    return params, x


@pytest.mark.item("2.3.2", needs=["forward"])
@pytest.mark.parametrize("name", TRAINED)
def test_backprop_is_the_gradient_of_the_loss(utils, name, kink_free):
    """Away from every kink the loss is quadratic in each entry: a central difference is its
    derivative, exactly but for rounding."""
    params, x = kink_free
    grads = utils.backprop(params, utils.forward(params, x)[1])
    assert set(grads) == set(TRAINED) and grads[name].shape == params[name].shape

    def f():  # the loss as its squared errors, and where each ReLU is on, by the spec
        pre = spec_forward(params, x)
        return (pre["y"] - x) ** 2, [pre[k] > 0 for k in ("a_in", "a_rec", "a_out")]

    size = params[name].size
    picks = np.random.default_rng(1).choice(size, min(size, 300), replace=False)
    worst = 0.0
    for index in (np.unravel_index(i, params[name].shape) for i in picks):
        numeric = central_difference(f, params[name], index, step=STEP)
        assert numeric is not None, f"{name}{index}: a ReLU switched within the step"
        worst = max(worst, relative_error(grads[name][index], numeric))
    assert worst <= 1e-7, f"d{name}: largest relative error {worst:.2e}"
    assert np.count_nonzero(grads[name]) > 0.3 * size  # not a trivial check


@pytest.mark.item("2.3.2", needs=["forward"])
def test_backprop_leaves_the_network_and_the_cache_alone(utils, kink_free):
    params, x = kink_free
    before = copy.deepcopy(params)
    _, cache = utils.forward(params, x)
    first = utils.backprop(params, cache)
    second = utils.backprop(params, cache)  # a cache changed by the first call would show
    assert all(np.array_equal(first[k], second[k]) for k in TRAINED)
    assert all(np.array_equal(params[k], before[k]) for k in params)


@pytest.mark.item("2.3.2", needs=["forward"])
def test_relu_passes_no_error_at_its_kink(utils):
    """ReLU has no derivative at 0; like PyTorch, backprop takes 0 there. With w_out = 0
    every a_out is exactly 0, so no error passes back through Layer_out."""
    params = spec_init(6)
    params["w_out"][:] = 0.0
    x = np.random.default_rng(6).uniform(0.0, 1.0, (4, 225))
    grads = utils.backprop(params, utils.forward(params, x)[1])
    assert not any(grads[name].any() for name in TRAINED)


# ------------------------------------------------------------------------ SGD step


@pytest.mark.item("2.3.3")
def test_apply_dw_moves_the_five_trained_arrays_in_place(utils):
    rng = np.random.default_rng(4)
    params = spec_init(4)
    before, arrays = copy.deepcopy(params), dict(params)
    dw = {name: rng.normal(size=params[name].shape) for name in TRAINED}
    dw_before = copy.deepcopy(dw)
    utils.apply_dw(params, dw, 0.25)  # a power of two: the step is exactly - lr * dw
    for name in TRAINED:
        assert np.array_equal(params[name], before[name] - 0.25 * dw[name]), name
        assert params[name] is arrays[name], f"{name} was replaced, not updated in place"
    assert all(np.array_equal(params[k], before[k]) for k in ("w_rec", "b_rec"))
    assert all(np.array_equal(dw[k], dw_before[k]) for k in dw)


@pytest.mark.item("2.3.3", needs=["init", "forward", "get_loss", "backprop"])
def test_sgd_lowers_the_loss(utils):
    """Three hundred SGD steps on a fixed set of sparse random images."""
    rng = np.random.default_rng(5)
    images = (rng.uniform(size=(40, 225)) < 0.15) * rng.uniform(0.5, 1.0, (40, 225))
    params = utils.init(rng)
    start = utils.get_loss(utils.forward(params, images)[0], images)
    for _ in range(300):
        batch = images[rng.choice(40, 10, replace=False)]
        utils.apply_dw(params, utils.backprop(params, utils.forward(params, batch)[1]), 0.001)
    assert utils.get_loss(utils.forward(params, images)[0], images) < 0.5 * start

"""The math of utils.py: init, the forward pass, the loss, backprop and the SGD step.

The grader's fast path: `python -m pytest tests/test_math.py` checks every gradient of
backprop against central differences (gradient_check.py's), in a few seconds."""

import numpy as np
import pytest

import gradient_check
import utils

PRE_ACTIVATIONS = ("a_in", "a_rec", "a_out")  # every array that goes into a ReLU


def pre_activations(params, x):
    """a_in, a_rec and a_out, computed here from the spec's equations, not by utils."""
    a_in = x @ params["w_in"].T + params["b_in"]
    a_rec = np.maximum(a_in, 0) @ params["w_rec"].T + params["b_rec"]
    z_sum = np.maximum(a_rec, 0) + utils.reduce3(x) @ params["w_link"].T
    return {"a_in": a_in, "a_rec": a_rec, "a_out": z_sum @ params["w_out"].T + params["b_out"]}


# ---------------------------------------------------------------------------- init


def test_init_shapes_and_dtypes():
    params = utils.init(np.random.default_rng(1))
    expected = {
        "w_in": (75, 225),
        "b_in": (1, 75),
        "w_rec": (75, 75),
        "b_rec": (1, 75),
        "w_link": (75, 75),
        "w_out": (225, 75),
        "b_out": (1, 225),
    }
    assert {name: a.shape for name, a in params.items()} == expected
    assert all(a.dtype == np.float64 for a in params.values())


def test_init_fixed_values():
    params = utils.init(np.random.default_rng(1))
    assert np.array_equal(params["w_rec"], np.eye(75))
    for name in ("b_in", "b_rec", "b_out"):
        assert np.all(params[name] == 0.0), name


@pytest.mark.parametrize("name", ["w_in", "w_link", "w_out"])
def test_init_xavier_uniform(name):
    w = utils.init(np.random.default_rng(2))[name]
    fan_out, fan_in = w.shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    # the draws fill the interval: the extremes come close to both ends
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit
    # U(-l, l) has mean 0 and variance l^2 / 3; the sample's relative standard error of
    # the variance is about sqrt(0.8 / n) <= 1.2 % here, so 5 % is over four of them
    assert abs(w.mean()) < 0.05 * limit
    assert w.var() == pytest.approx(limit**2 / 3, rel=0.05)


def test_init_is_reproducible_for_a_seed():
    a, b = utils.init(np.random.default_rng(7)), utils.init(np.random.default_rng(7))
    assert all(np.array_equal(a[name], b[name]) for name in a)
    # an int seed is the same seed, and None means seed 0
    assert np.array_equal(utils.init(7)["w_in"], a["w_in"])
    assert np.array_equal(utils.init()["w_out"], utils.init(0)["w_out"])
    c = utils.init(np.random.default_rng(8))
    assert not np.array_equal(a["w_in"], c["w_in"])


# ------------------------------------------------------------------------- forward


@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_layer_in_scalar_and_vector_agree(n):
    rng = np.random.default_rng(n)
    params = utils.init(rng)
    params["b_in"] = rng.normal(0.0, 0.1, (1, 75))  # a bias that is not zero counts too
    x = rng.uniform(0.0, 1.0, (n, 225))
    z_scalar = utils.forward_in_scalar(x, params["w_in"], params["b_in"])
    z_vector = utils.forward_in_vector(x, params["w_in"], params["b_in"])
    assert z_scalar.shape == z_vector.shape == (n, 75)
    assert np.abs(z_scalar - z_vector).max() <= 1e-12
    assert 0 < np.count_nonzero(z_vector) < z_vector.size  # the ReLU cut some, not all


class NoVectorMath(np.ndarray):
    """An array on which every NumPy operation (ufunc, np.dot, @, sum, ...) raises."""

    def __array_ufunc__(self, *args, **kwargs):
        raise AssertionError("a NumPy ufunc did arithmetic in the scalar form")

    def __array_function__(self, *args, **kwargs):
        raise AssertionError("a NumPy function did arithmetic in the scalar form")


def test_layer_in_scalar_does_no_vector_arithmetic():
    rng = np.random.default_rng(3)
    params = utils.init(rng)
    x = rng.uniform(0.0, 1.0, (2, 225))
    w_in, b_in = params["w_in"], params["b_in"] + 0.05
    guarded = [a.view(NoVectorMath) for a in (x, w_in, b_in)]
    with pytest.raises(AssertionError):  # the guard works: vector math on it is caught
        guarded[0] @ guarded[1].T
    z = utils.forward_in_scalar(*guarded)
    assert np.abs(z - utils.forward_in_vector(x, w_in, b_in)).max() <= 1e-12


def test_layer_in_scalar_refuses_mismatched_shapes():
    """Plain zip() would drop the extra pixel silently; both forms must refuse."""
    params = utils.init(0)
    x = np.full((2, 224), 0.5)  # one pixel short
    with pytest.raises(ValueError):
        utils.forward_in_scalar(x, params["w_in"], params["b_in"])
    with pytest.raises(ValueError):
        utils.forward_in_vector(x, params["w_in"], params["b_in"])


def test_reduce3_is_row_wise_1x3_average_pooling():
    images = np.arange(2 * 15 * 15, dtype=float).reshape(2, 15, 15)
    pooled = utils.reduce3(images.reshape(2, 225))
    expected = images.reshape(2, 15, 5, 3).mean(axis=3).reshape(2, 75)
    assert np.array_equal(pooled, expected)
    assert pooled[0, 0] == 1.0 and pooled[1, 74] == (447 + 448 + 449) / 3


def reference_forward(params, x):
    """The spec's forward pass, one image and one unit at a time, for comparison."""
    relu = lambda a: max(a, 0.0)  # noqa: E731
    out = []
    for image in x:
        z_in = [relu(params["b_in"][0, p] + sum(params["w_in"][p] * image)) for p in range(75)]
        z_rec = [relu(params["b_rec"][0, p] + sum(params["w_rec"][p] * z_in)) for p in range(75)]
        x_reduce = [(image[3 * p] + image[3 * p + 1] + image[3 * p + 2]) / 3 for p in range(75)]
        z_link = [sum(params["w_link"][p] * x_reduce) for p in range(75)]
        z_sum = np.add(z_rec, z_link)
        out.append(
            [relu(params["b_out"][0, d] + sum(params["w_out"][d] * z_sum)) for d in range(225)]
        )
    return np.array(out)


@pytest.mark.parametrize("n", [1, 3])
def test_forward_matches_the_spec_equations(n):
    rng = np.random.default_rng(10 + n)
    params = utils.init(rng)
    # every parameter, including the untrained Layer_rec, set to something general
    for name in params:
        params[name] = rng.normal(0.0, 0.3, params[name].shape)
    x = rng.uniform(0.0, 1.0, (n, 225))
    y, cache = utils.forward(params, x)
    assert y.shape == (n, 225)
    assert np.abs(y - reference_forward(params, x)).max() <= 1e-12
    assert cache["x"] is x and cache["y"] is y
    # the ReLU outputs it keeps for backprop are the spec's
    pre = pre_activations(params, x)
    assert np.allclose(cache["z_in"], np.maximum(pre["a_in"], 0), rtol=0, atol=1e-12)
    assert np.allclose(cache["z_rec"], np.maximum(pre["a_rec"], 0), rtol=0, atol=1e-12)
    assert 0 < np.count_nonzero(y) < y.size


def test_forward_computes_layer_in_with_forward_in_vector(monkeypatch):
    """Layer_in is written once: forward calls forward_in_vector rather than repeating it."""
    calls = []
    real = utils.forward_in_vector

    def spy(x, w_in, b_in):
        calls.append((x, w_in, b_in))
        return real(x, w_in, b_in)

    monkeypatch.setattr(utils, "forward_in_vector", spy)
    params = utils.init(0)
    x = np.random.default_rng(0).uniform(size=(4, 225))
    _, cache = utils.forward(params, x)
    [(x_seen, w_seen, b_seen)] = calls
    assert x_seen is x and w_seen is params["w_in"] and b_seen is params["b_in"]
    assert np.array_equal(cache["z_in"], real(x, params["w_in"], params["b_in"]))


# ---------------------------------------------------------------------------- loss


def test_get_loss_by_hand():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([[0.0, 2.0], [1.0, 1.0]])
    # (1-0)^2 + 0 + (3-1)^2 + (4-1)^2 = 1 + 4 + 9: summed, not averaged, no 1/2
    assert utils.get_loss(y, x) == 14.0
    assert isinstance(utils.get_loss(y, x), float)


def test_get_loss_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        utils.get_loss(np.zeros((2, 225)), np.zeros((3, 225)))


# ------------------------------------------------------------------ gradient check

STEP = 1e-3  # central-difference step


def gap_bias(values):
    """Per column, the bias that puts zero in the middle of the widest gap between the
    column's sorted values: the unit is on for some images, off for others, and no value
    lies near the ReLU's kink."""
    s = np.sort(values, axis=0)
    widest = np.diff(s, axis=0).argmax(axis=0)
    cols = np.arange(values.shape[1])
    return -(s[widest, cols] + s[widest + 1, cols]) / 2


@pytest.fixture(scope="module")
def kink_free_case():
    """A batch of 3 images and a network whose every pre-activation is far from zero.

    w_rec is a general matrix here, not the identity: with the identity a wrong
    transpose in Layer_rec's backward step would go unseen.
    """
    rng = np.random.default_rng(0)
    params = utils.init(rng)
    params["w_rec"] = rng.uniform(-0.3, 0.3, (75, 75))
    x = rng.uniform(0.0, 1.0, (3, 225))
    for bias, pre in (("b_in", "a_in"), ("b_rec", "a_rec"), ("b_out", "a_out")):
        params[bias] = np.zeros_like(params[bias])
        params[bias] = gap_bias(pre_activations(params, x)[pre])[None, :]
    _, cache = utils.forward(params, x)
    for pre, a in pre_activations(params, x).items():
        assert np.abs(a).min() > 5 * STEP, f"{pre} has a value near the ReLU kink"
        assert 0.3 < (a > 0).mean() < 0.7, f"{pre} should have units both on and off"
    return params, x, cache


def loss_terms(params, x):
    """f() for gradient_check.central_difference: the loss as its squared errors, and the
    sign of every pre-activation (computed here from the spec's equations)."""

    def f():
        y, _ = utils.forward(params, x)
        pre = pre_activations(params, x)
        return (y - x) ** 2, [pre[name] > 0 for name in PRE_ACTIVATIONS]

    return f


@pytest.mark.parametrize("name", utils.TRAINED)
def test_backprop_matches_central_differences(name, kink_free_case):
    params, x, cache = kink_free_case
    grads = utils.backprop(params, cache)
    assert set(grads) == set(utils.TRAINED)
    assert grads[name].shape == params[name].shape
    f = loss_terms(params, x)
    shape = params[name].shape
    all_indices = list(np.ndindex(shape))
    if len(all_indices) > 6000:  # w_in and w_out: a fair random sample of 1500 entries
        pick = np.random.default_rng(1).choice(len(all_indices), 1500, replace=False)
        all_indices = [all_indices[i] for i in pick]
    worst = 0.0
    for index in all_indices:
        numeric = gradient_check.central_difference(f, params[name], index, step=STEP)
        assert numeric is not None, f"{name}{index}: a ReLU switched within the step"
        worst = max(worst, gradient_check.relative_error(grads[name][index], numeric))
    assert worst <= 1e-7, f"d{name}: largest relative error {worst:.2e}"
    assert np.count_nonzero(grads[name]) > 0.3 * grads[name].size  # not a trivial check


def test_backprop_leaves_its_inputs_alone(kink_free_case):
    params, x, cache = kink_free_case
    before = {k: v.copy() for k, v in cache.items()}
    params_before = {k: v.copy() for k, v in params.items()}
    utils.backprop(params, cache)
    assert all(np.array_equal(cache[k], before[k]) for k in cache)
    assert all(np.array_equal(params[k], params_before[k]) for k in params)


def test_relu_derivative_at_zero_is_zero():
    """At the kink ReLU has no derivative; like PyTorch, backprop takes 0 there.

    With w_out = 0 every a_out is exactly 0, so no error passes back through Layer_out.
    """
    rng = np.random.default_rng(6)
    params = utils.init(rng)
    params["w_out"][:] = 0.0
    x = rng.uniform(0.0, 1.0, (4, 225))
    y, cache = utils.forward(params, x)
    assert np.all(pre_activations(params, x)["a_out"] == 0.0)
    grads = utils.backprop(params, cache)
    assert all(np.all(grads[name] == 0.0) for name in utils.TRAINED)


# ----------------------------------------------------------------------- SGD step


def test_apply_dw_moves_exactly_the_trained_arrays():
    rng = np.random.default_rng(4)
    params = utils.init(rng)
    before = {k: v.copy() for k, v in params.items()}
    arrays = {k: params[k] for k in params}  # to check the update is in place
    dw = {name: rng.normal(size=params[name].shape) for name in utils.TRAINED}
    dw["w_rec"] = np.ones((75, 75))  # even a stray gradient for Layer_rec must be ignored
    dw_before = {k: v.copy() for k, v in dw.items()}
    lr = 0.25  # a power of two: lr * dw is exact, so the step is exactly - lr * dw
    utils.apply_dw(params, dw, lr)
    for name in utils.TRAINED:
        assert np.array_equal(params[name], before[name] - lr * dw[name]), name
        assert params[name] is arrays[name], f"{name} was replaced, not updated in place"
    for name in ("w_rec", "b_rec"):
        assert params[name].tobytes() == before[name].tobytes(), name
    assert all(np.array_equal(dw[k], dw_before[k]) for k in dw)


def test_sgd_lowers_the_loss():
    """Three hundred SGD steps on a fixed set of sparse random images."""
    rng = np.random.default_rng(5)
    images = (rng.uniform(size=(40, 225)) < 0.15) * rng.uniform(0.5, 1.0, (40, 225))
    params = utils.init(rng)
    start = utils.get_loss(utils.forward(params, images)[0], images)
    for _ in range(300):
        batch = images[rng.choice(40, 10, replace=False)]
        y, cache = utils.forward(params, batch)
        utils.apply_dw(params, utils.backprop(params, cache), lr=0.001)
    end = utils.get_loss(utils.forward(params, images)[0], images)
    assert end < 0.5 * start, (start, end)

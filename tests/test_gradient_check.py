"""gradient_check.py: the generic helpers, the rounding floor, and the run's check of
backprop, which must pass on any valid images and stop a wrong backprop on all of them."""

import numpy as np
import pytest
from conftest import TRAIN_FILE

import gradient_check
import image_files
import train_autoenc_lite as program
import utils

# ------------------------------------------------------------------ the helpers


def quadratic(w, kink_at=None):
    """f for central_difference: sum((w - 3) ** 2), with a kink where w crosses kink_at."""

    def f():
        pattern = [w > kink_at] if kink_at is not None else []
        return (w - 3.0) ** 2, pattern

    return f


def test_central_difference_of_a_quadratic_is_its_derivative():
    w = np.array([1.0, 2.5, -4.0])
    for i in range(3):
        numeric = gradient_check.central_difference(quadratic(w), w, i, step=1e-3)
        assert numeric == pytest.approx(2 * (w[i] - 3.0), rel=1e-9)
    assert w.tolist() == [1.0, 2.5, -4.0]  # restored exactly


def test_central_difference_is_none_where_a_kink_lies_within_the_step():
    step = 1e-3
    w = np.array([0.5 * step, 1.5 * step, -0.5 * step, -1.5 * step])
    results = [gradient_check.central_difference(quadratic(w, 0.0), w, i, step) for i in range(4)]
    assert results[0] is None and results[2] is None  # the kink at 0 is within the step
    assert results[1] is not None and results[3] is not None  # just beyond it


def test_central_difference_restores_the_entry_when_f_fails():
    w = np.array([1.0, 2.0])
    calls = []

    def failing():
        calls.append(w[0])
        if len(calls) > 1:
            raise RuntimeError("stopped")
        return w**2, []

    with pytest.raises(RuntimeError):
        gradient_check.central_difference(failing, w, 0)
    assert w[0] == 1.0 and calls[1] != 1.0


def test_relative_error_sees_the_sign_and_the_floor():
    assert gradient_check.relative_error(1.0, -1.0) == 2.0  # a gradient of the wrong sign
    assert gradient_check.relative_error(2.0, 1.0) == 0.5
    assert gradient_check.relative_error(0.0, 0.0) == 0.0
    assert gradient_check.relative_error(1e-12, 2e-12) == 0.5  # no floor: rounding is error
    assert gradient_check.relative_error(1e-12, 2e-12, floor=1e-3) == pytest.approx(1e-9)
    assert gradient_check.relative_error(3.0, 1.0, floor=0.5) == pytest.approx(2 / 3)


def test_the_rounding_floor_grows_with_the_loss_and_shrinks_with_the_step():
    eps = np.finfo(float).eps
    assert gradient_check.rounding_floor(400.0) == pytest.approx(eps * 400 / (1e-4 * 1e-6))
    assert gradient_check.rounding_floor(400.0, step=1e-3) == pytest.approx(
        gradient_check.rounding_floor(40.0, step=1e-4)
    )


# ------------------------------------------------------- the run's check, on any data


def shipped():
    return program.to_batch(image_files.load_images(TRAIN_FILE))[:40]


def with_background(level):
    """The shipped images with their black pixels raised to `level` (on 0..255)."""
    x = shipped()
    return np.where(x == 0, level / 255, x)


FAMILY = {
    "background 1e-6": lambda: with_background(1e-6),
    "background 1e-3": lambda: with_background(1e-3),
    "background 1e-2": lambda: with_background(1e-2),
    "background 1": lambda: with_background(1.0),
    "all black": lambda: np.zeros((30, 225)),
    "one constant gray": lambda: np.full((30, 225), 128 / 255),
    "uniform noise 0..255": lambda: np.random.default_rng(9).uniform(0, 255, (30, 225)) / 255,
    "shipped": shipped,
    "a single image": lambda: shipped()[:1],
}


def run_check(x_train):
    rng = np.random.default_rng(0)
    params = utils.init(rng)
    check_rng = rng.spawn(1)[0]
    batch = gradient_check.check_batch(x_train, check_rng)
    return gradient_check.check_backprop(params, batch, check_rng)


@pytest.mark.parametrize("data", FAMILY)
def test_the_check_passes_on_any_valid_images(data):
    result = run_check(FAMILY[data]())
    assert gradient_check.failure(result) is None, gradient_check.failure(result)
    for name, r in result["arrays"].items():
        assert r["checked"] >= 0.5 * (r["checked"] + r["skipped"]), name


WRONG = [(data, "0.1% too large") for data in FAMILY] + [
    (data, "of the wrong sign") for data in ("all black", "background 1e-6")
]


@pytest.mark.parametrize("data, wrong", WRONG)
def test_a_wrong_backprop_fails_the_check_on_any_valid_images(data, wrong, monkeypatch):
    """Each of the five arrays made wrong alone; the sample is cut to keep this quick.
    (A wrong sign is an error of 200%: relative_error's test shows it is seen anywhere.)"""
    monkeypatch.setattr(gradient_check, "SAMPLE", 8)
    real = utils.backprop
    x_train = FAMILY[data]()
    for name in utils.TRAINED:

        def planted(params, cache, name=name):
            grads = {k: v.copy() for k, v in real(params, cache).items()}
            grads[name] *= 1.001 if wrong == "0.1% too large" else -1.0
            return grads

        monkeypatch.setattr(utils, "backprop", planted)
        message = gradient_check.failure(run_check(x_train))
        assert message is not None and f"d{name} has a relative error" in message, (name, message)


def test_the_batch_leaves_out_all_black_images_and_adds_noise():
    x = np.zeros((30, 225))
    x[[3, 7], 0] = 0.5  # two images with ink
    batch = gradient_check.check_batch(x, np.random.default_rng(0))
    assert len(batch) == 2 + gradient_check.CHECK_IMAGES
    assert np.array_equal(batch[:2], x[[3, 7]])
    noise = batch[2:]
    assert noise.min() >= 0 and noise.max() <= 1 and noise.std() > 0.2
    many = gradient_check.check_batch(np.ones((30, 225)), np.random.default_rng(0))
    assert len(many) == 2 * gradient_check.CHECK_IMAGES


def test_an_array_with_no_entry_checked_is_a_failure(monkeypatch):
    monkeypatch.setattr(gradient_check, "central_difference", lambda *args, **kwargs: None)
    result = run_check(shipped())
    assert all(r["checked"] == 0 for r in result["arrays"].values())
    assert gradient_check.failure(result) == (
        "the gradient check could check no entry of w_in, b_in, w_link, w_out, b_out"
    )


def test_an_error_just_above_the_limit_fails_and_at_it_passes():
    result = run_check(shipped())
    arrays = result["arrays"]
    arrays["w_link"]["max_relative_error"] = gradient_check.MAX_ERROR
    assert gradient_check.failure(result) is None
    arrays["w_link"]["max_relative_error"] = gradient_check.MAX_ERROR * 1.01
    assert "dw_link has a relative error of 1e-06, more than 1e-06" in gradient_check.failure(
        result
    )


def test_the_check_skips_entries_at_a_relu_kink_and_restores_every_entry():
    x = shipped()[:5]
    params = utils.init(np.random.default_rng(3))
    a_in = x @ params["w_in"].T
    params["b_in"][0, 7] = -a_in[2, 7]  # image 2 puts unit 7 exactly at 0
    before = {k: v.copy() for k, v in params.items()}
    result = gradient_check.check_backprop(params, x, np.random.default_rng(0))
    assert result["arrays"]["b_in"]["skipped"] >= 1 and result["arrays"]["b_in"]["checked"] >= 50
    assert gradient_check.failure(result) is None
    assert all(np.array_equal(params[k], before[k]) for k in params)


def test_each_array_is_checked_at_a_sample_of_distinct_entries_or_all_of_a_small_one(
    monkeypatch,
):
    seen = {}
    real = gradient_check.central_difference

    def recording(f, array, index, *args, **kwargs):
        seen.setdefault(array.shape, []).append(index)  # the five arrays' shapes differ
        return real(f, array, index, *args, **kwargs)

    monkeypatch.setattr(gradient_check, "central_difference", recording)
    for name, r in run_check(shipped())["arrays"].items():
        indices = seen[tuple(r["shape"])]
        want = min(r["entries"], gradient_check.SAMPLE)
        assert len(set(indices)) == len(indices) == want == r["checked"] + r["skipped"], name
    assert len(seen[(1, 75)]) == 75 and len(seen[(1, 225)]) == gradient_check.SAMPLE

"""run_support/gradient_check.py, and the run's check of backprop: it passes on any valid
images, and a backprop wrong in any one array fails it on all of them."""

import numpy as np
import pytest
from conftest import TRAIN_FILE

import train_autoenc_lite as program
import utils
from run_support import gradient_check, image_files


def quadratic(w, kink_at=None):
    """f for central_difference: sum((w - 3) ** 2), with a kink where w crosses kink_at."""
    return lambda: ((w - 3.0) ** 2, [] if kink_at is None else [w > kink_at])


def test_central_difference_of_a_quadratic_is_its_derivative_and_restores_the_entry():
    w = np.array([1.0, 2.5, -4.0])
    found = [gradient_check.central_difference(quadratic(w), w, i, 1e-3) for i in range(3)]
    assert found == pytest.approx([-4.0, -1.0, -14.0], rel=1e-9) and w.tolist() == [1, 2.5, -4]


def test_central_difference_is_none_where_a_kink_lies_within_the_step():
    step = 1e-3
    w = np.array([0.5 * step, 1.5 * step, -0.5 * step, -1.5 * step])
    found = [gradient_check.central_difference(quadratic(w, 0.0), w, i, step) for i in range(4)]
    assert found[0] is None and found[2] is None  # the kink at 0 is within the step
    assert found[1] is not None and found[3] is not None  # just beyond it


def test_central_difference_restores_the_entry_when_f_fails():
    w, calls = np.array([1.0, 2.0]), []

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


def test_the_rounding_floor_grows_with_the_total_and_shrinks_with_the_step():
    eps = np.finfo(float).eps
    assert gradient_check.rounding_floor(400.0) == pytest.approx(eps * 400 / (1e-4 * 1e-6))
    floor = gradient_check.rounding_floor
    assert floor(400.0, 1e-3) == pytest.approx(floor(40.0, 1e-4))


def test_check_samples_distinct_entries_of_each_array_or_all_of_a_small_one(monkeypatch):
    seen, real = {}, gradient_check.central_difference

    def recording(f, array, index, *args, **kwargs):
        seen.setdefault(array.shape, []).append(index)
        return real(f, array, index, *args, **kwargs)

    monkeypatch.setattr(gradient_check, "central_difference", recording)
    monkeypatch.setattr(gradient_check, "SAMPLE", 8)
    arrays = {"big": np.ones((9, 10)), "small": np.ones(7)}
    f = lambda: ((arrays["big"].sum() + arrays["small"].sum()) ** 2, [])  # noqa: E731
    grads = {name: np.full(a.shape, 2 * 97.0) for name, a in arrays.items()}
    result = gradient_check.check(f, arrays, grads, np.random.default_rng(0))
    assert [len(seen[(9, 10)]), len(set(seen[(9, 10)])), len(set(seen[(7,)]))] == [8, 8, 7]
    big = result["arrays"]["big"]
    assert big.pop("max_relative_error") < 1e-9  # the gradient is right: rounding only
    assert big == {"shape": [9, 10], "entries": 90, "checked": 8, "skipped": 0}
    assert result["floor"] == gradient_check.rounding_floor(97.0**2)


def test_the_error_is_each_arrays_worst_and_each_is_judged_alone():
    arrays = {"a": np.array([1.0, 2.0]), "b": np.array([3.0])}
    f = lambda: ((arrays["a"] ** 2).sum() + (arrays["b"] ** 2).sum(), [])  # noqa: E731
    grads = {"a": np.array([2.0, 4.0 * 1.01]), "b": np.array([6.0])}
    result = gradient_check.check(f, arrays, grads, np.random.default_rng(0))
    assert result["arrays"]["a"]["max_relative_error"] == pytest.approx(0.01 / 1.01, rel=1e-6)
    assert result["arrays"]["b"]["max_relative_error"] < 1e-9
    assert "da has a relative error of 0.0099, more than 1e-06" in gradient_check.failure(result)


def result_of(checked, errors):
    arrays = {
        f"w{i}": {"checked": c, "max_relative_error": e}
        for i, (c, e) in enumerate(zip(checked, errors))
    }
    return {"arrays": arrays, "max_allowed": gradient_check.MAX_ERROR}


def test_an_array_with_no_entry_checked_fails_the_check_alone():
    assert gradient_check.failure(result_of([5, 5, 5], [0, 0, 0])) is None
    unchecked = gradient_check.failure(result_of([5, 0, 5], [0, 0, 0]))
    assert unchecked == "the gradient check could check no entry of w1"


def test_an_error_at_the_limit_passes_and_just_above_it_fails():
    limit = gradient_check.MAX_ERROR
    assert gradient_check.failure(result_of([1, 1], [limit, 0])) is None
    over = gradient_check.failure(result_of([1, 1], [limit * 1.01, 0]))
    assert "dw0 has a relative error of 1e-06" in over


# ------------------------------------------------------- the run's check, on any data


def shipped():
    return program.to_batch(image_files.load_images(TRAIN_FILE))[:40]


def with_background(level):
    """The shipped images with their black pixels raised to `level` (on 0..255)."""
    return np.where(shipped() == 0, level / 255, shipped())


FAMILY = {
    "background 1e-6": lambda: with_background(1e-6),
    "background 1": lambda: with_background(1.0),
    "all black": lambda: np.zeros((30, 225)),
    "one constant gray": lambda: np.full((30, 225), 128 / 255),
    "shipped": shipped,
    "a single image": lambda: shipped()[:1],
}


def run_check(x_train):
    rng = np.random.default_rng(0)
    params = utils.init(rng)
    return program.check_backprop(params, x_train, rng.spawn(1)[0])


@pytest.mark.parametrize("data", FAMILY)
def test_the_check_passes_on_any_valid_images(data):
    result = run_check(FAMILY[data]())
    assert gradient_check.failure(result) is None, gradient_check.failure(result)
    n = program.CHECK_IMAGES
    assert result["images"] == min(n, int(FAMILY[data]().any(axis=1).sum())) + n
    for name, r in result["arrays"].items():
        assert r["checked"] >= 0.5 * (r["checked"] + r["skipped"]), name


@pytest.mark.parametrize("data", FAMILY)
def test_a_backprop_wrong_in_any_one_array_fails_the_check_on_any_valid_images(data, monkeypatch):
    """Each array 0.1% too large, alone (the sample cut to keep this quick); a wrong sign is
    an error of 200%, which relative_error's test shows is seen anywhere."""
    monkeypatch.setattr(gradient_check, "SAMPLE", 8)
    real, x_train = utils.backprop, FAMILY[data]()
    for name in utils.TRAINED:

        def planted(params, cache, name=name):
            return {k: v * (1.001 if k == name else 1.0) for k, v in real(params, cache).items()}

        monkeypatch.setattr(utils, "backprop", planted)
        message = gradient_check.failure(run_check(x_train))
        assert message is not None and f"d{name} has a relative error" in message, (name, message)


def test_the_check_skips_entries_at_a_relu_kink_and_restores_every_entry():
    x = shipped()[:5]  # all inked: the check's batch starts with them
    params = utils.init(np.random.default_rng(3))
    params["b_in"][0, 7] = -(x @ params["w_in"].T)[2, 7]  # image 2 puts unit 7 exactly at 0
    z_in = utils.forward_in_vector(x, params["w_in"], params["b_in"])
    on = int(np.flatnonzero(z_in[2])[0])  # and, for a unit on, Layer_rec's exactly at 0
    params["b_rec"][0, on] = -z_in[2, on]  # (w_rec is I: a_rec is z_in + b_rec)
    before = {k: v.copy() for k, v in params.items()}
    result = program.check_backprop(params, x, np.random.default_rng(0))
    assert result["arrays"]["b_in"]["skipped"] >= 2 and result["arrays"]["b_in"]["checked"] >= 50
    assert gradient_check.failure(result) is None
    assert all(np.array_equal(params[k], before[k]) for k in params)

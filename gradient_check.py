"""Backprop checked against central differences.

Two generic helpers, after CS231n's gradient_check.py, that know nothing of the network:

- central_difference(f, array, index, step): the derivative of a function of `array` in
  one entry, by (f(w + h) - f(w - h)) / 2h, with the kink rule: None where the function
  has a kink within the step (a ReLU that switches on or off), as there the difference
  means nothing;
- relative_error(analytic, numeric, floor): |a - n| / max(|a|, |n|, floor). The floor
  keeps rounding from passing for an error where the gradient itself is tiny.

And the run's check of utils.backprop: check_batch(x_train, rng) picks the images,
check_backprop(params, x, rng) checks a random sample of each array's entries (all of a
small one), failure(result) words what went wrong, if anything. Where no ReLU switches,
the loss is quadratic in one entry, so its central difference is exact but for rounding.

Rounding: the loss L is a sum of terms of its own size, each rounded to about eps times
itself (eps = 2.2e-16), so a difference of two losses over 2h carries an error of up to
about eps * L / h. A gradient far smaller than that cannot be told apart from rounding;
the floor, eps * L / (h * MAX_ERROR), is the scale at which that rounding would be an error
of MAX_ERROR, so below it errors are measured on the floor's scale instead. (Measured on
the shipped images, the rounding is about 50 times smaller still.)
"""

import numpy as np

import utils

STEP = 1e-4  # central-difference step: few ReLUs switch within it, rounding stays small
SAMPLE = 80  # entries checked in each array, drawn at random; every entry of a smaller one
CHECK_IMAGES = 10  # training images in the check's batch, and as many of noise
MAX_ERROR = 1e-6  # the largest error allowed
EPS = np.finfo(np.float64).eps


def central_difference(f, array, index, step=STEP, pattern=None):
    """d sum(terms) / d array[index] by central difference, or None at a kink.

    f() -> (terms, pattern): the function as an array of terms whose sum it is, evaluated
    at the array's current values, and a list of arrays (say, where each ReLU is on) that
    changes only where the function has a kink. pattern: f()'s at the array as it is, if
    known. The two sides are subtracted term by term before summing: far less rounding
    than two totals. array[index] is restored exactly.
    """
    original = array[index]
    if pattern is None:
        _, pattern = f()
    sides = []
    for value in (original + step, original - step):
        array[index] = value
        try:
            terms, moved = f()
        finally:
            array[index] = original
        if any(not np.array_equal(a, b) for a, b in zip(moved, pattern)):
            return None
        sides.append(terms)
    return float(np.sum(sides[0] - sides[1])) / (2 * step)


def relative_error(analytic, numeric, floor=0.0):
    """|a - n| / max(|a|, |n|, floor); 0 where all three are 0."""
    scale = max(abs(analytic), abs(numeric), floor)
    return abs(analytic - numeric) / scale if scale > 0 else 0.0


def rounding_floor(loss, step=STEP):
    """The gradient size below which rounding of the loss could pass for MAX_ERROR."""
    return EPS * loss / (step * MAX_ERROR)


def check_backprop(params, x, rng):
    """utils.backprop against central differences of the loss on the batch x (N, 225).

    rng draws the SAMPLE entries of each array. Returns {"step", "floor", "max_allowed",
    "arrays": {name: {"shape", "entries", "checked", "skipped", "max_relative_error"}}}.
    """

    def relus_on(cache):  # where each ReLU is on: it changes only at a kink of the loss
        return [cache[name] > 0 for name in ("z_in", "z_rec", "y")]

    def loss_terms():  # the loss as its squared errors, and where each ReLU is on
        y, cache = utils.forward(params, x)
        return (y - x) ** 2, relus_on(cache)

    y, cache = utils.forward(params, x)
    grads, pattern = utils.backprop(params, cache), relus_on(cache)
    floor = rounding_floor(utils.get_loss(y, x))

    arrays = {}
    for name in utils.TRAINED:
        size = params[name].size
        entries = rng.choice(size, min(size, SAMPLE), replace=False)
        errors = []
        for i in entries:
            index = np.unravel_index(i, params[name].shape)
            numeric = central_difference(loss_terms, params[name], index, pattern=pattern)
            if numeric is not None:
                errors.append(relative_error(grads[name][index], numeric, floor))
        arrays[name] = {
            "shape": list(params[name].shape),
            "entries": size,
            "checked": len(errors),
            "skipped": len(entries) - len(errors),
            "max_relative_error": max(errors, default=0.0),
        }
    return {"step": STEP, "floor": floor, "max_allowed": MAX_ERROR, "arrays": arrays}


def check_batch(x_train, rng):
    """The check's batch (N, 225): the first CHECK_IMAGES training images with any ink (an
    all-black image puts every unit exactly at its ReLU's kink, where the loss has no
    derivative), and CHECK_IMAGES of uniform noise drawn by rng, so that every weight
    has a gradient to check whatever the training images are."""
    inked = x_train[x_train.any(axis=1)][:CHECK_IMAGES]
    return np.concatenate([inked, rng.uniform(0.0, 1.0, (CHECK_IMAGES, x_train.shape[1]))])


def failure(result):
    """What check_backprop's result says went wrong, in one line; None if it passed."""
    arrays = result["arrays"]
    unchecked = [name for name, r in arrays.items() if r["checked"] == 0]
    worst = max(arrays, key=lambda name: arrays[name]["max_relative_error"])
    if unchecked:
        return f"the gradient check could check no entry of {', '.join(unchecked)}"
    if arrays[worst]["max_relative_error"] > result["max_allowed"]:
        return (
            f"backprop disagrees with central differences: d{worst} has a relative error "
            f"of {arrays[worst]['max_relative_error']:.2g}, more than {result['max_allowed']:g}"
        )
    return None

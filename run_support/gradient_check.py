"""Gradients checked against central differences, for any function of arrays: generic,
after CS231n's gradient_check.py; nothing here knows the network.

central_difference gives d f / d array[index] by (f(w + h) - f(w - h)) / 2h, or None where f
has a kink within the step; relative_error is |a - n| / max(|a|, |n|, floor); check compares
a sample of each array's entries, and failure says what went wrong. The floor: a difference
of two sums of many terms, over 2h, carries a rounding error of about eps * total / h; below
rounding_floor(total) that alone could be an error of MAX_ERROR (docs/backprop.md).
"""

import numpy as np

STEP = 1e-4  # central-difference step
SAMPLE = 80  # entries checked in each array, drawn at random; all of a smaller one
MAX_ERROR = 1e-6  # the largest relative error allowed
EPS = np.finfo(np.float64).eps


def central_difference(f, array, index, step=STEP, pattern=None):
    """d sum(terms) / d array[index] by central difference, or None at a kink. f() ->
    (terms, pattern): the function as an array of terms whose sum it is, and a list of arrays
    that changes only at a kink; pattern: f()'s here, if known. The sides are subtracted term
    by term (far less rounding than two totals); array[index] is restored exactly."""
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


def rounding_floor(total, step=STEP):
    """The gradient size below which rounding of the total could pass for MAX_ERROR."""
    return EPS * total / (step * MAX_ERROR)


def check(f, arrays, grads, rng):
    """grads (name -> array) against central differences of f (as for central_difference)
    in arrays (name -> array), at SAMPLE distinct entries of each drawn by rng (all of a
    smaller one). Returns {"step", "floor", "max_allowed", "arrays": {name: {"shape",
    "entries", "checked", "skipped", "max_relative_error"}}}, in the order of grads."""
    terms, pattern = f()
    floor, result = rounding_floor(float(np.sum(terms))), {}
    for name, grad in grads.items():
        array, errors = arrays[name], []
        entries = rng.choice(array.size, min(array.size, SAMPLE), replace=False)
        for index in (np.unravel_index(i, array.shape) for i in entries):
            numeric = central_difference(f, array, index, pattern=pattern)
            if numeric is not None:
                errors.append(relative_error(grad[index], numeric, floor))
        counts = {"entries": array.size, "checked": len(errors)}
        counts["skipped"] = len(entries) - len(errors)
        result[name] = {"shape": list(array.shape), **counts}
        result[name]["max_relative_error"] = max(errors, default=0.0)
    return {"step": STEP, "floor": floor, "max_allowed": MAX_ERROR, "arrays": result}


def failure(result):
    """What check's result says went wrong, in one line; None if every array passed."""
    arrays = result["arrays"]
    unchecked = [name for name, r in arrays.items() if r["checked"] == 0]
    if unchecked:
        return f"the gradient check could check no entry of {', '.join(unchecked)}"
    worst = max(arrays, key=lambda name: arrays[name]["max_relative_error"])
    error, limit = arrays[worst]["max_relative_error"], result["max_allowed"]
    said = f"d{worst} has a relative error of {error:.2g}, more than {limit:g}"
    return f"backprop disagrees with central differences: {said}" if error > limit else None

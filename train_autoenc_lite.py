"""AutoEncNetLite, Homework II: the whole homework in one run.

    python train_autoenc_lite.py            (python train_autoenc_lite.py -h for the flags)

1. loads the training and test images and scales them to [0, 1];
2. initialises the network from one seed (every random draw of the run comes from it);
3. times Layer_in in scalar form against vector form, for batches of 1 to 100 images;
4. checks backprop against central differences on one batch, and stops if they disagree;
5. trains by SGD (1000 updates, batches of 20 images, lr 0.001, sum-squared loss);
6. runs the test images through the trained network, beside two baselines;
7. writes all its outputs at once into results/: four figures, results.json, weights.npz.

The math is in utils.py, the reading of image files in image_files.py and every figure in
plots.py; this file runs the homework, measures and reports. It needs no display.
"""

import argparse
import importlib.util
import json
import math
import os
import pathlib
import signal
import sys
import tempfile
import time
import timeit

PROGRAM = "train_autoenc_lite.py"
HERE = pathlib.Path(__file__).resolve().parent
STOP_SIGNALS = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]


class Stopped(BaseException):
    """Ctrl-C (SIGINT), SIGTERM or SIGHUP: the run ends in one line, status 128 + signal."""


_stop_signals = []  # the signal that asked the run to stop, once one has


def stop(signum, frame):
    """The handler of STOP_SIGNALS. It only records the signal: the run looks for it
    (stop_if_asked) between its steps, never in the middle of one (writing a file, say)."""
    _stop_signals.append(signum)


def stop_if_asked():
    if _stop_signals:
        raise Stopped(_stop_signals[0])


def stopped(error):
    """Say how the run was stopped, in one line; its exit status."""
    signum = error.args[0] if isinstance(error, Stopped) else signal.SIGINT
    how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    print(f"{PROGRAM}: {how}", file=sys.stderr)
    return 128 + signum


if __name__ == "__main__":  # from the start: a stop while the packages below load is one line
    for _signum in STOP_SIGNALS:
        signal.signal(_signum, stop)

try:
    import numpy as np

    import image_files
    import plots
    import utils

    stop_if_asked()
except ImportError:  # NumPy or Matplotlib missing: say so in one line, before any work
    _missing = [name for name in ("numpy", "matplotlib") if importlib.util.find_spec(name) is None]
    if __name__ != "__main__" or not _missing:
        raise
    print(
        f"{PROGRAM}: error: {' and '.join(_missing)} not installed for {sys.executable}; "
        f"install what the program needs with: {sys.executable} -m pip install -r "
        f"{HERE / 'requirements.txt'}",
        file=sys.stderr,
    )
    sys.exit(2)
except (Stopped, KeyboardInterrupt) as _error:
    if __name__ != "__main__":
        raise
    sys.exit(stopped(_error))

DEFAULTS = {
    "steps": 1000,
    "batch_size": 20,
    "lr": 0.001,
    "seed": 0,
    "out": "results",
    "train": str(HERE / "images_train.pickle"),
    "test": str(HERE / "images_test.pickle"),
}
FIGURES = ("learning_curve.png", "test_pairs.png", "weights.png", "layer_in_timing.png")
OUTPUTS = (*FIGURES, "results.json", "weights.npz")


class RunError(Exception):
    """A run that cannot go on; the message is one line for the user. Exit status 1."""

    status = 1


class InputError(RunError):
    """A flag or a file that makes no sense. Exit status 2."""

    status = 2


# ------------------------------------------------------------------------ the data


def to_batch(images):
    """(N, 15, 15) pixels 0..255 -> (N, 225) network inputs in [0, 1]."""
    return images.reshape(len(images), utils.D) / 255.0


def to_images(batch):
    """(N, 225) network outputs -> (N, 15, 15) on the pixel scale 0..255."""
    return batch.reshape(len(batch), utils.SIDE, utils.SIDE) * 255.0


def load_data(train_file, test_file, batch_size):
    """The training and test images as network inputs (N, 225); InputError if unusable."""
    try:
        images_train = image_files.load_images(train_file)
    except image_files.ImageFileError as e:
        raise InputError(f"--train {e}") from None
    stop_if_asked()
    try:
        images_test = image_files.load_images(test_file)
    except image_files.ImageFileError as e:
        raise InputError(f"--test {e}") from None
    if batch_size > len(images_train):
        raise InputError(
            f"--batch-size {batch_size}: larger than the {len(images_train)} "
            f"images in {shown(train_file)}"
        )
    return to_batch(images_train), to_batch(images_test)


# ------------------------------------------------------------------------ training


def train(params, x_train, steps, batch_size, lr, rng, report=None):
    """SGD on the sum-squared loss: `steps` updates of params (in place), each on a batch of
    `batch_size` different images drawn at random from x_train (N, 225).

    rng: the numpy Generator that draws the batches. report(update, losses), if given, is
    called every max(1, steps // 10) updates and after the last. Returns the loss of every
    update (on its batch, before its step). Raises RunError naming the first update after
    which the loss or the weights are not finite numbers.
    """
    losses = np.empty(steps)
    report_every = max(1, steps // 10)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below
        for step in range(steps):
            stop_if_asked()
            x = x_train[rng.choice(len(x_train), batch_size, replace=False)]
            y, cache = utils.forward(params, x)
            losses[step] = utils.get_loss(y, x)
            utils.apply_dw(params, utils.backprop(params, cache), lr)
            if not (math.isfinite(losses[step]) and weights_are_finite(params)):
                what = "the loss" if not math.isfinite(losses[step]) else "the weights"
                raise diverged(f"{what} stopped being finite at update {step + 1} of {steps}", lr)
            if report and ((step + 1) % report_every == 0 or step + 1 == steps):
                report(step + 1, losses[: step + 1])
    return losses


def weights_are_finite(params):
    return all(np.isfinite(params[name]).all() for name in utils.TRAINED)


def diverged(what, lr):
    return RunError(
        f"training diverged: {what} with --lr {lr:g}; try a smaller --lr, such as {lr / 10:g}"
    )


def evaluate(params, x_test, x_train):
    """The trained network on the test images: outputs (N, 225), the test loss, each
    image's loss, and the loss of two baselines on the same images: an all-zero output
    and the mean training image."""
    with np.errstate(over="ignore", invalid="ignore"):
        y, _ = utils.forward(params, x_test)
    per_image = np.sum((y - x_test) ** 2, axis=1)
    mean_image = np.broadcast_to(x_train.mean(axis=0), x_test.shape)
    baselines = {
        "zeros": utils.get_loss(np.zeros_like(x_test), x_test),
        "mean_image": utils.get_loss(mean_image, x_test),
    }
    return y, utils.get_loss(y, x_test), per_image, baselines


def dead_units(params, x_train):
    """The Layer_in units that output 0 for every training image."""
    z_in = utils.forward_in_vector(x_train, params["w_in"], params["b_in"])
    return np.flatnonzero(~(z_in > 0).any(axis=0))


def dead_network_warning(y_test, losses, lr):
    """A warning if the trained network outputs 0 everywhere (every output ReLU is off), as
    it does after a too-large learning rate blew the weights up; None if it does not."""
    if y_test.any():
        return None
    peak = int(np.argmax(losses))
    return (
        f"warning: the trained network outputs 0 for every test pixel (every output ReLU "
        f"is off), no better than the all-zero baseline; the training loss peaked at "
        f"{losses[peak]:.3g} at update {peak + 1}. Try a smaller --lr, such as {lr / 10:g}"
    )


# ---------------------------------------------------------------- gradient check

GRADIENT_STEP = 1e-4  # central-difference step: few ReLUs switch, rounding stays ~1e-9
GRADIENT_IMAGES = 20  # the batch the check runs on: the first images of the training set
GRADIENT_SAMPLE = 80  # entries checked in each weight matrix; every entry of the biases
MAX_GRADIENT_ERROR = 1e-6  # largest relative error allowed


def check_gradients(params, x, rng):
    """utils.backprop against central differences of the loss on the batch x.

    Every entry of b_in and b_out, and GRADIENT_SAMPLE entries of w_in, w_link and w_out
    drawn by rng. An entry is skipped, and counted, if any ReLU switches within its step:
    then the loss has a kink there and the difference means nothing. Elsewhere the loss is
    quadratic in the entry, so the central difference is exact but for rounding.
    Returns {array: {"shape", "entries", "checked", "skipped", "max_relative_error"}}.
    """
    _, cache = utils.forward(params, x)
    grads = utils.backprop(params, cache)
    masks = relu_masks(cache)
    report = {}
    for name in utils.TRAINED:
        stop_if_asked()
        size = params[name].size
        flat = range(size) if name.startswith("b_") else rng.choice(size, GRADIENT_SAMPLE, False)
        errors = []
        for i in flat:
            index = np.unravel_index(i, params[name].shape)
            numeric = central_difference(params, x, name, index, masks)
            if numeric is not None:
                errors.append(relative_error(grads[name][index], numeric))
        report[name] = {
            "shape": list(params[name].shape),
            "entries": size,
            "checked": len(errors),
            "skipped": len(flat) - len(errors),
            "max_relative_error": max(errors, default=0.0),
        }
    return report


def relu_masks(cache):
    """Where each ReLU is on: its output is above 0 exactly where its input is."""
    return [cache[name] > 0 for name in ("z_in", "z_rec", "y")]


def central_difference(params, x, name, index, masks):
    """(L(w + h) - L(w - h)) / 2h for the entry params[name][index], or None if a ReLU
    switched within the step. The entry is restored exactly."""
    w = params[name]
    original = w[index]
    squared_errors = []
    for value in (original + GRADIENT_STEP, original - GRADIENT_STEP):
        w[index] = value
        y, cache = utils.forward(params, x)
        w[index] = original
        if any(not np.array_equal(a, b) for a, b in zip(relu_masks(cache), masks)):
            return None
        squared_errors.append((y - x) ** 2)
    # summed after subtracting pixel by pixel: far less rounding than two totals
    return float(np.sum(squared_errors[0] - squared_errors[1])) / (2 * GRADIENT_STEP)


def relative_error(analytic, numeric):
    """|a - n| / max(|a|, |n|); 0 where both are 0."""
    scale = max(abs(analytic), abs(numeric))
    return abs(analytic - numeric) / scale if scale > 0 else 0.0


# -------------------------------------------------------------------------- timing

TIMING_SIZES = (1, 2, 5, 10, 20, 50, 100)  # batch sizes at which Layer_in is timed
TIMING_REPEATS = 5
MIN_REPEAT_SECONDS = 0.002  # each repeat calls a form often enough to last this long
MAX_LAYER_IN_DIFFERENCE = 1e-12  # scalar and vector Layer_in must agree to this


def time_per_call(fn):
    """(calls per repeat, best, median) seconds per call of fn(), measured by timeit: one
    call sizes the repeats, then TIMING_REPEATS repeats of `calls` calls each. (Timer's own
    autorange aims at 0.2 s a measurement; fourteen of them would take 3 s.)"""
    stop_if_asked()
    timer = timeit.Timer(fn)
    calls = max(1, math.ceil(MIN_REPEAT_SECONDS / max(timer.timeit(1), 1e-9)))
    per_call = [total / calls for total in timer.repeat(TIMING_REPEATS, calls)]
    return calls, min(per_call), float(np.median(per_call))


def compare_layer_in(x_train, w_in, b_in, batch_size):
    """Layer_in in scalar and vector form: checks that they agree on a batch of
    batch_size images, then times both on the first N training images for each N of
    TIMING_SIZES (and batch_size). Returns the timings, by batch size."""
    x = x_train[:batch_size]
    scalar_out = utils.forward_in_scalar(x, w_in, b_in)
    difference = float(np.abs(scalar_out - utils.forward_in_vector(x, w_in, b_in)).max())
    if difference > MAX_LAYER_IN_DIFFERENCE:
        raise RunError(
            f"Layer_in's scalar and vector forms differ by {difference:.3g} (more "
            f"than {MAX_LAYER_IN_DIFFERENCE:g})"
        )
    sizes = sorted({n for n in TIMING_SIZES if n <= len(x_train)} | {batch_size})
    rows = []
    for n in sizes:
        x = x_train[:n]
        scalar = time_per_call(lambda: utils.forward_in_scalar(x, w_in, b_in))  # noqa: B023
        vector = time_per_call(lambda: utils.forward_in_vector(x, w_in, b_in))  # noqa: B023
        rows.append(
            {
                "batch_size": n,
                "speedup": scalar[1] / vector[1],
                "scalar": dict(zip(("calls_per_repeat", "best", "median"), scalar)),
                "vector": dict(zip(("calls_per_repeat", "best", "median"), vector)),
            }
        )
    return {
        "repeats": TIMING_REPEATS,
        "max_difference": difference,
        "difference_batch_size": batch_size,
        "by_batch_size": rows,
    }


# ---------------------------------------------------------------------- reporting


def format_seconds(s):
    """A duration in the unit that suits it: '21.3 ms', '8.4 us', '207 us'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            value = s / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"


def shown(path):
    """A path as the user would write it: relative to the current folder when inside it,
    and escaped (repr) if it holds characters a terminal would act on."""
    text = str(path)
    try:
        relative = os.path.relpath(text) if os.path.isabs(text) else text
    except ValueError:  # on another drive (Windows)
        relative = text
    text = text if relative.startswith("..") else relative
    return text if text.isprintable() else repr(text)


def count(n, noun):
    """'1 update', '2 updates'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def loss_text(loss):
    """A loss for the progress table: two decimals, or three digits once it is huge."""
    return f"{loss:.2f}" if loss < 1e6 else f"{loss:.3g}"


def table(rows, left=1):
    """Rows of cells as aligned text: the first `left` columns to the left, the rest right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  "
        + "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    )


def timing_report(timing, folder):
    """Today's table for the training batch size, then the speed-up at every size."""
    [row] = [
        r for r in timing["by_batch_size"] if r["batch_size"] == timing["difference_batch_size"]
    ]
    cells = [("form", "calls x repeats", "per call (best)", "per call (median)")]
    for form in ("scalar", "vector"):
        t = row[form]
        cells.append(
            (
                form,
                f"{t['calls_per_repeat']} x {timing['repeats']}",
                format_seconds(t["best"]),
                format_seconds(t["median"]),
            )
        )
    speedups = "  ".join(f"{r['batch_size']}: {r['speedup']:.0f}x" for r in timing["by_batch_size"])
    return "\n".join(
        [
            table(cells),
            f"  vector form {row['speedup']:.0f}x faster (best against best); largest difference "
            f"between the two outputs {timing['max_difference']:.1e}",
            f"  speed-up by batch size ({shown(folder / 'layer_in_timing.png')}): {speedups}",
        ]
    )


def gradient_report(check, seconds):
    """The gradient check as a table: per array, the entries checked and the largest error."""
    cells = [("array", "shape", "entries", "checked", "skipped", "largest relative error")]
    for name, r in check.items():
        counts = (str(r["entries"]), str(r["checked"]), str(r["skipped"]))
        shape = "x".join(str(n) for n in r["shape"])
        cells.append((name, shape, *counts, f"{r['max_relative_error']:.1e}"))
    worst = max(r["max_relative_error"] for r in check.values())
    verdict = "at most" if worst <= MAX_GRADIENT_ERROR else "NOT all within"
    return "\n".join(
        [
            table(cells, left=2),
            "  skipped: entries where a ReLU switches within the step (the loss has a kink there)",
            f"  every error {verdict} {MAX_GRADIENT_ERROR:g}; took {format_seconds(seconds)}",
        ]
    )


# ------------------------------------------------------------------------ outputs


class OutputSet:
    """The run's output files, written as one set: each first to a new temporary file in
    the folder (an exclusive, unpredictable name: it follows no planted link), then all
    renamed into place together by commit(). Leaving the `with` block without committing
    removes them all: the folder keeps the previous run's files, never a mix."""

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.pending = []  # (temporary path, final path)
        mask = os.umask(0)
        os.umask(mask)
        self.mode = 0o666 & ~mask  # what open() would have given the file

    def write(self, name, write_to):
        """write_to(file) fills the output `name`, open as a binary file."""
        stop_if_asked()
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".tmp")
        self.pending.append((tmp, self.folder / name))
        with open(fd, "wb") as f:
            write_to(f)
        os.chmod(tmp, self.mode)

    def commit(self):
        """Rename every output into place: no stop is looked for in between."""
        for tmp, final in self.pending:
            os.replace(tmp, final)
        self.pending = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for tmp, _ in self.pending:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self.pending = []


def make_folder(out):
    """The results folder, made if need be and proven writable; InputError otherwise."""
    if not str(out):
        raise InputError("--out: an empty name; name a folder, such as --out results")
    folder = pathlib.Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"--out {shown(out)}: exists and is not a folder") from None
    except OSError as e:
        raise InputError(
            f"--out {shown(out)}: cannot make the folder ({e.strerror or e})"
        ) from None
    for name in OUTPUTS:
        if (folder / name).is_dir():
            raise InputError(f"--out {shown(out)}: a folder named {name} is in the way")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(
            f"--out {shown(out)}: cannot write in the folder ({e.strerror or e})"
        ) from None
    return folder


# ---------------------------------------------------------------------------- run


class Laps:
    """The seconds spent in each part of the run: laps(name) ends the part called name,
    begun where the last one ended, and returns its length."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.seconds = {}

    def __call__(self, name):
        now = time.perf_counter()
        self.seconds[name], self.last = now - self.last, now
        return self.seconds[name]

    def total(self):
        return time.perf_counter() - self.start


def print_flushed(text=""):
    print(text, flush=True)  # at once, line by line, also into a pipe


def run(
    steps=DEFAULTS["steps"],
    batch_size=DEFAULTS["batch_size"],
    lr=DEFAULTS["lr"],
    seed=DEFAULTS["seed"],
    train_file=DEFAULTS["train"],
    test_file=DEFAULTS["test"],
    out=DEFAULTS["out"],
    say=print_flushed,
):
    """The whole homework; returns what it writes to results.json. say(text) prints."""
    laps = Laps()
    config = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "train": str(train_file),
        "test": str(test_file),
    }
    x_train, x_test = load_data(train_file, test_file, batch_size)
    folder = make_folder(out)
    laps("loading")
    say(
        f"AutoEncNetLite: {count(len(x_train), 'training image')} ({shown(train_file)}), "
        f"{count(len(x_test), 'test image')} ({shown(test_file)})"
    )

    rng = np.random.default_rng(seed)  # the run's one source of randomness
    params = utils.init(rng)
    initial = {name: params[name].copy() for name in ("w_in", "w_out")}  # for weights.png

    say(f"\nLayer_in (75 units x 225 pixels) on {count(batch_size, 'training image')}:")
    timing = compare_layer_in(x_train, params["w_in"], params["b_in"], batch_size)
    laps("layer_in_timing")
    say(timing_report(timing, folder))

    x_check = x_train[: min(batch_size, GRADIENT_IMAGES)]
    say(
        f"\nBackprop against central differences (step {GRADIENT_STEP:.0e}) on "
        f"{count(len(x_check), 'training image')}:"
    )
    gradient_check = check_gradients(params, x_check, rng.spawn(1)[0])
    say(gradient_report(gradient_check, laps("gradient_check")))
    for name, result in gradient_check.items():
        if result["max_relative_error"] > MAX_GRADIENT_ERROR:
            raise RunError(
                f"backprop disagrees with central differences: d{name} has a "
                f"relative error of {result['max_relative_error']:.2g}, more than "
                f"{MAX_GRADIENT_ERROR:g}"
            )

    say(
        f"\nTraining: {count(steps, 'SGD update')}, batches of "
        f"{count(batch_size, 'random image')}, lr {lr:g}, seed {seed}"
    )
    say(f"  {'update':>7}  {'loss':>10}  {'mean of the last 100':>20}")

    def report(update, losses):
        say(f"  {update:>7}  {loss_text(losses[-1]):>10}  {loss_text(losses[-100:].mean()):>20}")

    losses = train(params, x_train, steps, batch_size, lr, rng, report)
    seconds_per_update = laps("training") / steps

    y_test, test_loss, per_image, baselines = evaluate(params, x_test, x_train)
    if not math.isfinite(test_loss):
        raise diverged(
            f"after update {steps} of {steps} the weights are so large that the test loss "
            f"is {test_loss}",
            lr,
        )
    warning = dead_network_warning(y_test, losses, lr)
    results = {
        "config": config,
        "timing": timing,
        "gradient_check": {
            "step": GRADIENT_STEP,
            "images": len(x_check),
            "max_allowed": MAX_GRADIENT_ERROR,
            "arrays": gradient_check,
        },
        "losses": losses.tolist(),
        "seconds_per_update": seconds_per_update,
        "test_loss": test_loss,
        "test_loss_per_image": per_image.tolist(),
        "baselines": baselines,
        "final_loss_mean_last_100": float(losses[-100:].mean()),
        "dead_units": dead_units(params, x_train).tolist(),
        "warnings": [warning] if warning else [],
        "seconds": laps.seconds,  # each part of the run; "total" is added last
    }
    laps("testing")
    images = {"inputs": to_images(x_test), "outputs": to_images(y_test)}
    write_outputs(folder, results, params, initial, images, laps)
    stop_if_asked()  # a stop asked for while the outputs were renamed: they are whole
    say(summary(results, folder))
    if warning:
        print(f"{PROGRAM}: {warning}", file=sys.stderr)
    return results


def write_outputs(folder, results, params, initial, images, laps):
    """Every output, written as one set into folder; RunError if that fails."""
    figures = {
        "learning_curve.png": lambda f: plots.learning_curve(
            f, results["losses"], results["config"]
        ),
        "test_pairs.png": lambda f: plots.test_pairs(
            f, images["inputs"], images["outputs"], results["test_loss_per_image"]
        ),
        "weights.png": lambda f: plots.weights(
            f, params, initial, results["dead_units"], results["config"]["steps"]
        ),
        "layer_in_timing.png": lambda f: plots.layer_in_timing(f, results["timing"]),
    }
    try:
        with OutputSet(folder) as outputs:
            for name, draw in figures.items():
                outputs.write(name, draw)
            laps("figures")
            results["seconds"]["total"] = laps.total()
            text = json.dumps(results, indent=1, allow_nan=False)  # NaN is no JSON, and no result
            outputs.write("results.json", lambda f: f.write(text.encode()))
            outputs.write("weights.npz", lambda f: np.savez(f, **params))
            outputs.commit()
    except OSError as e:
        raise RunError(
            f"--out {shown(folder)}: cannot write the results ({e.strerror or e})"
        ) from None


def summary(results, folder):
    losses, n_test = results["losses"], len(results["test_loss_per_image"])
    last, baselines, seconds = losses[-100:], results["baselines"], results["seconds"]
    lines = [
        "\nSummary",
        f"  final training loss   {losses[-1]:.2f} (mean of the last {count(len(last), 'update')} "
        f"{sum(last) / len(last):.2f}; first update {losses[0]:.2f})",
        f"  test loss             {results['test_loss']:.2f} over {count(n_test, 'test image')} "
        f"({results['test_loss'] / n_test:.2f} per image)",
        f"  baselines on the same test images: all-zero output {baselines['zeros']:.2f}, "
        f"mean training image {baselines['mean_image']:.2f}",
        f"  training took {seconds['training']:.2f} s "
        f"({format_seconds(results['seconds_per_update'])} per update)",
        f"  the run took {seconds['total']:.2f} s once Python had loaded NumPy and Matplotlib: "
        f"Layer_in timing {seconds['layer_in_timing']:.2f} s,",
        f"  gradient check {seconds['gradient_check']:.2f} s, training "
        f"{seconds['training']:.2f} s, figures {seconds['figures']:.2f} s",
    ]
    return "\n".join(lines + [f"  wrote {shown(folder / name)}" for name in OUTPUTS])


# --------------------------------------------------------------------------- flags

MAX_STEPS = 10_000_000
MAX_SEED = 2**32 - 1
MAX_LR = 1e10


def quoted(text, limit=40):
    """A flag's value for a message: repr-escaped, and cut short."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def whole_number(low, high):
    """An argparse type: a whole number from low to high."""

    def parse(text):
        digits = text.strip().lstrip("+-").replace("_", "")
        try:
            value = int(text) if len(digits) <= 30 else None  # no million-digit numbers
        except ValueError:
            value = None
        if not digits.isdecimal() or (value is None and len(digits) <= 30):
            raise argparse.ArgumentTypeError(f"{quoted(text)} is not a whole number")
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{quoted(text)} is out of range: {low:,} to {high:,}")
        return value

    return parse


def learning_rate(text):
    """An argparse type: a number above 0 and at most MAX_LR."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a number") from None
    if not 0 < value <= MAX_LR:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"{quoted(text)} is out of range: above 0, at most {MAX_LR:g}"
        )
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake costs one line on stderr (and exit status 2), not the usage too."""

    def error(self, message):
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        self.exit(2, f"{self.prog}: error: {message} (see -h)\n")


def parse_args(argv):
    parser = OneLineParser(
        prog=PROGRAM,
        description="Train AutoEncNetLite by SGD and report: timing, gradient check, learning "
        "curve, test images, weights. Paths are relative to the current folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--steps",
        type=whole_number(1, MAX_STEPS),
        default=DEFAULTS["steps"],
        metavar="N",
        help=f"SGD updates, 1 to {MAX_STEPS:,}",
    )
    add(
        "--batch-size",
        type=whole_number(1, image_files.MAX_IMAGES),
        metavar="N",
        default=DEFAULTS["batch_size"],
        help="images per update, 1 to the number of training images",
    )
    add(
        "--lr",
        type=learning_rate,
        default=DEFAULTS["lr"],
        help=f"learning rate, above 0 and at most {MAX_LR:g}",
    )
    add(
        "--seed",
        type=whole_number(0, MAX_SEED),
        default=DEFAULTS["seed"],
        metavar="N",
        help=f"seed of every random draw, 0 to {MAX_SEED:,}",
    )
    add(
        "--train",
        default=DEFAULTS["train"],
        metavar="FILE",
        help="training images: a pickle of an (N, 15, 15) array",
    )
    add(
        "--test",
        default=DEFAULTS["test"],
        metavar="FILE",
        help="test images, the same kind of file",
    )
    add("--out", default=DEFAULTS["out"], metavar="FOLDER", help="folder for the results")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    _stop_signals.clear()
    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        run(args.steps, args.batch_size, args.lr, args.seed, args.train, args.test, args.out)
    except RunError as e:
        print(f"{PROGRAM}: error: {e}", file=sys.stderr)
        return e.status
    except (Stopped, KeyboardInterrupt) as e:
        return stopped(e)
    except BrokenPipeError:  # stdout was closed (`| head`): end quietly
        silence_stdout()
        return 128 + 13  # as if killed by SIGPIPE, the shell's convention
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def silence_stdout():
    """Point stdout at the null device, so that Python's last flush at exit has nowhere
    to fail."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())

"""AutoEncNetLite, Homework II: the whole homework in one run.

    python train_autoenc_lite.py            (python train_autoenc_lite.py -h for the flags)

1. loads the training and test images and scales them to [0, 1];
2. initialises the network from one seed (every random draw of the run comes from it);
3. times Layer_in in scalar form against vector form, for batches of 1 to 100 images;
4. checks backprop against central differences, and stops if they disagree;
5. trains by SGD (1000 updates, batches of 20 images, lr 0.001, sum-squared loss);
6. runs the test images through the trained network, beside three baselines;
7. writes its outputs as one set into results/: four figures, results.json, weights.npz.

The math is in utils.py, the gradient check in gradient_check.py, how a call is timed in
timing.py, every figure in plots.py and every printed table in report.py. What keeps a run
safe lives apart: the flags, errors and signals in command_line.py, the output set in
output_set.py, the reading of image files in image_files.py. This file runs the homework
and measures it; it needs no display.
"""

import io
import json
import math
import os
import time
from functools import partial

import command_line
from command_line import InputError, RunError, say

with command_line.imports_guarded(__name__):  # one line if NumPy or Matplotlib is missing
    import numpy as np

    import gradient_check
    import image_files
    import output_set
    import plots
    import report
    import timing
    import utils

OUTPUTS = (
    *("learning_curve.png", "test_pairs.png", "weights.png", "layer_in_timing.png"),
    *("results.json", "weights.npz"),
)

# ------------------------------------------------------------------------ the data


def to_batch(images):
    """(N, 15, 15) pixels 0..255 -> (N, 225) network inputs in [0, 1]."""
    return images.reshape(len(images), utils.D) / 255.0


def to_images(batch):
    """(N, 225) network outputs -> (N, 15, 15) on the pixel scale 0..255."""
    return batch.reshape(len(batch), utils.SIDE, utils.SIDE) * 255.0


def load_data(args):
    """The training and test images as network inputs (N, 225); InputError if unusable."""
    images = {}
    for flag in ("train", "test"):
        try:
            images[flag] = image_files.load_images(getattr(args, flag))
        except image_files.ImageFileError as e:
            raise InputError(f"--{flag} {e}") from None
    if args.batch_size > len(images["train"]):
        raise InputError(
            f"--batch-size {args.batch_size}: larger than the {len(images['train'])} "
            f"images in {report.shown(args.train)}"
        )
    return to_batch(images["train"]), to_batch(images["test"])


# ------------------------------------------------------------------------ training


def train(params, x_train, steps, batch_size, lr, rng, on_row=None):
    """SGD on the sum-squared loss: `steps` updates of params (in place), each on a batch of
    `batch_size` different images drawn at random from x_train (N, 225) by rng.

    on_row(update, losses so far), if given, is called every tenth of the run and after
    the last update. Returns the loss of every update (on its batch, before its step).
    RunError names the first update after which the loss or the weights are not finite.
    """
    losses, report_every = np.empty(steps), max(1, steps // 10)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below
        for step in range(steps):
            x = x_train[rng.choice(len(x_train), batch_size, replace=False)]
            y, cache = utils.forward(params, x)
            losses[step] = utils.get_loss(y, x)
            utils.apply_dw(params, utils.backprop(params, cache), lr)
            if not (math.isfinite(losses[step]) and weights_are_finite(params)):
                what = "the loss" if not math.isfinite(losses[step]) else "the weights"
                raise diverged(f"{what} stopped being finite at update {step + 1} of {steps}", lr)
            if on_row and ((step + 1) % report_every == 0 or step + 1 == steps):
                on_row(step + 1, losses[: step + 1])
    return losses


def weights_are_finite(params):
    return all(np.isfinite(params[name]).all() for name in utils.TRAINED)


def smoothing_window(steps):
    """Updates in the moving mean of the progress table and the learning curve: at most
    100, and no more than lie between two rows of the table (a tenth of the run)."""
    return max(1, min(100, steps // 10))


def likely_lr(lr):
    """A learning rate to suggest after lr failed: the default, or a tenth of lr."""
    default = command_line.DEFAULTS["lr"]
    return f"{default:g}, the default" if lr > default else f"{lr / 10:g}"


def diverged(what, lr):
    return RunError(f"training diverged: {what} with --lr {lr:g}; try --lr {likely_lr(lr)}")


# -------------------------------------------------------------------------- timing

TIMING_SIZES = (1, 2, 5, 10, 20, 50, 100)  # batch sizes at which Layer_in is timed
MAX_LAYER_IN_DIFFERENCE = 1e-12  # scalar and vector Layer_in must agree to this


def compare_layer_in(x_train, w_in, b_in, batch_size):
    """Layer_in in scalar and vector form: checks that they agree on batch_size images,
    then times both on the first N training images for each N of TIMING_SIZES (and
    batch_size). RunError if they disagree."""
    x = x_train[:batch_size]
    scalar = utils.forward_in_scalar(x, w_in, b_in)
    difference = float(np.abs(scalar - utils.forward_in_vector(x, w_in, b_in)).max())
    if not difference <= MAX_LAYER_IN_DIFFERENCE:
        raise RunError(
            f"Layer_in's scalar and vector forms differ by {difference:.3g} (more than "
            f"{MAX_LAYER_IN_DIFFERENCE:g})"
        )
    rows = []
    for n in sorted({n for n in TIMING_SIZES if n <= len(x_train)} | {batch_size}):
        x = x_train[:n]
        # the scalar form's time grows as N: from the size before, it is warm, and a call
        # at N takes about N / N' times as long as one at N'
        last = rows[-1] if rows else None
        expected = last["scalar"]["best"] * n / last["batch_size"] if last else None
        scalar = timing.per_call(partial(utils.forward_in_scalar, x, w_in, b_in), expected=expected)
        vector = timing.per_call(partial(utils.forward_in_vector, x, w_in, b_in))
        spread = max(t["median"] / t["best"] for t in (scalar, vector))  # 1: all alike
        row = {"batch_size": n, "speedup": scalar["best"] / vector["best"], "spread": spread}
        rows.append(
            {**row, "steady": spread <= timing.BUSY_SPREAD, "scalar": scalar, "vector": vector}
        )
    return {
        "clock": timing.CLOCK_NAME,
        "busy_spread": timing.BUSY_SPREAD,
        "max_difference": difference,
        "difference_batch_size": batch_size,
        "by_batch_size": rows,
    }


# ---------------------------------------------------------------------- evaluation


def pca_reconstruction(x_train, x_test, width=utils.P):
    """x_test projected on the top `width` principal components of the centred training
    images, and back: the best any linear code of that width does (Baldi and Hornik)."""
    mean = x_train.mean(axis=0)
    centred = x_train - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)  # eigenvalues in ascending order
    top = vectors[:, ::-1][:, :width]  # (225, width), orthonormal columns: the components
    return mean + (x_test - mean) @ top @ top.T


def evaluate(params, x_test, x_train):
    """The trained network on the test images: its outputs (N, 225), the test loss, each
    image's loss, and the loss of three baselines on the same images."""
    with np.errstate(over="ignore", invalid="ignore"):
        y, _ = utils.forward(params, x_test)
    baselines = {
        "zeros": utils.get_loss(np.zeros_like(x_test), x_test),
        "mean_image": utils.get_loss(np.broadcast_to(x_train.mean(axis=0), x_test.shape), x_test),
        "pca": utils.get_loss(pca_reconstruction(x_train, x_test), x_test),
    }
    return y, utils.get_loss(y, x_test), np.sum((y - x_test) ** 2, axis=1), baselines


def dead_units(params, x_train):
    """The Layer_in units that output 0 for every training image."""
    z_in = utils.forward_in_vector(x_train, params["w_in"], params["b_in"])
    return np.flatnonzero(~(z_in > 0).any(axis=0))


def no_better_than_black(y_test, x_test, test_loss, baselines, losses, lr):
    """A warning if the network does no better than an all-black output on test images
    that are not all black (as after a too-large learning rate); None otherwise."""
    if not x_test.any() or test_loss < baselines["zeros"]:
        return None
    what = (
        "outputs 0 for every test pixel (every output ReLU is off)"
        if not y_test.any()
        else "does no better than an all-black output"
    )
    peak = int(np.argmax(losses))
    return (
        f"warning: the trained network {what}: test loss {test_loss:.2f}, all-black "
        f"{baselines['zeros']:.2f}; the training loss peaked at {losses[peak]:.3g} at "
        f"update {peak + 1}. Try --lr {likely_lr(lr)}"
    )


# -------------------------------------------------------------------------- the run


def timed(fn, *args):
    """fn(*args) and the seconds it took."""
    start = time.perf_counter()
    return fn(*args), time.perf_counter() - start


def main(argv=None):
    """The homework, step by step. Returns the exit status (see command_line)."""
    with command_line.one_line_errors() as outcome:
        start, took = time.perf_counter(), {}
        args = command_line.parse_args(argv)
        (x_train, x_test), took["loading"] = timed(load_data, args)
        with output_set.results_folder(args.out, OUTPUTS) as outputs:
            say(
                f"AutoEncNetLite: {report.count(len(x_train), 'training image')} "
                f"({report.shown(args.train)}), {report.count(len(x_test), 'test image')} "
                f"({report.shown(args.test)})"
            )
            rng = np.random.default_rng(args.seed)  # the run's one source of randomness
            params = utils.init(rng)
            initial = {name: params[name].copy() for name in ("w_in", "w_out")}

            say(f"\nLayer_in ({utils.P} units x {utils.D} pixels), scalar against vector form:")
            layer_in, took["layer_in_timing"] = timed(
                compare_layer_in, x_train, params["w_in"], params["b_in"], args.batch_size
            )
            say(report.timing(layer_in, outputs.folder / "layer_in_timing.png"))

            check_rng = rng.spawn(1)[0]  # the check's own draws: training sees the same rng
            x_check = gradient_check.check_batch(x_train, check_rng)
            say(
                f"\nBackprop against central differences (step {gradient_check.STEP:.0e}) on "
                f"{report.count(len(x_check), 'image')}: training images with ink, and noise"
            )
            check, took["gradient_check"] = timed(
                gradient_check.check_backprop, params, x_check, check_rng
            )
            failed = gradient_check.failure(check)
            say(report.gradient_check(check, failed, took["gradient_check"]))
            if failed:
                raise RunError(failed)

            window = smoothing_window(args.steps)
            say(
                f"\nTraining: {report.count(args.steps, 'SGD update')}, batches of "
                f"{report.count(args.batch_size, 'random image')}, lr {args.lr:g}, "
                f"seed {args.seed}"
            )
            say(report.progress_header(window))

            def on_row(update, so_far):  # a row of the progress table
                say(report.progress_row(update, so_far[-1], so_far[-window:].mean()))

            losses, took["training"] = timed(
                train, params, x_train, args.steps, args.batch_size, args.lr, rng, on_row
            )

            (y_test, test_loss, per_image, baselines), took["testing"] = timed(
                evaluate, params, x_test, x_train
            )
            if not math.isfinite(test_loss):
                raise diverged(f"after the last update the test loss is {test_loss}", args.lr)
            warning = no_better_than_black(y_test, x_test, test_loss, baselines, losses, args.lr)
            results = {
                "config": {k: getattr(args, k) for k in command_line.DEFAULTS},
                "timing": layer_in,
                "gradient_check": {**check, "images": len(x_check)},
                "losses": losses.tolist(),
                "smoothing_window": window,
                "seconds_per_update": took["training"] / args.steps,
                "test_loss": test_loss,
                "test_loss_per_image": per_image.tolist(),
                "baselines": baselines,
                "final_loss_mean": float(losses[-window:].mean()),
                "dead_units": dead_units(params, x_train).tolist(),
                "warnings": [warning] if warning else [],
                "seconds": took,
            }
            images = {"inputs": to_images(x_test), "outputs": to_images(y_test)}
            figures, took["figures"] = timed(plots.all_figures, results, params, initial, images)
            took["total"] = time.perf_counter() - start
            outputs.write_all(
                {**figures, "results.json": json_bytes(results), "weights.npz": npz_bytes(params)}
            )
            say(report.summary(results, outputs.folder, OUTPUTS))
            if warning:
                command_line.error(warning, 0)
    return outcome.status


def json_bytes(results):
    return json.dumps(results, indent=1, allow_nan=False).encode()  # NaN is no result


def npz_bytes(params):
    file = io.BytesIO()
    np.savez(file, **params)
    return file.getvalue()


if __name__ == "__main__":
    status = main()
    # Every output is written and closed, every line printed and flushed. Python's own
    # shutdown would now take Matplotlib's modules apart, object by object, for a tenth of
    # a second of the run's time; there is nothing left for it to do, so end here.
    os._exit(status)

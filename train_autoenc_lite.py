"""AutoEncNetLite, Homework II: the whole homework in one run (-h for the flags). It loads
the images, initialises the network from one seed, times Layer_in's scalar form against its
vector form, checks backprop against central differences (and stops if they disagree),
trains by SGD (1000 updates, batches of 20, lr 0.001), runs the test images through the
network beside three baselines, and writes four figures, results.json and weights.npz into
results/ as one set. The math is utils.py; all else the run needs is in run_support/.
"""

import gc
import json
import math
import os
import sys
import time
from functools import partial

from run_support import command_line
from run_support.command_line import InputError, RunError

with command_line.first_steps(__name__):  # one line if NumPy or Matplotlib cannot load
    import numpy as np

    import utils
    from run_support import baselines, gradient_check, image_files, plots, report, timing
    from run_support.results_folder import results_folder

FIGURES = ("learning_curve.png", "test_pairs.png", "weights.png", "layer_in_timing.png")
OUTPUTS = (*FIGURES, "results.json", "weights.npz")
say = partial(print, flush=True)  # each line at once, into a pipe too


def to_batch(images):
    """(N, 15, 15) pixels 0..255 -> (N, 225) network inputs in [0, 1]."""
    return images.reshape(len(images), utils.D) / 255.0


def to_images(batch):
    """(N, 225) network outputs -> (N, 15, 15) on the pixel scale 0..255."""
    return batch.reshape(len(batch), utils.SIDE, utils.SIDE) * 255.0


def load_data(args):
    """The training and test images as network inputs (N, 225); InputError if unusable."""
    images = []
    for flag, path in (("--train", args.train), ("--test", args.test)):
        try:
            images.append(to_batch(image_files.load_images(path)))
        except image_files.ImageFileError as e:
            raise InputError(f"{flag} {e}") from None
    if args.batch_size > len(images[0]):
        where = f"the {len(images[0])} images in {report.shown(args.train)}"
        raise InputError(f"--batch-size {args.batch_size}: larger than {where}")
    return images


# ------------------------------------------------------------------------ training


def train(params, x_train, steps, batch_size, lr, rng, on_row=None):
    """SGD on the sum-squared loss: `steps` updates of params (in place), each on a batch of
    `batch_size` different images drawn from x_train (N, 225) by rng; on_row(update, losses so
    far) every tenth of the run and at its end. Returns each update's loss (on its batch,
    before its step); RunError names the first update after which a loss or weight is not finite."""
    losses, report_every = np.empty(steps), max(1, steps // 10)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below
        for step in range(steps):
            x = x_train[rng.choice(len(x_train), batch_size, replace=False)]
            y, cache = utils.forward(params, x)
            losses[step] = utils.get_loss(y, x)
            utils.apply_dw(params, utils.backprop(params, cache), lr)
            finite = all(np.isfinite(params[name]).all() for name in utils.TRAINED)
            if not (math.isfinite(losses[step]) and finite):  # the weights overflow first, too
                what = "the loss" if not math.isfinite(losses[step]) else "the weights"
                raise diverged(f"{what} stopped being finite at update {step + 1} of {steps}", lr)
            if on_row and ((step + 1) % report_every == 0 or step + 1 == steps):
                on_row(step + 1, losses[: step + 1])
    return losses


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


# ---------------------------------------------------- Layer_in timing and backprop

TIMING_SIZES = (1, 2, 5, 10, 20, 50, 100)  # batch sizes at which Layer_in is timed
MAX_LAYER_IN_DIFFERENCE = 1e-12  # scalar and vector Layer_in must agree to this


def compare_layer_in(x_train, params, batch_size):
    """Layer_in in scalar and vector form: RunError unless they agree on batch_size images;
    then both timed on the first N training images for each N of TIMING_SIZES (and
    batch_size)."""
    w_in, b_in = params["w_in"], params["b_in"]
    x = x_train[:batch_size]
    scalar = utils.forward_in_scalar(x, w_in, b_in)
    difference = float(np.abs(scalar - utils.forward_in_vector(x, w_in, b_in)).max())
    if not difference <= MAX_LAYER_IN_DIFFERENCE:
        limit = f"more than {MAX_LAYER_IN_DIFFERENCE:g}"
        raise RunError(f"Layer_in's scalar and vector forms differ by {difference:.3g} ({limit})")
    rows = []
    for n in sorted({n for n in TIMING_SIZES if n <= len(x_train)} | {batch_size}):
        x = x_train[:n]
        # the scalar form's time grows as N: from the size before it is warm, and a call at
        # N takes about N / N' times as long as one at N'
        expected = rows[-1]["scalar"]["best"] * n / rows[-1]["batch_size"] if rows else None
        scalar = timing.per_call(partial(utils.forward_in_scalar, x, w_in, b_in), expected=expected)
        vector = timing.per_call(partial(utils.forward_in_vector, x, w_in, b_in))
        spread = max(t["median"] / t["best"] for t in (scalar, vector))  # 1: all alike
        row = {"batch_size": n, "speedup": scalar["best"] / vector["best"], "spread": spread}
        rows.append(
            {**row, "steady": spread <= timing.BUSY_SPREAD, "scalar": scalar, "vector": vector}
        )
    result = {"clock": timing.CLOCK_NAME, "busy_spread": timing.BUSY_SPREAD, "by_batch_size": rows}
    return {**result, "max_difference": difference, "difference_batch_size": batch_size}


CHECK_IMAGES = 8  # training images in the gradient check's batch, and as many of noise


def check_backprop(params, x_train, rng):
    """utils.backprop against central differences of the loss, on CHECK_IMAGES training
    images with ink (an all-black one puts every unit at its ReLU's kink) and as many of
    noise drawn by rng, so that every weight has a gradient to check whatever the images.
    Where each ReLU is on comes from the spec's equations, not from forward's cache: any
    utils.py with the homework's API is checked alike."""
    inked = x_train[x_train.any(axis=1)][:CHECK_IMAGES]
    x = np.concatenate([inked, rng.uniform(0.0, 1.0, (CHECK_IMAGES, x_train.shape[1]))])

    def loss_terms():  # the loss as its squared errors, and where each ReLU is on
        y, _ = utils.forward(params, x)
        a_in = x @ params["w_in"].T + params["b_in"]
        a_rec = np.maximum(a_in, 0.0) @ params["w_rec"].T + params["b_rec"]
        return (y - x) ** 2, [a_in > 0, a_rec > 0, y > 0]

    grads = utils.backprop(params, utils.forward(params, x)[1])
    return {**gradient_check.check(loss_terms, params, grads, rng), "images": len(x)}


def evaluate(params, x_test):
    """The trained network on the test images: its outputs (N, 225), the test loss, and each
    image's loss."""
    with np.errstate(over="ignore", invalid="ignore"):
        y, _ = utils.forward(params, x_test)
    return y, utils.get_loss(y, x_test), np.sum((y - x_test) ** 2, axis=1)


# -------------------------------------------------------------------------- the run


def main(argv=None):
    """The homework; its exit status: 0 done, 1 failed, 2 a flag, file or folder unusable."""
    args = command_line.parse_args(argv)
    try:
        run(args)
    except RunError as e:
        return command_line.error(f"error: {e}", e.status)
    except NotImplementedError as e:  # a slot of the homework's gift pack, still empty
        return command_line.error(f"error: {e}", 1)
    except BrokenPipeError:  # standard output was closed (`| head`)
        return command_line.stdout_closed()
    return 0


def run(args):
    start, took = time.perf_counter(), {}
    (x_train, x_test), took["loading"] = timed(load_data, args)
    with results_folder(args.out, OUTPUTS) as new:
        say(report.heading(len(x_train), args.train, len(x_test), args.test))
        rng = np.random.default_rng(args.seed)  # the run's one source of randomness
        params = utils.init(rng)
        initial = {name: params[name].copy() for name in ("w_in", "w_out")}  # before training

        layer_in, took["layer_in_timing"] = timed(
            compare_layer_in, x_train, params, args.batch_size
        )
        say(report.timing(layer_in, os.path.join(args.out, "layer_in_timing.png")))

        check_rng = rng.spawn(1)[0]  # the check's own draws: training sees the same rng
        check, took["gradient_check"] = timed(check_backprop, params, x_train, check_rng)
        failed = gradient_check.failure(check)
        say(report.gradient_check(check, failed, took["gradient_check"]))
        if failed:
            raise RunError(failed)

        window = smoothing_window(args.steps)
        say(report.training(args.steps, args.batch_size, args.lr, args.seed, window))

        def on_row(update, so_far):  # a row of the progress table
            say(report.progress_row(update, so_far[-1], so_far[-window:].mean()))

        training = (params, x_train, args.steps, args.batch_size, args.lr, rng, on_row)
        losses, took["training"] = timed(train, *training)
        (y_test, test_loss, per_image), took["testing"] = timed(evaluate, params, x_test)
        if not math.isfinite(test_loss):
            raise diverged(f"after the last update the test loss is {test_loss}", args.lr)
        base = baselines.losses(x_train, x_test)
        warning = baselines.no_better_than_black(
            y_test, x_test, test_loss, base["zeros"], losses, likely_lr(args.lr)
        )
        config = {k: report.SHIPPED.get(v, v) for k, v in vars(args).items()}
        z_in = utils.forward_in_vector(x_train, params["w_in"], params["b_in"])
        results = {  # the image files as given, the shipped ones by their own names
            "config": config,
            "timing": layer_in,
            "gradient_check": check,
            "losses": losses.tolist(),
            "smoothing_window": window,
            "seconds_per_update": took["training"] / args.steps,
            "test_loss": test_loss,
            "test_loss_per_image": per_image.tolist(),
            "baselines": base,
            "final_loss_mean": float(losses[-window:].mean()),
            "dead_units": baselines.dead_units(z_in).tolist(),
            "warnings": [warning] if warning else [],
            "seconds": took,
        }
        images = (to_images(x_test), to_images(y_test))
        took["figures"] = timed(plots.all_figures, new, results, params, initial, *images)[1]
        took["total"] = time.perf_counter() - start
        with open(os.path.join(new, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        np.savez(os.path.join(new, "weights.npz"), **params)
    say(report.summary(results, args.out, OUTPUTS))
    if warning:
        command_line.error(warning, 0)


def timed(fn, *args):
    """fn(*args) and the seconds it took."""
    start = time.perf_counter()
    return fn(*args), time.perf_counter() - start


if __name__ == "__main__":
    status = main()
    gc.freeze()  # nothing is left to collect: Python's own last collection, of Matplotlib's
    sys.exit(status)  # objects, would add a twentieth to the run

"""AutoEncNetLite, Homework II: the whole homework in one run.

    python train_autoenc_lite.py            (python train_autoenc_lite.py -h for the flags)

1. loads the training and test images and scales them to [0, 1];
2. initialises the network from one seed (every random draw of the run comes from it);
3. times Layer_in in scalar form against vector form on one batch;
4. trains by SGD (1000 updates, batches of 20 images, lr 0.001, sum-squared loss);
5. saves the learning curve, results/learning_curve.png;
6. runs the test images through the trained network, results/test_pairs.png;
7. compares the test loss with two baselines (an all-zero output, the mean training image);
8. writes results/results.json and the trained weights, results/weights.npz.

The math lives in utils.py; this file reads flags, runs, measures, draws and reports.
It runs headless: plots are written to files, never shown.
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time

import numpy as np

import utils

HERE = pathlib.Path(__file__).resolve().parent
DEFAULTS = {
    "steps": 1000,
    "batch_size": 20,
    "lr": 0.001,
    "seed": 0,
    "train": str(HERE / "images_train.pickle"),
    "test": str(HERE / "images_test.pickle"),
    "out": "results",
}
MAX_LAYER_IN_DIFFERENCE = 1e-12  # scalar and vector Layer_in must agree to this
SMOOTHING = 50  # updates in the learning curve's moving average
TIMING_REPEATS = 5  # repeats of each timed form of Layer_in
MAX_PAIRS_SHOWN = 40  # test images drawn in test_pairs.png (the test loss counts them all)


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


# -------------------------------------------------------------------------- timing


def time_per_call(fn, repeats=TIMING_REPEATS, min_seconds=0.02):
    """Seconds per call of fn(): (calls per repeat, best, median) over `repeats` repeats,
    each making enough calls to last at least min_seconds."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
        calls *= 2
    per_call = [elapsed / calls]
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - start) / calls)
    return calls, min(per_call), float(np.median(per_call))


def compare_layer_in(x, w_in, b_in):
    """Layer_in in scalar and in vector form on the batch x: timings and their difference."""
    difference = float(np.abs(utils.forward_in_scalar(x, w_in, b_in) - utils.forward_in_vector(x, w_in, b_in)).max())
    if difference > MAX_LAYER_IN_DIFFERENCE:
        raise RunError(f"Layer_in's scalar and vector forms differ by {difference:.3g} (more than {MAX_LAYER_IN_DIFFERENCE:g})")
    scalar = time_per_call(lambda: utils.forward_in_scalar(x, w_in, b_in))
    vector = time_per_call(lambda: utils.forward_in_vector(x, w_in, b_in))
    return {
        "batch_size": len(x),
        "repeats": TIMING_REPEATS,
        "scalar_calls_per_repeat": scalar[0],
        "scalar_seconds_per_call": scalar[1],
        "scalar_seconds_per_call_median": scalar[2],
        "vector_calls_per_repeat": vector[0],
        "vector_seconds_per_call": vector[1],
        "vector_seconds_per_call_median": vector[2],
        "speedup": scalar[1] / vector[1],
        "max_difference": difference,
    }


def seconds(s):
    """A duration in the unit that suits it: '21.3 ms', '8.4 us', '207 us'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            value = s / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"


def shown(path):
    """A path as the user would write it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def loss_text(loss):
    """A loss for the progress table: two decimals, or three digits once it is huge."""
    return f"{loss:.2f}" if loss < 1e6 else f"{loss:.3g}"


def timing_table(timing):
    rows = [
        ("form", "calls x repeats", "per call (best)", "per call (median)"),
        ("scalar", f"{timing['scalar_calls_per_repeat']} x {timing['repeats']}", seconds(timing["scalar_seconds_per_call"]),
         seconds(timing["scalar_seconds_per_call_median"])),
        ("vector", f"{timing['vector_calls_per_repeat']} x {timing['repeats']}", seconds(timing["vector_seconds_per_call"]),
         seconds(timing["vector_seconds_per_call_median"])),
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]  # fmt: skip
    lines.append(f"  vector form {timing['speedup']:.0f}x faster (best against best); "
                 f"largest difference between the two outputs {timing['max_difference']:.1e}")  # fmt: skip
    return "\n".join(lines)


# ------------------------------------------------------------------------ training


def train(params, x_train, steps, batch_size, lr, rng, report=None):
    """SGD on the sum-squared loss: `steps` updates of params (in place), each on a batch of
    `batch_size` different images drawn at random from x_train (N, 225).

    rng: the numpy Generator that draws the batches. report(update, losses), if given, is
    called every 100 updates. Returns the loss of every update (on its batch, before the
    step), as an array. Raises RunError, naming the update, if the loss stops being finite.
    """
    losses = np.empty(steps)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below, as a loss
        for step in range(steps):
            x = x_train[rng.choice(len(x_train), batch_size, replace=False)]
            y, cache = utils.forward(params, x)
            loss = utils.get_loss(y, x)
            if not math.isfinite(loss):
                raise RunError(
                    f"training diverged: the loss became {loss} at update {step + 1} of {steps} "
                    f"with --lr {lr:g}; try a smaller --lr, such as {lr / 10:g}"
                )
            losses[step] = loss
            utils.apply_dw(params, utils.backprop(params, cache), lr)
            if report and (step + 1) % 100 == 0:
                report(step + 1, losses[: step + 1])
    return losses


def dead_network_warning(y_test, losses, lr):
    """A warning if the trained network outputs 0 everywhere (every output ReLU is off), as
    it does after a too-large learning rate blew the weights up; None if it does not."""
    if y_test.any():
        return None
    peak = int(np.argmax(losses))
    return (
        "warning: the trained network outputs 0 for every test pixel (every output ReLU is off), no better "
        f"than the all-zero baseline; the training loss peaked at {losses[peak]:.3g} at update {peak + 1}. "
        f"Try a smaller --lr, such as {lr / 10:g}"
    )


def evaluate(params, x_test, x_train):
    """The test loss and two baselines on the same images: an all-zero output and the
    mean training image. Returns (outputs (N, 225), test_loss, baselines)."""
    y, _ = utils.forward(params, x_test)
    mean_image = np.broadcast_to(x_train.mean(axis=0), x_test.shape)
    baselines = {"zeros": utils.get_loss(np.zeros_like(x_test), x_test), "mean_image": utils.get_loss(mean_image, x_test)}
    return y, utils.get_loss(y, x_test), baselines


# ------------------------------------------------------------------------- output


def write_atomically(path, write):
    """write(file) into a temporary file beside path, then rename it to path: a crash
    never leaves a half-written file behind."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def pyplot():
    """matplotlib.pyplot on the Agg backend: files only, no window, no display needed.
    Imported when first needed, so that importing this module stays quick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path):
    plt = pyplot()
    write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def plot_learning_curve(losses, config, path):
    plt = pyplot()
    updates = np.arange(1, len(losses) + 1)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(updates, losses, color="tab:blue", alpha=0.35, linewidth=0.8, label="loss of each update's batch")
    if len(losses) >= SMOOTHING:
        smooth = np.convolve(losses, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
        centres = updates[SMOOTHING - 1 :] - (SMOOTHING - 1) / 2
        ax.plot(centres, smooth, color="tab:blue", linewidth=2, label=f"mean over {SMOOTHING} updates")
    ax.set_yscale("log")
    ax.set_xlabel("update")
    ax.set_ylabel(f"training loss: sum of squared errors\nover a batch of {config['batch_size']} images (log scale)")
    ax.set_title(
        f"AutoEncNetLite learning curve: SGD, {config['steps']} updates, "
        f"batch {config['batch_size']}, lr {config['lr']:g}, seed {config['seed']}",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_test_pairs(x_test, y_test, test_loss, path, per_row=10):
    """Each test image above its reconstruction, both on the pixel scale 0..255."""
    plt = pyplot()
    per_image = np.sum((y_test - x_test) ** 2, axis=1)
    n = min(len(x_test), MAX_PAIRS_SHOWN)
    inputs, outputs = to_images(x_test[:n]), to_images(y_test[:n])
    per_row = min(n, per_row)
    bands = math.ceil(n / per_row)  # a band: a row of inputs over the row of their outputs
    fig = plt.figure(figsize=(0.95 * per_row + 1.5, 2.3 * bands + 0.8))
    # rows: input, output, gap, input, output, gap, ...; the last column holds the colour bar
    grid = fig.add_gridspec(3 * bands - 1, per_row + 1, height_ratios=([1, 1, 0.45] * bands)[:-1],
                            width_ratios=[1] * per_row + [0.25], hspace=0.12, wspace=0.1)  # fmt: skip
    for i in range(n):
        band, col = divmod(i, per_row)
        top, bottom = fig.add_subplot(grid[3 * band, col]), fig.add_subplot(grid[3 * band + 1, col])
        shown = top.imshow(inputs[i], cmap="gray", vmin=0, vmax=255)
        bottom.imshow(outputs[i], cmap="gray", vmin=0, vmax=255)
        top.set_title(f"#{i + 1}", fontsize=9)
        bottom.set_xlabel(f"loss {per_image[i]:.2f}", fontsize=8)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
        if col == 0:
            top.set_ylabel("input", fontsize=10)
            bottom.set_ylabel("output", fontsize=10)
    fig.colorbar(shown, cax=fig.add_subplot(grid[: min(2, 3 * bands - 1), -1]), label="pixel value")
    fig.suptitle(
        f"{n if n == len(x_test) else f'The first {n} of {len(x_test)}'} test images (input) "
        "and the trained network's reconstructions (output)\n"
        f"both on the same gray scale 0..255; test loss {test_loss:.2f} over all {len(x_test)} "
        "(sum of squared errors, pixels scaled to [0, 1])",
        fontsize=10,
    )
    save_figure(fig, path)


# ---------------------------------------------------------------------------- run


def load_data(train_file, test_file, batch_size):
    """The training and test images as network inputs (N, 225); InputError if unusable."""
    try:
        images_train = utils.load_images(train_file)
    except utils.ImageFileError as e:
        raise InputError(f"--train {e}") from None
    try:
        images_test = utils.load_images(test_file)
    except utils.ImageFileError as e:
        raise InputError(f"--test {e}") from None
    if batch_size > len(images_train):
        raise InputError(f"--batch-size {batch_size}: larger than the {len(images_train)} images in {train_file}")
    return to_batch(images_train), to_batch(images_test)


def make_folder(out):
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}: cannot make the folder ({e.strerror or e})") from None
    return out


def run(steps=DEFAULTS["steps"], batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"], seed=DEFAULTS["seed"],
        train_file=DEFAULTS["train"], test_file=DEFAULTS["test"], out=DEFAULTS["out"], say=print):  # fmt: skip
    """The whole homework; returns what it writes to results.json. say(text) prints."""
    started = time.perf_counter()
    config = {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed,
              "train": str(train_file), "test": str(test_file)}  # fmt: skip
    x_train, x_test = load_data(train_file, test_file, batch_size)
    out = make_folder(out)
    say(f"AutoEncNetLite: {len(x_train)} training images ({shown(train_file)}), "
        f"{len(x_test)} test images ({shown(test_file)})")  # fmt: skip

    rng = np.random.default_rng(seed)  # the run's one source of randomness
    params = utils.init(rng)

    say(f"\nLayer_in (75 units x 225 pixels) on one batch of {batch_size} training images:")
    timing = compare_layer_in(x_train[:batch_size], params["w_in"], params["b_in"])
    say(timing_table(timing))

    say(f"\nTraining: {steps} SGD updates, batches of {batch_size} random images, lr {lr:g}, seed {seed}")
    say(f"  {'update':>7}  {'loss':>10}  {'mean of the last 100':>20}")

    def report(update, losses):
        say(f"  {update:>7}  {loss_text(losses[-1]):>10}  {loss_text(losses[-100:].mean()):>20}")

    train_start = time.perf_counter()
    losses = train(params, x_train, steps, batch_size, lr, rng, report)
    train_seconds = time.perf_counter() - train_start

    y_test, test_loss, baselines = evaluate(params, x_test, x_train)
    warning = dead_network_warning(y_test, losses, lr)
    results = {
        "config": config,
        "timing": timing,
        "losses": losses.tolist(),
        "train_seconds": train_seconds,
        "seconds_per_update": train_seconds / steps,
        "test_loss": test_loss,
        "baselines": baselines,
        "final_loss_mean_last_100": float(losses[-100:].mean()),
        "warnings": [warning] if warning else [],
    }
    files = [out / name for name in ("learning_curve.png", "test_pairs.png", "results.json", "weights.npz")]
    try:
        plot_learning_curve(losses, config, files[0])
        plot_test_pairs(x_test, y_test, test_loss, files[1])
        results["total_seconds"] = time.perf_counter() - started
        write_atomically(files[2], lambda f: f.write(json.dumps(results, indent=1).encode()))
        write_atomically(files[3], lambda f: np.savez(f, **params))
    except OSError as e:
        raise RunError(f"--out {out}: cannot write the results ({e.strerror or e})") from None

    say("\nSummary")
    say(f"  final training loss   {losses[-1]:.2f} (mean of the last {min(steps, 100)} updates "
        f"{losses[-100:].mean():.2f}; first update {losses[0]:.2f})")  # fmt: skip
    say(f"  test loss             {test_loss:.2f} over {len(x_test)} test images ({test_loss / len(x_test):.2f} per image)")
    say(f"  baselines on the same test images: all-zero output {baselines['zeros']:.2f}, "
        f"mean training image {baselines['mean_image']:.2f}")  # fmt: skip
    say(f"  training took {train_seconds:.2f} s ({seconds(train_seconds / steps)} per update); "
        f"the whole run {results['total_seconds']:.2f} s")  # fmt: skip
    for path in files:
        say(f"  wrote {path}")
    if warning:
        print(f"train_autoenc_lite.py: {warning}", file=sys.stderr)
    return results


# --------------------------------------------------------------------------- flags


def whole_number(minimum):
    """An argparse type: a whole number, `minimum` or more."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be {minimum} or more")
        return value

    return parse


def positive_float(text):
    """An argparse type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive, finite number")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake costs one line on stderr (and exit status 2), not the usage too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see -h)\n")


def parse_args(argv):
    parser = OneLineParser(
        prog="train_autoenc_lite.py",
        description="Train AutoEncNetLite by SGD and report: timing, learning curve, test images.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--steps", type=whole_number(1), default=DEFAULTS["steps"], metavar="N", help="SGD updates")
    parser.add_argument("--batch-size", type=whole_number(1), default=DEFAULTS["batch_size"], metavar="N", help="images per update")
    parser.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"], help="learning rate")
    parser.add_argument("--seed", type=whole_number(0), default=DEFAULTS["seed"], metavar="N", help="seed of every random draw")
    parser.add_argument("--train", default=DEFAULTS["train"], metavar="FILE", help="training images: a pickle of an (N, 15, 15) array")
    parser.add_argument("--test", default=DEFAULTS["test"], metavar="FILE", help="test images, the same kind of file")
    parser.add_argument("--out", default=DEFAULTS["out"], metavar="FOLDER", help="folder for the results")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args.steps, args.batch_size, args.lr, args.seed, args.train, args.test, args.out)
    except RunError as e:
        print(f"train_autoenc_lite.py: error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("train_autoenc_lite.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

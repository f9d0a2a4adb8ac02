"""Every figure the run draws, each a matplotlib.figure.Figure (no pyplot: no window, no
backend, nothing that blocks a headless run), from plain arrays and the run's own dicts:
learning_curve, test_pairs, weights and layer_in_timing; all_figures writes the four PNGs.
"""

import logging
import math
import os

import numpy as np

logging.getLogger("matplotlib").addHandler(logging.NullHandler())  # no lines of its own
import matplotlib.style  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from run_support.report import count, dips  # noqa: E402
from utils import SIDE  # noqa: E402

GAP = 9  # blank pixel rows between two bands of tiles: room for their labels


def plain_log_ticks(axis):
    """A log axis ticked at 1, 2 and 5 times each power of ten, as plain numbers (20, 50)."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def bands(ax, layers, per_row, sides, above, below=None, **style):
    """R arrays of K tiles (K, 15, 15) drawn on ax as one image of bands (imshow's style):
    tile k of array r in band k // per_row, column k % per_row, row r of the band, NaN (blank)
    between tiles, GAP rows between bands; sides, a word a row of tiles, at their left, and
    above(i) over column i, below(i) under it. Returns the image and the rows a band takes."""
    k, rows, n_bands = len(layers[0]), len(layers), math.ceil(len(layers[0]) / per_row)
    height = rows * (SIDE + 1) - 1
    step = height + GAP
    image = np.full((n_bands * step - GAP, per_row * (SIDE + 1) - 1), np.nan)
    for r, layer in enumerate(layers):
        for i, tile in enumerate(layer):
            top, left = (i // per_row) * step + r * (SIDE + 1), (i % per_row) * (SIDE + 1)
            image[top : top + SIDE, left : left + SIDE] = tile
    drawn = ax.imshow(image, interpolation="nearest", **style)
    ax.set_xticks([])
    ax.set_yticks([b * step + r * (SIDE + 1) + 7 for b in range(n_bands) for r in range(rows)])
    ax.set_yticklabels(sides * n_bands, fontsize=9)
    ax.tick_params(length=0)
    ax.set_frame_on(False)
    for i in range(k):
        x, top = (i % per_row) * (SIDE + 1) + 7, (i // per_row) * step
        ax.text(x, top - 0.8, above(i), ha="center", va="bottom", fontsize=7)
        if below:
            ax.text(x, top + height + 0.5, below(i), ha="center", va="top", fontsize=7)
    return drawn, step


def learning_curve(losses, config, window):
    """losses: each update's loss on its batch, before its step; config: the run's steps,
    batch_size, lr, seed; window: the updates in the moving mean. Log scale unless a loss is 0."""
    losses = np.asarray(losses, dtype=float)
    updates = np.arange(1, len(losses) + 1)
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot()
    few = len(losses) <= 50  # a short run: each point shown
    style = {"alpha": 0.9, "marker": "o", "markersize": 4} if few else {"alpha": 0.35}
    ax.plot(updates, losses, color="tab:blue", lw=0.8, label="loss of each update's batch", **style)
    if window > 1:
        mean = np.convolve(losses, np.ones(window) / window, mode="valid")
        centres = updates[window - 1 :] - (window - 1) / 2
        ax.plot(centres, mean, color="tab:blue", lw=2, label=f"mean over {window} updates")
    ax.set_xlim(0, len(losses) * 1.02 + 1)
    log = bool(np.all(losses > 0))
    if log:
        ax.set_ylim(losses.min() / 1.5, losses.max() * 1.5)  # also when every loss is equal
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    else:
        ax.set_ylim(-0.05 * max(losses.max(), 1.0), 1.05 * max(losses.max(), 1.0))
    batch, steps = config["batch_size"], count(config["steps"], "update")
    scale = " (log scale)" if log else ""
    ax.set_xlabel("update")
    ax.set_ylabel(
        f"training loss: sum of squared errors\nover a batch of {count(batch, 'image')}{scale}"
    )
    what = f"SGD, {steps}, batch {batch}, lr {config['lr']:g}, seed {config['seed']}"
    ax.set_title(f"AutoEncNetLite learning curve: {what}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.subplots_adjust(left=0.13, right=0.97, top=0.92, bottom=0.12)
    return fig


MAX_PAIRS_SHOWN = 40  # test images drawn (the test loss counts them all)
PER_ROW = 10  # pairs side by side


def test_pairs(inputs, outputs, losses):
    """inputs, outputs: (N, 15, 15) on the pixel scale 0..255; losses: each image's loss.
    Each test image directly above its reconstruction, all on one gray scale 0..255."""
    n = min(len(inputs), MAX_PAIRS_SHOWN)
    per_row, n_bands = min(n, PER_ROW), math.ceil(n / PER_ROW)
    fig = Figure(figsize=(0.95 * per_row + 1.8, 2.3 * n_bands + 0.9))
    ax = fig.add_axes((0.09, 0.04, 0.78, 0.96 - 1.0 / (2.3 * n_bands + 1.0)))
    number, loss = (lambda i: f"#{i + 1}"), (lambda i: f"loss {losses[i]:.2f}")
    white_gaps = colormaps["gray"].with_extremes(bad="white")  # NaN, between the tiles
    pairs = [inputs[:n], outputs[:n]]
    style = {"cmap": white_gaps, "vmin": 0, "vmax": 255}
    gray, _ = bands(ax, pairs, per_row, ["input", "output"], number, loss, **style)
    fig.colorbar(gray, cax=fig.add_axes((0.9, 0.3, 0.02, 0.4)), label="pixel value")
    which = f"The {n}" if n == len(inputs) else f"The first {n} of {len(inputs)}"
    scale = f"test loss {sum(losses):.2f} over all {len(inputs)} (sum of squared errors"
    fig.suptitle(
        f"{which} test images (input) and the trained network's reconstructions (output),\n"
        f"on one gray scale 0..255; {scale}, pixels scaled to [0, 1])",
        fontsize=10,
    )
    return fig


UNITS_PER_ROW = 25  # units side by side in the weights figure
WEIGHT_ROWS = ("w_in", "changed", "w_out", "changed")  # each unit's four tiles, top down
SCALES = ("w_in, trained", "w_in, changed: trained - initial", "w_out, trained")
SCALES += ("w_out, changed: trained - initial",)  # each row's colour scale


def weights(params, initial, dead_units):
    """The hidden units, numbered: unit p a column of four 15 x 15 tiles, row p of w_in
    (75, 225) and column p of w_out (225, 75), each trained and minus its initial value, each
    row on its own scale, symmetric around 0; dead_units (never firing) crossed out."""
    w_in, w_out = params["w_in"], params["w_out"].T  # one row a unit, both
    layers = [w_in, w_in - initial["w_in"], w_out, w_out - initial["w_out"].T]
    limits = [float(np.abs(layer).max()) or 1.0 for layer in layers]
    units = len(w_in)
    fig = Figure(figsize=(15, 2.2 * math.ceil(units / UNITS_PER_ROW) + 2.2))
    ax = fig.add_axes((0.08, 0.2, 0.9, 0.68))
    scaled = [(w / limit).reshape(units, SIDE, SIDE) for w, limit in zip(layers, limits)]
    style = {"cmap": "RdBu_r", "vmin": -1, "vmax": 1}  # each row in units of its own limit
    _, step = bands(ax, scaled, UNITS_PER_ROW, list(WEIGHT_ROWS), str, **style)
    for r, (limit, name) in enumerate(zip(limits, SCALES)):
        cax = fig.add_axes((0.08 + 0.235 * r, 0.07, 0.19, 0.025))
        scale = ScalarMappable(Normalize(-limit, limit), "RdBu_r")
        bar = fig.colorbar(scale, cax=cax, orientation="horizontal", ticks=[-limit, 0, limit])
        bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
        bar.ax.set_title(name, fontsize=8)
    for p in dead_units:  # its w_in tiles, trained and changed
        corner = ((p % UNITS_PER_ROW) * (SIDE + 1) - 0.5, (p // UNITS_PER_ROW) * step - 0.5)
        ax.add_patch(Rectangle(corner, SIDE, 2 * SIDE + 1, fc="0.75", ec="k", hatch="xx", lw=0.5))
    dead = f"; crossed out: {count(len(dead_units), 'unit')} that never fire"
    reads = "reads row p of w_in (red pixels raise it, blue lower it) and paints column p of w_out"
    title = f"The {units} hidden units, numbered: unit p {reads}"
    fig.suptitle(title + (dead if len(dead_units) else ""), fontsize=10)
    return fig


def layer_in_timing(timing):
    """timing: the run's; each form's best seconds a call by batch size, and its spread."""
    rows, batch = timing["by_batch_size"], timing["difference_batch_size"]
    sizes = [row["batch_size"] for row in rows]
    scalar, vector = (np.array([row[f]["best"] for row in rows]) for f in ("scalar", "vector"))
    fig = Figure(figsize=(11, 4.6))
    times, gains = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    times.loglog(sizes, scalar * 1e3, "o-", color="tab:red", label="scalar form: Python loops")
    times.loglog(sizes, vector * 1e3, "o-", color="tab:blue", label="vector form: a matrix product")
    times.set_ylabel(f"{timing['clock']} time per call (ms, log scale), fastest repeat")
    plain_log_ticks(times.yaxis)
    times.set_title("Layer_in, z_in = ReLU(x w_in^T + b_in): time per call", fontsize=10)
    times.legend(fontsize=8, loc="upper left")
    gains.semilogx(sizes, scalar / vector, "o-", color="tab:purple")
    for n, gain, row in zip(sizes, scalar / vector, rows):
        label = f"{gain:.0f}x" if row["steady"] else "busy"
        gains.annotate(label, (n, gain), (0, 7), textcoords="offset points", ha="center", size=8)
    gains.set_ylim(0, (scalar / vector).max() * 1.18)
    gains.set_ylabel("speed-up: scalar time / vector time")
    title = "How many times faster the vector form is"
    if dips(rows):
        title += f"\n(dips from {', from '.join(dips(rows))}: the product's time per image rose)"
    if not all(row["steady"] for row in rows):
        title += "\n(busy: the machine was too busy for that figure to mean much)"
    gains.set_title(title, fontsize=10)
    for ax in (times, gains):
        ax.axvline(batch, color="0.6", linestyle="--", linewidth=1)
        ax.set_xlabel(f"batch size N (images per call); dashed: the training batch, {batch}")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.12, wspace=0.25)
    return fig


def all_figures(folder, results, params, initial, inputs, outputs):
    """The run's four figures, as PNGs into folder, in Matplotlib's default style. inputs,
    outputs: the test images and their reconstructions, (N, 15, 15) on the pixel scale."""
    r = results
    with matplotlib.style.context("default"):  # the same figures whatever a matplotlibrc says
        figures = {
            "learning_curve.png": learning_curve(r["losses"], r["config"], r["smoothing_window"]),
            "test_pairs.png": test_pairs(inputs, outputs, r["test_loss_per_image"]),
            "weights.png": weights(params, initial, r["dead_units"]),
            "layer_in_timing.png": layer_in_timing(r["timing"]),
        }
        for name, fig in figures.items():
            fig.savefig(os.path.join(folder, name), dpi=110, pil_kwargs={"compress_level": 1})
    return figures

"""Every figure the homework run draws, each written as a PNG into an open binary file.

Matplotlib is imported here and nowhere else. Figures are made with matplotlib.figure.Figure
directly, not through pyplot: no window, no backend to choose, no display needed, nothing
kept between figures, and nothing that could block a headless run.

- learning_curve: the loss of every update, with its moving mean;
- test_pairs: each test image above the trained network's reconstruction of it, all in one
  mosaic image (one image is far quicker to draw than two axes a pair);
- weights: what each hidden unit responds to (rows of w_in) and paints (columns of w_out),
  as 15 x 15 tiles, trained and as changed by training;
- layer_in_timing: Layer_in's scalar and vector forms, time per call against batch size.

Each takes plain NumPy arrays, numbers and the run's own dicts, writes the PNG and returns
the Figure; none computes anything the run reports. all_figures draws the run's four.
"""

import io
import logging
import math
import warnings

import numpy as np

logging.getLogger("matplotlib").addHandler(logging.NullHandler())  # no lines of its own
from matplotlib import colormaps  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from report import count  # noqa: E402
from utils import SIDE  # noqa: E402

DPI = 110
TITLE_Y = 1.0  # an axes title just above its axes: placed, Matplotlib need not measure the
# tick labels to find room for it (a third of the time some figures take)


def plain_log_ticks(axis):
    """Ticks of a log axis at 1, 2 and 5 times each power of ten, labelled as plain numbers
    (20, 50, 100), the same under every Matplotlib version."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def save(fig, file):
    """fig as PNG into file; returns fig, for a look at its axes."""
    fig.savefig(file, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})  # quick
    return fig


# ------------------------------------------------------------------ learning curve


def learning_curve(file, losses, config, window):
    """losses: the loss of each update, on its batch, before its step; config: the run's
    steps, batch_size, lr and seed; window: the updates in the moving mean (the progress
    table's too). The loss axis is logarithmic unless some loss is 0."""
    losses = np.asarray(losses, dtype=float)
    steps, batch_size, lr, seed = (config[k] for k in ("steps", "batch_size", "lr", "seed"))
    updates = np.arange(1, len(losses) + 1)
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot()
    few = len(losses) <= 50  # a short run: show each point
    ax.plot(
        updates,
        losses,
        color="tab:blue",
        alpha=0.9 if few else 0.35,
        linewidth=0.8,
        marker="o" if few else None,
        markersize=4,
        label="loss of each update's batch",
    )
    if window > 1 and len(losses) >= 2 * window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        centres = updates[window - 1 :] - (window - 1) / 2
        label = f"mean over {window} updates"
        ax.plot(centres, smooth, color="tab:blue", linewidth=2, label=label)
    ax.set_xlim(0, len(losses) + max(1, len(losses) / 50))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    log = bool(np.all(losses > 0))
    if log:
        ax.set_ylim(losses.min() / 1.5, losses.max() * 1.5)  # also when every loss is equal
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    else:
        ax.set_ylim(-0.05 * max(losses.max(), 1.0), 1.05 * max(losses.max(), 1.0))
    ax.set_xlabel("update")
    ax.set_ylabel(
        "training loss: sum of squared errors\n"
        f"over a batch of {count(batch_size, 'image')} " + ("(log scale)" if log else "")
    )
    ax.set_title(
        f"AutoEncNetLite learning curve: SGD, {count(steps, 'update')}, batch {batch_size}, "
        f"lr {lr:g}, seed {seed}",
        fontsize=10,
        y=TITLE_Y,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.subplots_adjust(left=0.13, right=0.97, top=0.92, bottom=0.12)  # no tight_layout:
    # it draws the figure once more just to measure it
    return save(fig, file)


# ---------------------------------------------------------------------- test pairs

MAX_PAIRS_SHOWN = 40  # test images drawn (the test loss counts them all)
PER_ROW = 10  # pairs side by side


def mosaic(tiles, columns):
    """(K, h, w) tiles -> one image, `columns` tiles a row, a NaN line between tiles."""
    k, h, w = tiles.shape
    rows = math.ceil(k / columns)
    image = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        image[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = tile
    return image


GAP = 9  # blank pixel rows between two bands of pairs: room for the labels


def pairs_mosaic(inputs, outputs, per_row):
    """(N, 15, 15) inputs and outputs -> one image of bands: a row of `per_row` inputs
    directly above the row of their outputs, a NaN line between tiles, GAP rows between
    bands. Band b starts at pixel row b * (2 * 15 + 1 + GAP)."""
    side = inputs.shape[1]
    blank = np.full((-len(inputs) % per_row, side, side), np.nan)  # fills the last band
    ins, outs = np.concatenate([inputs, blank]), np.concatenate([outputs, blank])
    gap = np.full((GAP, per_row * (side + 1) - 1), np.nan)
    parts = []
    for i in range(0, len(ins), per_row):
        parts += [
            gap,
            mosaic(np.concatenate([ins[i : i + per_row], outs[i : i + per_row]]), per_row),
        ]
    return np.vstack(parts[1:])


def test_pairs(file, inputs, outputs, losses):
    """inputs, outputs: (N, 15, 15) on the pixel scale 0..255; losses: each image's loss.

    Each test image is drawn directly above its reconstruction, on one gray scale 0..255.
    """
    n = min(len(inputs), MAX_PAIRS_SHOWN)
    per_row = min(n, PER_ROW)
    image = pairs_mosaic(inputs[:n], outputs[:n], per_row)
    band_height = 2 * SIDE + 1 + GAP
    bands = math.ceil(n / per_row)
    fig = Figure(figsize=(0.95 * per_row + 1.8, 2.3 * bands + 0.9))
    ax = fig.add_axes((0.09, 0.04, 0.78, 0.96 - 1.0 / (2.3 * bands + 1.0)))
    white_gaps = colormaps["gray"].with_extremes(bad="white")  # NaN: between the tiles
    gray = ax.imshow(image, cmap=white_gaps, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([c * (SIDE + 1) + (SIDE - 1) / 2 for c in range(per_row)])
    ax.set_xticklabels([])
    rows = [
        (b * band_height + (SIDE - 1) / 2, b * band_height + SIDE + 1 + (SIDE - 1) / 2)
        for b in range(bands)
    ]
    ax.set_yticks([y for pair in rows for y in pair])
    ax.set_yticklabels(["input", "output"] * bands, fontsize=10)
    ax.tick_params(length=0)
    for edge in ax.spines.values():
        edge.set_visible(False)
    for i in range(n):
        band, col = divmod(i, per_row)
        x = col * (SIDE + 1) + (SIDE - 1) / 2
        ax.text(x, band * band_height - 1, f"#{i + 1}", ha="center", va="bottom", fontsize=8)
        ax.text(
            x,
            band * band_height + 2 * SIDE + 1.5,
            f"loss {losses[i]:.2f}",
            ha="center",
            va="top",
            fontsize=7,
        )
    fig.colorbar(gray, cax=fig.add_axes((0.9, 0.3, 0.02, 0.4)), label="pixel value")
    which = (
        f"The {n} test images"
        if n == len(inputs)
        else (f"The first {n} of {len(inputs)} test images")
    )
    fig.suptitle(
        f"{which} (input) and the trained network's reconstructions (output),\n"
        f"on one gray scale 0..255; test loss {sum(losses):.2f} over all {len(inputs)} "
        "(sum of squared errors, pixels scaled to [0, 1])",
        fontsize=10,
    )
    return save(fig, file)


# ------------------------------------------------------------------------- weights


def weights(file, params, initial, dead_units, steps, columns=15):
    """What the hidden units learned, as 15 x 15 tiles, one per unit p = 0..74.

    params, initial: w_in and w_out, trained and at the start. w_in (75, 225): row p is
    what unit p of Layer_in responds to; w_out (225, 75): column p is what unit p of z_sum
    paints. Top: the trained weights; bottom: trained minus initial, what training
    changed. Each panel on a diverging scale symmetric around 0.
    dead_units: the Layer_in units that never fire on the training images, crossed out.
    """
    w_in, w_out = params["w_in"], params["w_out"]
    w_in_start, w_out_start = initial["w_in"], initial["w_out"]
    units = w_in.shape[0]
    panels = [
        (w_in, "Layer_in: row p of w_in, the pixels that raise (red) or lower (blue) unit p"),
        (w_out.T, "Layer_out: column p of w_out, what unit p of z_sum adds to each pixel"),
        (
            w_in - w_in_start,
            f"Layer_in: what {count(steps, 'update')} changed in w_in (trained - initial)",
        ),
        (
            w_out.T - w_out_start.T,
            f"Layer_out: what {count(steps, 'update')} changed in w_out (trained - initial)",
        ),
    ]
    side, rows = SIDE, math.ceil(units / columns)
    fig = Figure(figsize=(15, 0.9 * rows + 2.4))
    # two by two panels, each with a narrow column for its colour bar, a gap between them
    grid = fig.add_gridspec(
        2,
        5,
        width_ratios=[1, 0.025, 0.17, 1, 0.025],
        left=0.045,
        right=0.955,
        top=0.82,
        bottom=0.05,
        wspace=0.04,
        hspace=0.3,
    )
    for i, (w, title) in enumerate(panels):
        row, col = divmod(i, 2)
        ax, bar_ax = fig.add_subplot(grid[row, 3 * col]), fig.add_subplot(grid[row, 3 * col + 1])
        image = mosaic(w.reshape(units, side, side), columns)
        limit = float(np.nanmax(np.abs(image))) or 1.0  # one symmetric scale per panel
        tiles = ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(title, fontsize=10, y=TITLE_Y, pad=14 if row == 0 else 6)  # room for labels
        ax.set_axis_off()  # tiles labelled by text: far quicker to draw than 100 ticks
        # tile (r, c) is unit r * columns + c: the columns labelled above the top panels,
        # the rows left of the left panels, and the other panels lined up with them
        for c in range(columns if row == 0 else 0):
            ax.text(c * (side + 1) + (side - 1) / 2, -1, f"+{c}", ha="center", fontsize=7)
        for r in range(rows if col == 0 else 0):
            y = r * (side + 1) + (side - 1) / 2
            ax.text(-1.5, y, f"unit {r * columns}", ha="right", va="center", fontsize=7)
        if i % 2 == 0:  # Layer_in panels: cross out the dead units
            for p in dead_units:
                r, c = divmod(int(p), columns)
                corner = (c * (side + 1) - 0.5, r * (side + 1) - 0.5)
                ax.add_patch(
                    Rectangle(
                        corner,
                        side,
                        side,
                        facecolor="0.75",
                        edgecolor="black",
                        hatch="xx",
                        linewidth=0.5,
                    )
                )
        bar = fig.colorbar(tiles, cax=bar_ax, ticks=[-limit, 0, limit], format="%.2g")
        bar.set_label("weight" if i < 2 else "change")
    if len(dead_units):
        dead = (
            f"{len(dead_units)} of {units} Layer_in units never fire on the training images: "
            "crossed out."
        )
    else:
        dead = f"All {units} Layer_in units fire on some training image."
    fig.suptitle(
        f"What the {units} hidden units learned. Each tile is one unit p (row label + column "
        "label) drawn as a 15 x 15 image; one colour scale per panel, symmetric around 0.\n"
        "Top: the trained weights, still mostly their random start (the image borders are "
        "always black, so the weights in w_in that read them never move).\n"
        f"Bottom: what training changed. {dead}",
        fontsize=10,
    )
    return save(fig, file)


# ----------------------------------------------------------------- Layer_in timing


def layer_in_timing(file, timing):
    """timing: the run's, with the best seconds per call of each form at each batch size,
    and whether the machine was steady enough there for the speed-up to mean much."""
    rows = timing["by_batch_size"]
    sizes = np.array([row["batch_size"] for row in rows])
    scalar = np.array([row["scalar"]["best"] for row in rows])
    vector = np.array([row["vector"]["best"] for row in rows])
    speedups = scalar / vector
    fig = Figure(figsize=(11, 4.3))
    times, gains = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    times.loglog(
        sizes,
        scalar * 1e3,
        "o-",
        color="tab:red",
        label="scalar form: Python loops, one multiply-add at a time",
    )
    times.loglog(
        sizes, vector * 1e3, "o-", color="tab:blue", label="vector form: one matrix product (NumPy)"
    )
    times.set_xlabel("batch size N (images per call)")
    times.set_ylabel(f"{timing['clock']} time per call (ms, log scale), best of repeats")
    plain_log_ticks(times.yaxis)
    times.set_title("Layer_in, z_in = ReLU(x w_in^T + b_in): time per call", fontsize=10, y=TITLE_Y)
    times.legend(fontsize=8, loc="upper left")
    gains.semilogx(sizes, speedups, "o-", color="tab:purple")
    for n, gain, row in zip(sizes, speedups, rows):
        gains.annotate(
            f"{gain:.0f}x" if row["steady"] else "busy",
            (n, gain),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    gains.set_ylim(0, speedups.max() * 1.18)
    gains.set_xlabel("batch size N (images per call)")
    gains.set_ylabel("speed-up: scalar time / vector time")
    title = "How many times faster the vector form is"
    if not all(row["steady"] for row in rows):
        title += "\n(busy: the machine was too busy for that figure to mean much)"
    gains.set_title(title, fontsize=10, y=TITLE_Y)
    for ax in (times, gains):
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.12, wspace=0.25)
    return save(fig, file)


# ---------------------------------------------------------------------- the run's


def all_figures(results, params, initial, images):
    """The run's four figures, as PNG bytes by file name. results: what the run writes to
    results.json; params, initial: the trained and initial weights; images: the test
    "inputs" and "outputs", (N, 15, 15) on the pixel scale."""
    drawings = {
        "learning_curve.png": lambda f: learning_curve(
            f, results["losses"], results["config"], results["smoothing_window"]
        ),
        "test_pairs.png": lambda f: test_pairs(
            f, images["inputs"], images["outputs"], results["test_loss_per_image"]
        ),
        "weights.png": lambda f: weights(
            f, params, initial, results["dead_units"], results["config"]["steps"]
        ),
        "layer_in_timing.png": lambda f: layer_in_timing(f, results["timing"]),
    }
    figures = {}
    with warnings.catch_warnings():  # a library's notice of its own future (pyparsing's, for
        warnings.simplefilter("ignore", DeprecationWarning)  # Matplotlib 3.9) is not ours:
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # not even with -W error
        for name, drawing in drawings.items():
            file = io.BytesIO()
            drawing(file)
            figures[name] = file.getvalue()
    return figures

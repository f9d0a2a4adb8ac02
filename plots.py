"""Every figure the homework run draws, each written as a PNG into an open binary file.

Matplotlib is imported here and nowhere else. Figures are made with matplotlib.figure.Figure
directly, not through pyplot: no window, no backend to choose, no display needed, nothing
kept between figures, and nothing that could block a headless run.

- learning_curve: the loss of every update, with its moving average;
- test_pairs: each test image above the trained network's reconstruction of it;
- weights: what each hidden unit responds to (rows of w_in) and paints (columns of w_out),
  as 15 x 15 tiles, trained and as changed by training;
- layer_in_timing: Layer_in's scalar and vector forms, time per call against batch size.

Each takes plain NumPy arrays, numbers and the run's own dicts, writes the PNG and returns
the Figure; none computes anything the run reports.
"""

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

DPI = 110
SMOOTHING = 50  # updates in the learning curve's moving average


def count(n, noun):
    """'1 update', '2 updates'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def plain_log_ticks(axis):
    """Ticks of a log axis at 1, 2 and 5 times each power of ten, labelled as plain numbers
    (20, 50, 100), the same under every Matplotlib version."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def save(fig, file):
    """fig as PNG into file; returns fig, for a look at its axes."""
    fig.savefig(file, format="png", dpi=DPI)
    return fig


# ------------------------------------------------------------------ learning curve


def learning_curve(file, losses, config):
    """losses: the loss of each update, on its batch, before its step; config: the run's
    steps, batch_size, lr and seed."""
    losses = np.asarray(losses)
    steps, batch_size, lr, seed = (config[k] for k in ("steps", "batch_size", "lr", "seed"))
    updates = np.arange(1, len(losses) + 1)
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot()
    few = len(losses) <= SMOOTHING  # a short run: show each point
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
    if len(losses) >= 2 * SMOOTHING:
        smooth = np.convolve(losses, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
        centres = updates[SMOOTHING - 1 :] - (SMOOTHING - 1) / 2
        ax.plot(
            centres, smooth, color="tab:blue", linewidth=2, label=f"mean over {SMOOTHING} updates"
        )
    ax.set_xlim(0, len(losses) + max(1, len(losses) / 50))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("update")
    ax.set_ylabel(
        "training loss: sum of squared errors\n"
        f"over a batch of {count(batch_size, 'image')} (log scale)"
    )
    ax.set_title(
        f"AutoEncNetLite learning curve: SGD, {count(steps, 'update')}, batch {batch_size}, "
        f"lr {lr:g}, seed {seed}",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save(fig, file)


# ---------------------------------------------------------------------- test pairs

MAX_PAIRS_SHOWN = 40  # test images drawn (the test loss counts them all)


def test_pairs(file, inputs, outputs, losses, per_row=10):
    """inputs, outputs: (N, 15, 15) on the pixel scale 0..255; losses: each image's loss.

    Each test image is drawn above its reconstruction, both on one gray scale.
    """
    test_loss = sum(losses)
    n = min(len(inputs), MAX_PAIRS_SHOWN)
    per_row = min(n, per_row)
    bands = math.ceil(n / per_row)  # a band: a row of inputs over the row of their outputs
    fig = Figure(figsize=(0.95 * per_row + 1.6, 2.3 * bands + 0.9))
    # rows: input, output, gap, input, output, gap, ...; the last column holds the colour bar
    grid = fig.add_gridspec(
        3 * bands - 1,
        per_row + 1,
        height_ratios=([1, 1, 0.45] * bands)[:-1],
        width_ratios=[1] * per_row + [0.25],
        hspace=0.12,
        wspace=0.1,
    )
    for i in range(n):
        band, col = divmod(i, per_row)
        top, bottom = fig.add_subplot(grid[3 * band, col]), fig.add_subplot(grid[3 * band + 1, col])
        gray = top.imshow(inputs[i], cmap="gray", vmin=0, vmax=255)
        bottom.imshow(outputs[i], cmap="gray", vmin=0, vmax=255)
        top.set_title(f"#{i + 1}", fontsize=9)
        bottom.set_xlabel(f"loss {losses[i]:.2f}", fontsize=8)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
        if col == 0:
            top.set_ylabel("input", fontsize=10)
            bottom.set_ylabel("output", fontsize=10)
    fig.colorbar(gray, cax=fig.add_subplot(grid[: min(2, 3 * bands - 1), -1]), label="pixel value")
    which = (
        f"The {n} test images"
        if n == len(inputs)
        else f"The first {n} of {len(inputs)} test images"
    )
    fig.suptitle(
        f"{which} (input) and the trained network's reconstructions (output),\n"
        f"on one gray scale 0..255; test loss {test_loss:.2f} over all {len(inputs)} "
        "(sum of squared errors, pixels scaled to [0, 1])",
        fontsize=10,
    )
    return save(fig, file)


# ------------------------------------------------------------------------- weights


def mosaic(tiles, columns):
    """(K, h, w) tiles -> one image, `columns` tiles a row, a NaN line between tiles."""
    k, h, w = tiles.shape
    rows = math.ceil(k / columns)
    image = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        image[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = tile
    return image


def weights(file, params, initial, dead_units, steps, side=15, columns=15):
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
    rows = math.ceil(units / columns)
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
        ax.set_title(title, fontsize=10)
        ax.set_xticks([c * (side + 1) + side / 2 - 0.5 for c in range(columns)])
        ax.set_xticklabels([f"+{c}" for c in range(columns)], fontsize=7)
        ax.set_yticks([r * (side + 1) + side / 2 - 0.5 for r in range(rows)])
        ax.set_yticklabels([f"unit {r * columns}" for r in range(rows)], fontsize=7)
        ax.tick_params(length=0)
        for edge in ax.spines.values():
            edge.set_visible(False)
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
        bar = fig.colorbar(tiles, cax=bar_ax)
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
    """timing: the run's, with the best seconds per call of each form at each batch size."""
    rows, repeats = timing["by_batch_size"], timing["repeats"]
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
    times.set_ylabel("time per call (ms, log scale), best of repeats")
    plain_log_ticks(times.yaxis)
    times.set_title(
        f"Layer_in, z_in = ReLU(x w_in^T + b_in): time per call (best of {repeats})", fontsize=10
    )
    times.legend(fontsize=8, loc="upper left")
    gains.semilogx(sizes, speedups, "o-", color="tab:purple")
    for n, gain in zip(sizes, speedups):
        gains.annotate(
            f"{gain:.0f}x",
            (n, gain),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    gains.set_ylim(0, speedups.max() * 1.18)
    gains.set_xlabel("batch size N (images per call)")
    gains.set_ylabel("speed-up: scalar time / vector time")
    gains.set_title("How many times faster the vector form is", fontsize=10)
    for ax in (times, gains):
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save(fig, file)

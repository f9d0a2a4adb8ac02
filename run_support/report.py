"""Every table and line the run prints: heading, timing, gradient_check, training,
progress_row and summary, its sections; count, seconds, times, quoted, shown and table, the
words they are written in. Standard library only."""

import os
import textwrap

MAX_QUOTED = 80  # characters of a value quoted in a one-line message
MAX_PATH = 160  # characters of a path shown in one: its two ends if it is longer


def count(n, noun):
    """'1 update', '2 updates', '1,000 updates'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def seconds(s):
    """A duration in the unit that suits it: '21.3 ms', '8.4 us', '207 us'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return f"{s / scale:.1f} {unit}" if s / scale < 100 else f"{s / scale:.0f} {unit}"


def times(ratio):
    """A ratio: '5.4x', '18x', '620x'."""
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def quoted(text, limit=MAX_QUOTED):
    """A value from outside (a flag, a name in a file) for a one-line message: escaped as
    repr escapes it (newlines, terminal escapes, right-to-left marks become visible) and
    cut short."""
    return repr(text[:limit]) + (f"... ({len(text):,} in all)" if len(text) > limit else "")


PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = {os.path.join(PROJECT, n): n for n in ("images_train.pickle", "images_test.pickle")}


def shown(path):
    """A path as the user gave it, a shipped image file by its own name (not this machine's
    folders): escaped if a terminal would act on it, and only its two ends if it is long."""
    text = os.fsdecode(path)
    text = SHIPPED.get(text, text)
    if len(text) > MAX_PATH:
        text = f"{text[: MAX_PATH // 2 - 2]}...{text[-(MAX_PATH // 2 - 1) :]}"
    return text if text.isprintable() else repr(text)


def table(rows, align=None, indent=2):
    """Rows of cells as aligned lines; align: "<" (left) or ">" (right) for each column, by
    default the first to the left and the rest to the right."""
    align = align or "<" + ">" * (len(rows[0]) - 1)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cells = [
        [c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(r, widths, align)] for r in rows
    ]
    return "\n".join(" " * indent + "  ".join(line).rstrip() for line in cells)


def wrapped(text):
    return textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="    ")


def dips(rows):
    """Where the vector form's time per image rose from a batch size to the next: '10 to 20'."""
    per_image = [row["vector"]["best"] / row["batch_size"] for row in rows]
    steps = zip(rows, rows[1:], per_image, per_image[1:])
    return [f"{a['batch_size']} to {b['batch_size']}" for a, b, t, u in steps if u > t]


def heading(n_train, train, n_test, test):
    """The run's first line: the images and their files."""
    images = f"{count(n_train, 'training image')} ({shown(train)}), {count(n_test, 'test image')}"
    return f"AutoEncNetLite: {images} ({shown(test)})"


FORMS = ("scalar", "vector")


def timing(result, figure):
    """Layer_in's two forms: the headline at the training batch, then every batch size."""
    rows, batch = result["by_batch_size"], result["difference_batch_size"]
    at = next(row for row in rows if row["batch_size"] == batch)
    cells = [("batch size", "scalar form", "vector form", "speed-up")]
    for row in rows:
        speedup = times(row["speedup"]) if row["steady"] else "busy"
        cells.append((str(row["batch_size"]), *(seconds(row[f]["best"]) for f in FORMS), speedup))
    sizes = table(cells, ">>>>").splitlines()
    sizes[1 + rows.index(at)] += "  <- the training batch"
    calls = " against ".join(seconds(at[f]["best"]) for f in FORMS) + " a call"
    faster = f"{times(at['speedup'])} faster" if at["steady"] else "timed on a busy machine"
    lines = [
        "\nLayer_in, scalar form (three Python loops) against vector form (a matrix product):",
        f"  on the training batch of {count(batch, 'image')} the vector form is {faster}: {calls}",
        *sizes,
        f"  {result['clock']} time per call, the fastest of 3 to 5 repeats; the two forms' "
        f"outputs agree to {result['max_difference']:.1e}",
    ]
    busy = ", ".join(str(row["batch_size"]) for row in rows if not row["steady"])
    spread = f"the median repeat took over {result['busy_spread']:g} times the fastest"
    notes = [f"busy: while batch size {busy} was timed the machine was busy ({spread})"]
    notes = notes if busy else []
    why = f"why the speed-up is not smooth ({shown(figure)}): the loops take a time in step with "
    why += "the batch size; the matrix product has a fixed cost a call, shared by more images "
    why += "as the batch grows"
    if dips(rows):
        rose = f"its time per image rose from {', from '.join(dips(rows))} images"
        why += f", and {rose}, where NumPy's matrix library (BLAS) changes its method"
    return "\n".join([*lines, *map(wrapped, [*notes, why])])


def gradient_check(result, failed, took):
    """The gradient check as a table: per array, the entries checked and the worst error."""
    cells = [("array", "shape", "entries", "checked", "skipped", "largest error")]
    for name, r in result["arrays"].items():
        counts = [str(r[k]) for k in ("entries", "checked", "skipped")]
        shape = "x".join(map(str, r["shape"]))
        cells.append((name, shape, *counts, f"{r['max_relative_error']:.1e}"))
    floor, within = f"{result['floor']:.1e}", "NOT all within" if failed else "at most"
    return f"""
Backprop against central differences (step {result["step"]:.0e}) on {result["images"]} images: \
training images with ink, and noise
{table(cells, "<<>>>>")}
  skipped: a ReLU switches within the step there (the loss has a kink)
  error: |backprop - difference| / max(|backprop|, |difference|, {floor}, the rounding floor)
  every error {within} {result["max_allowed"]:g}; took {seconds(took)}"""


def training(steps, batch_size, lr, seed, window):
    """The training's heading and its progress table's."""
    what = f"{count(steps, 'SGD update')}, batches of {count(batch_size, 'random image')}"
    header = progress_row("update", "loss", f"mean of the last {window}")
    return f"\nTraining: {what}, lr {lr:g}, seed {seed}\n{header}"


def progress_row(update, loss, mean):
    """A row of the progress table, or its header if given words: losses with two decimals,
    or three digits once they are huge."""
    loss, mean = (
        c if isinstance(c, str) else f"{c:.2f}" if c < 1e6 else f"{c:.3g}" for c in (loss, mean)
    )
    return f"  {update:>7}  {loss:>10}  {mean:>20}"


BASELINES = {"zeros": "an all-black output", "mean_image": "the mean training image"}
BASELINES["pca"] = "best linear code, width 75 (PCA)"


def stands(loss, base, key, steps):
    """The network's test loss against a baseline's, in words."""
    if loss == base:
        return "the same"
    ratio = f"{times(max(loss, base) / min(loss, base))} " if min(loss, base) > 0 else ""
    if loss < base:
        return ratio + "lower" + (": the ReLUs buy what no linear code can" if key == "pca" else "")
    why = f"still under-trained after {count(steps, 'update')}" if key == "pca" else "not learned"
    return f"{ratio}higher: {why}"


def summary(results, folder, outputs):
    losses, n_test = results["losses"], len(results["test_loss_per_image"])
    window, took, loss = results["smoothing_window"], results["seconds"], results["test_loss"]
    base, steps = results["baselines"], results["config"]["steps"]
    cells = [
        (name, f"{base[k]:.2f}", stands(loss, base[k], k, steps)) for k, name in BASELINES.items()
    ]
    parts = ", ".join(f"{words} {took[part]:.2f} s" for part, words in PARTS.items())
    run = wrapped(
        f"the run took {took['total']:.2f} s after Python loaded NumPy and Matplotlib: {parts}"
    )
    last, wrote = sum(losses[-window:]) / window, [shown(os.path.join(folder, n)) for n in outputs]
    return f"""
Summary
  final training loss   {losses[-1]:.2f} (mean of the last {count(window, "update")} {last:.2f}; \
first update {losses[0]:.2f})
  test loss             {loss:.2f} over {count(n_test, "test image")} \
({loss / n_test:.2f} per image)
  baselines on the same images, and the network's test loss against each:
{table(cells, "<><", indent=4)}
  training took {took["training"]:.2f} s, {seconds(results["seconds_per_update"])} an update
{run}""" + "".join(f"\n  wrote {path}" for path in wrote)


PARTS = {"layer_in_timing": "Layer_in timing", "gradient_check": "gradient check"}
PARTS |= {"training": "training", "figures": "figures"}  # the run's parts, in words

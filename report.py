"""Every text the homework run prints, and the few helpers that word it.

- count, seconds, shown, quoted: a count with its noun, a duration in the unit that suits
  it, a path and a value from the user quoted so that a terminal cannot act on them;
- table: rows of cells as aligned text;
- timing, gradient_check, progress_header, progress_row, summary: the run's sections.

The standard library only, so that anything may word its messages with it: the image
reader, the command line and the figures among them. Nothing here computes a result.
"""

import os

MAX_QUOTED = 80  # characters of a value quoted in a one-line message
MAX_PATH = 160  # characters of a path shown in one: its two ends if it is longer


def count(n, noun):
    """'1 update', '2 updates'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def seconds(s):
    """A duration in the unit that suits it: '21.3 ms', '8.4 us', '207 us'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            value = s / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"


def quoted(text, limit=MAX_QUOTED, length=None):
    """A value from outside (a flag, a name in a file) for a message: escaped as repr
    escapes it (newlines, terminal escapes, right-to-left marks become visible), cut short.
    length: the whole value's, where text is already only its start."""
    head, length = text[:limit], len(text) if length is None else length
    more = f"... ({length:,} in all)" if length > limit else ""
    return repr(bytes(head) if isinstance(head, memoryview) else head) + more


def shown(path):
    """A path as the user would write it: relative to the current folder when inside it
    (as given if that folder is gone), escaped if a terminal would act on it, and only its
    two ends if it is long."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(os.fspath(path))
    try:
        relative = os.path.relpath(text) if os.path.isabs(text) else text
    except (OSError, ValueError):  # the current folder is gone; another drive (Windows)
        relative = text
    text = text if relative.startswith("..") else relative
    if len(text) > MAX_PATH:
        text = f"{text[: MAX_PATH // 2 - 2]}...{text[-(MAX_PATH // 2 - 1) :]}"
    return text if text.isprintable() else repr(text)


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


def loss_text(loss):
    """A loss for the progress table: two decimals, or three digits once it is huge."""
    return f"{loss:.2f}" if loss < 1e6 else f"{loss:.3g}"


# ------------------------------------------------------------------ the sections


def timing(result, figure):
    """Layer_in's two forms: the table at the training batch size, then every size."""
    by_size = {row["batch_size"]: row for row in result["by_batch_size"]}
    row = by_size[result["difference_batch_size"]]
    cells = [("form", "calls x repeats", f"{result['clock']} time per call (best)", "(median)")]
    for form in ("scalar", "vector"):
        t = row[form]
        calls = f"{t['calls_per_repeat']} x {t['repeats']}"
        cells.append((form, calls, seconds(t["best"]), seconds(t["median"])))
    speedups = "  ".join(
        f"{n}: {r['speedup']:.0f}x" if r["steady"] else f"{n}: busy" for n, r in by_size.items()
    )
    spreads = "  ".join(f"{n}: {r['spread']:.2f}" for n, r in by_size.items())
    lines = [
        table(cells),
        f"  the two forms' outputs agree to {result['max_difference']:.1e}",
        f"  speed-up by batch size, best against best ({shown(figure)}):",
        f"  {speedups}",
        "  spread by batch size, median against best (the larger of the two forms):",
        f"  {spreads}",
    ]
    unsteady = [str(n) for n, r in by_size.items() if not r["steady"]]
    if unsteady:
        lines.append(
            f"  busy: while batch size {', '.join(unsteady)} was timed, the machine was too busy "
            f"for a speed-up to mean much (a spread over {result['busy_spread']:g})"
        )
    return "\n".join(lines)


def gradient_check(result, failed, took):
    """The gradient check as a table: per array, the entries checked and the worst error."""
    cells = [("array", "shape", "entries", "checked", "skipped", "largest error")]
    for name, r in result["arrays"].items():
        shape = "x".join(str(n) for n in r["shape"])
        counts = (str(r["entries"]), str(r["checked"]), str(r["skipped"]))
        cells.append((name, shape, *counts, f"{r['max_relative_error']:.1e}"))
    verdict = "NOT all within" if failed else "at most"
    return "\n".join(
        [
            table(cells, left=2),
            "  skipped: a ReLU switches within the step there (the loss has a kink)",
            "  error: |backprop - difference| / max(|backprop|, |difference|, "
            f"{result['floor']:.1e}, the rounding floor)",
            f"  every error {verdict} {result['max_allowed']:g}; took {seconds(took)}",
        ]
    )


def progress_header(window):
    return f"  {'update':>7}  {'loss':>10}  {'mean of the last ' + str(window):>20}"


def progress_row(update, loss, mean):
    return f"  {update:>7}  {loss_text(loss):>10}  {loss_text(mean):>20}"


def summary(results, folder, outputs):
    losses, n_test = results["losses"], len(results["test_loss_per_image"])
    window = results["smoothing_window"]
    base, took = results["baselines"], results["seconds"]
    lines = [
        "\nSummary",
        f"  final training loss   {losses[-1]:.2f} (mean of the last "
        f"{count(window, 'update')} {sum(losses[-window:]) / window:.2f}; first update "
        f"{losses[0]:.2f})",
        f"  test loss             {results['test_loss']:.2f} over {count(n_test, 'test image')} "
        f"({results['test_loss'] / n_test:.2f} per image)",
        f"  baselines on the same images: all-black output {base['zeros']:.2f}, mean training "
        f"image {base['mean_image']:.2f}, best linear code of width 75 (PCA) {base['pca']:.2f}",
        f"  training took {took['training']:.2f} s "
        f"({seconds(results['seconds_per_update'])} per update)",
        f"  the run took {took['total']:.2f} s after Python loaded NumPy and Matplotlib: "
        f"Layer_in timing {took['layer_in_timing']:.2f} s,",
        f"  gradient check {took['gradient_check']:.2f} s, training {took['training']:.2f} s, "
        f"figures {took['figures']:.2f} s",
    ]
    return "\n".join(lines + [f"  wrote {shown(os.path.join(folder, n))}" for n in outputs])

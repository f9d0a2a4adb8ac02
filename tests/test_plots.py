"""plots.py and tools/draw_graph.py: every figure, at the edges of what a run can give it;
and the house rules: Matplotlib in plots.py (and tools) only, utils.py on NumPy alone."""

import ast
import io
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import ROOT

import plots


def png_pixels(data):
    """The picture a PNG holds, as an array; fails if it is not a PNG."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def drawn(draw, *args):
    """draw(file, *args) into memory: (the Figure, the picture)."""
    file = io.BytesIO()
    fig = draw(file, *args)
    pixels = png_pixels(file.getvalue())
    assert pixels.std() > 0.01  # not a blank picture
    return fig, pixels


def texts(fig):
    """Every piece of text in a figure, titles and labels included."""
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


@pytest.mark.parametrize("n", [1, 3, 20, 45])
def test_test_pairs_show_each_input_directly_above_its_output(n):
    rng = np.random.default_rng(n)
    inputs, outputs = rng.uniform(0, 255, (n, 15, 15)), rng.uniform(0, 255, (n, 15, 15))
    losses = rng.uniform(0, 3, n)
    fig, _ = drawn(plots.test_pairs, inputs, outputs, losses)
    ax = fig.axes[0]
    [image] = ax.images
    mosaic = image.get_array()
    shown = min(n, plots.MAX_PAIRS_SHOWN)
    band = 2 * 15 + 1 + plots.GAP
    for i in range(shown):
        b, c = divmod(i, min(shown, plots.PER_ROW))
        top, left = b * band, c * 16
        assert np.array_equal(mosaic[top : top + 15, left : left + 15], inputs[i])
        assert np.array_equal(mosaic[top + 16 : top + 31, left : left + 15], outputs[i])
    assert image.get_clim() == (0, 255)  # one gray scale for inputs and outputs
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = list(ax.get_yticks())
    assert labels[:2] == ["input", "output"] and ticks[0] < ticks[1]  # input row on top
    words = texts(fig)
    assert f"#{shown}" in words and f"#{shown + 1}" not in words
    assert f"loss {losses[0]:.2f}" in words
    assert f"test loss {losses.sum():.2f} over all {n}" in words
    assert (f"first {shown} of {n}" in words) == (n > shown)


@pytest.mark.parametrize("steps", [1, 2, 7, 60, 1000])
def test_the_learning_curve_shows_every_run_on_sensible_axes(steps):
    losses = list(400 * np.exp(-np.arange(steps) / 200) + 20)
    config = {"steps": steps, "batch_size": 20, "lr": 0.001, "seed": 0}
    window = max(1, min(100, steps // 10))
    fig, _ = drawn(plots.learning_curve, losses, config, window)
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    bottom, top = ax.get_ylim()
    assert left <= 0 < 1 and steps < right <= steps * 1.05 + 1  # every update inside
    assert bottom < min(losses) and max(losses) < top  # every loss inside, not on an edge
    [line, *smooth] = ax.get_lines()
    assert len(line.get_xdata()) == steps
    assert (line.get_marker() == "o") == (steps <= 50)  # short runs: points
    assert len(smooth) == (1 if window > 1 else 0)
    if smooth:
        assert smooth[0].get_label() == f"mean over {window} updates"
        assert len(smooth[0].get_xdata()) == steps - window + 1
    assert ax.get_yscale() == "log"
    assert f"SGD, {plots.count(steps, 'update')}, batch 20" in texts(fig)
    labels = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert labels and all(float(text) > 0 for text in labels)  # plain numbers: 20, 50, 100
    assert plots.count(1, "update") == "1 update" and plots.count(2, "update") == "2 updates"


def test_a_learning_curve_with_a_loss_of_0_is_drawn_on_a_linear_axis():
    config = {"steps": 30, "batch_size": 20, "lr": 0.001, "seed": 0}
    fig = plots.learning_curve(io.BytesIO(), [0.0] * 30, config, 3)
    assert fig.axes[0].get_yscale() == "linear"
    fig = plots.learning_curve(io.BytesIO(), [1e-9] * 30, config, 3)
    assert fig.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("dead", [[], [0], [3, 17, 74], list(range(75))])
def test_the_weights_figure_crosses_out_the_dead_units(dead):
    rng = np.random.default_rng(1)
    params = {"w_in": rng.normal(0, 0.1, (75, 225)), "w_out": rng.normal(0, 0.1, (225, 75))}
    initial = {name: w + rng.normal(0, 0.01, w.shape) for name, w in params.items()}
    fig, _ = drawn(plots.weights, params, initial, dead, 1000)
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert len(panels) == 4
    for ax in panels:
        [image] = ax.images
        low, high = image.get_clim()
        assert -low == high > 0  # a scale symmetric around 0
        assert image.get_array().shape == (5 * 16 - 1, 15 * 16 - 1)  # 75 tiles of 15 x 15
    crossed = [len(ax.patches) for ax in panels]
    assert crossed == [len(dead), 0, len(dead), 0]  # on the Layer_in panels only
    words = texts(fig)
    assert ("never fire" in words) == bool(dead) and ("All 75" in words) == (not dead)


def test_the_weights_figure_shows_each_unit_where_its_label_says():
    """Tile p holds row p of w_in, as a 15 x 15 image read row by row: a weight marked at
    pixel (0, 1) of unit 17 appears in that tile, one pixel right of its corner."""
    params = {"w_in": np.zeros((75, 225)), "w_out": np.zeros((225, 75))}
    params["w_in"][17, 1] = 1.0  # unit 17, pixel (0, 1)
    fig, _ = drawn(plots.weights, params, params, [], 5)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    row, col = divmod(17, 15)
    assert image[row * 16, col * 16 + 1] == 1.0 and np.nansum(np.abs(image)) == 1.0
    labels = {t.get_text(): t.get_position() for t in ax.texts}
    assert labels["unit 15"][1] == pytest.approx(row * 16 + 7)  # the row label of unit 15..29
    assert labels["+2"][0] == pytest.approx(col * 16 + 7)  # 15 + 2 = unit 17's column


def timing(sizes, busy=()):
    rows = [
        {
            "batch_size": n,
            "steady": n not in busy,
            "scalar": {"best": 4e-4 * n},
            "vector": {"best": 3e-6 + 2e-7 * n},
            "speedup": 4e-4 * n / (3e-6 + 2e-7 * n),
        }
        for n in sizes
    ]
    return {"clock": "CPU", "by_batch_size": rows}


@pytest.mark.parametrize("sizes", [[1], [1, 2, 3], [1, 2, 5, 10, 20, 50, 100], [1, 20, 1000]])
def test_the_layer_in_timing_for_any_batch_sizes(sizes):
    fig, _ = drawn(plots.layer_in_timing, timing(sizes))
    times, gains = fig.axes
    assert times.get_xscale() == "log" and times.get_yscale() == "log"
    assert times.get_ylabel().startswith("CPU time per call")  # the clock the run used
    assert all(float(label.get_text()) > 0 for label in times.get_yticklabels() if label.get_text())
    assert [len(line.get_xdata()) for line in times.get_lines()] == [len(sizes)] * 2
    words = texts(fig)
    for row in timing(sizes)["by_batch_size"]:
        assert f"{row['speedup']:.0f}x" in words  # each speed-up, written at its point
    assert "busy" not in words


def test_a_speed_up_timed_on_a_busy_machine_is_marked_not_written():
    fig, _ = drawn(plots.layer_in_timing, timing([1, 2, 5], busy=[2]))
    labels = [t.get_text() for t in fig.axes[1].texts]
    assert labels == ["2x", "busy", "10x"] or labels[1] == "busy", labels
    assert "too busy" in fig.axes[1].get_title()


def test_the_graph_tool_draws_every_node(tmp_path):
    out = tmp_path / "graph.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "draw_graph.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    pixels = png_pixels(out.read_bytes())
    assert pixels.shape[0] > 800 and pixels.std() > 0.01
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import draw_graph
    finally:
        sys.path.remove(str(ROOT / "tools"))
    words = texts(draw_graph.draw(io.BytesIO()))
    for expected in (
        "x: the input, (N, 225)",
        "Layer_in",
        "Layer_rec (not trained)",
        "reduce x 3",
        "Layer_link",
        "z_sum = z_rec + z_link",
        "Layer_out",
        "L = sum((y - x) ** 2)",
        "trained by SGD",
        "fixed: never trained",
        "w_rec = I",
    ):
        assert expected in words, expected
    assert (ROOT / "docs" / "graph.png").read_bytes().startswith(b"\x89PNG")  # shown in README


# ----------------------------------------------------------------- the house rules


def imported_modules(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


ROOMS = {  # each module, and what beyond the standard library it may import
    "utils.py": {"numpy"},
    "gradient_check.py": {"numpy", "utils"},
    "timing.py": set(),
    "plots.py": {"numpy", "matplotlib", "report", "utils"},
    "report.py": set(),
    "command_line.py": {"report"},
    "output_set.py": {"report", "command_line"},
    "image_files.py": {"numpy", "report", "utils"},
    "train_autoenc_lite.py": {
        *("numpy", "command_line", "gradient_check", "image_files"),
        *("output_set", "plots", "report", "timing", "utils"),
    },
}


def test_each_module_imports_only_what_its_room_needs():
    """utils.py on NumPy alone, Matplotlib in plots.py alone, the machinery apart."""
    assert sorted(ROOMS) == sorted(p.name for p in ROOT.glob("*.py"))
    assert imported_modules(ROOT / "utils.py") == {"numpy"}
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    for name, allowed in ROOMS.items():
        found = imported_modules(ROOT / name)
        assert ("matplotlib" in found) == (name == "plots.py"), name
        if stdlib:  # Python 3.10+
            assert found - stdlib <= allowed, (name, found - stdlib - allowed)


def test_no_pyplot_anywhere(tmp_path):
    """The run draws with matplotlib.figure alone: no pyplot, so no window and no show()."""
    code = (
        f"import sys, io; sys.path.insert(0, {str(ROOT)!r}); import train_autoenc_lite, plots; "
        "plots.learning_curve(io.BytesIO(), [3.0, 2.0], dict(steps=2, batch_size=1, lr=1, "
        "seed=0), 1); print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

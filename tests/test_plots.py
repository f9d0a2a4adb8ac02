"""run_support/plots.py, from each figure's own objects: every row and tile, every label
at the tile it names, every colour scale; the run's four figures in Matplotlib's default
style whatever a matplotlibrc says; the graph tool; and which module may import what."""

import ast
import io
import sys

import matplotlib
import numpy as np
import pytest
from conftest import ROOT

from run_support import plots


def labels(ax):
    """Each text of ax, by its words: its position."""
    return {t.get_text(): t.get_position() for t in ax.texts}


def tile(image, band_rows, row, column, band=0):
    """The 15 x 15 tile of an image of bands at a band, row and column (plots.bands)."""
    top = band * (band_rows * 16 - 1 + plots.GAP) + row * 16
    return image[top : top + 15, column * 16 : column * 16 + 15]


@pytest.mark.parametrize("steps", [1, 7, 50, 51, 1000])
def test_the_learning_curve_shows_each_loss_and_the_moving_mean(steps):
    losses = 400 * np.exp(-np.arange(steps) / 200) + 20 + np.arange(steps) % 3
    window = max(1, min(100, steps // 10))
    config = {"steps": steps, "batch_size": 20, "lr": 0.001, "seed": 4}
    ax = plots.learning_curve(list(losses), config, window).axes[0]
    [line, *mean] = ax.get_lines()
    assert line.get_xdata().tolist() == list(range(1, steps + 1))
    assert np.array_equal(line.get_ydata(), losses)
    assert (line.get_marker() == "o") == (steps <= 50)  # a short run: each point
    assert len(mean) == (window > 1)
    if mean:
        assert mean[0].get_label() == f"mean over {window} updates"
        means = [losses[i : i + window].mean() for i in range(steps - window + 1)]
        assert np.allclose(mean[0].get_ydata(), means)
        assert mean[0].get_xdata()[0] == pytest.approx((1 + window) / 2)  # at its window's centre
    assert ax.get_xlim()[0] <= 0 and steps < ax.get_xlim()[1] <= steps * 1.05 + 1
    assert ax.get_ylim()[0] < losses.min() and losses.max() < ax.get_ylim()[1]
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert f"SGD, {plots.count(steps, 'update')}, batch 20, lr 0.001, seed 4" in ax.get_title()


def test_a_learning_curve_with_a_loss_of_0_is_drawn_on_a_linear_axis():
    config = {"steps": 30, "batch_size": 20, "lr": 0.001, "seed": 0}
    assert plots.learning_curve([0.0] * 30, config, 3).axes[0].get_yscale() == "linear"
    assert plots.learning_curve([1e-9] * 30, config, 3).axes[0].get_yscale() == "log"


@pytest.mark.parametrize("n", [1, 3, 20, 40, 41])
def test_test_pairs_show_each_input_above_its_output_with_its_number_and_loss(n):
    rng = np.random.default_rng(n)
    inputs, outputs = rng.uniform(0, 255, (2, n, 15, 15))
    losses = rng.permutation(n) * 0.37 + 0.01  # each label its own text
    fig = plots.test_pairs(inputs, outputs, losses)
    ax = fig.axes[0]
    [image] = ax.images
    shown, per_row = min(n, plots.MAX_PAIRS_SHOWN), min(n, plots.PER_ROW)
    words = labels(ax)
    for i in range(shown):
        band, column = divmod(i, per_row)
        assert np.array_equal(tile(image.get_array(), 2, 0, column, band), inputs[i])
        assert np.array_equal(tile(image.get_array(), 2, 1, column, band), outputs[i])
        x, top = words[f"#{i + 1}"]
        assert x == column * 16 + 7 and top < band * (31 + plots.GAP)  # above its input
        x, bottom = words[f"loss {losses[i]:.2f}"]
        assert x == column * 16 + 7 and bottom > band * (31 + plots.GAP) + 30  # below its output
    assert f"#{shown + 1}" not in words
    assert image.get_clim() == (0, 255)  # one gray scale for inputs and outputs
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["input", "output"] * -(-shown // per_row)
    assert list(ax.get_yticks()) == sorted(ax.get_yticks())
    title = fig._suptitle.get_text()
    assert f"test loss {losses.sum():.2f} over all {n}" in title
    assert title.startswith(
        f"The first 40 of {n} test images" if n > 40 else f"The {n} test images"
    )


def weights_case(seed=1):
    rng = np.random.default_rng(seed)
    params = {"w_in": rng.normal(0, 0.1, (75, 225)), "w_out": rng.normal(0, 0.1, (225, 75))}
    initial = {name: w + rng.normal(0, 0.01, w.shape) for name, w in params.items()}
    return params, initial


def test_each_units_tiles_are_its_row_of_w_in_and_its_column_of_w_out_and_their_changes():
    params, initial = weights_case()
    fig = plots.weights(params, initial, [])
    ax = fig.axes[0]
    [image] = ax.images
    w_in, w_out = params["w_in"], params["w_out"]
    changes = [w_in, w_in - initial["w_in"], w_out, w_out - initial["w_out"]]
    limits = [np.abs(w).max() for w in changes]
    for p in (0, 17, 31, 74):
        band, column = divmod(p, plots.UNITS_PER_ROW)
        tiles = [tile(image.get_array(), 4, r, column, band) * limits[r] for r in range(4)]
        assert np.allclose(tiles[0], changes[0][p].reshape(15, 15))  # row p of w_in
        assert np.allclose(tiles[1], changes[1][p].reshape(15, 15))
        assert np.allclose(tiles[2], changes[2][:, p].reshape(15, 15))  # column p of w_out
        assert np.allclose(tiles[3], changes[3][:, p].reshape(15, 15))
        x, y = labels(ax)[str(p)]
        assert x == column * 16 + 7 and y < band * (63 + plots.GAP)  # its number above its tiles
    assert image.get_clim() == (-1, 1)  # each row in units of its own limit
    rows = [t.get_text() for t in ax.get_yticklabels()]  # each row named for what it shows
    assert rows == ["w_in", "changed", "w_out", "changed"] * 3
    fig.draw_without_rendering()  # the tick labels are made when drawn
    for bar, limit, name in zip(fig.axes[1:], limits, plots.SCALES):
        assert bar.get_xlim() == pytest.approx((-limit, limit)) and bar.get_title() == name
        ticks = [t.get_text() for t in bar.get_xticklabels()]
        assert ticks == [f"{-limit:.2g}", "0", f"{limit:.2g}"]


def test_a_colour_scale_is_the_largest_magnitude_not_the_largest_value():
    params, initial = weights_case()
    params["w_in"][3, 5] = -9.0  # the largest magnitude, below 0
    bar = plots.weights(params, initial, []).axes[1]
    assert bar.get_xlim() == pytest.approx((-9.0, 9.0))


def test_what_training_changed_is_trained_minus_initial():
    params, initial = weights_case()
    initial["w_in"] = params["w_in"] - 0.05  # every weight rose
    image = plots.weights(params, initial, []).axes[0].images[0].get_array()
    assert tile(image, 4, 1, 0).min() > 0  # the change of unit 0: positive


@pytest.mark.parametrize("dead", [[], [0], [3, 17, 74], list(range(75))])
def test_a_dead_unit_is_crossed_out_over_its_own_w_in_tiles(dead):
    params, initial = weights_case()
    fig = plots.weights(params, initial, dead)
    corners = sorted(patch.get_xy() for patch in fig.axes[0].patches)
    expected = [(p % 25 * 16 - 0.5, p // 25 * (63 + plots.GAP) - 0.5) for p in dead]
    assert corners == sorted(expected)
    assert all(patch.get_height() == 31 for patch in fig.axes[0].patches)  # w_in and its change
    crossed = f"crossed out: {plots.count(len(dead), 'unit')}"
    assert (crossed in fig._suptitle.get_text()) == bool(dead)


def timing_case(sizes, busy=(), vector=lambda n: 3e-6 + 2e-7 * n):
    rows = [{"batch_size": n, "steady": n not in busy} for n in sizes]
    for row, n in zip(rows, sizes):
        row.update(scalar={"best": 4e-4 * n}, vector={"best": vector(n)})
    batch = sizes[len(sizes) // 2]  # the training batch: in the middle, not the largest
    return {"clock": "CPU", "by_batch_size": rows, "difference_batch_size": batch}


@pytest.mark.parametrize("sizes", [[1], [1, 2, 3], [1, 2, 5, 10, 20, 50, 100]])
def test_the_timing_figure_shows_both_forms_and_each_speed_up_at_its_point(sizes):
    fig = plots.layer_in_timing(timing_case(sizes))
    times, gains = fig.axes
    scalar, vector, batch = times.get_lines()
    assert scalar.get_xdata() == pytest.approx(sizes)
    assert scalar.get_ydata() == pytest.approx([0.4 * n for n in sizes])
    assert vector.get_ydata() == pytest.approx([1e3 * (3e-6 + 2e-7 * n) for n in sizes])
    trained = sizes[len(sizes) // 2]
    assert list(batch.get_xdata()) == [trained] * 2 and batch.get_linestyle() == "--"
    assert times.get_xlabel().endswith(f"dashed: the training batch, {trained}")
    assert times.get_xscale() == times.get_yscale() == "log"
    assert times.get_ylabel().startswith("CPU time")
    speedups = [(n, 4e-4 * n / (3e-6 + 2e-7 * n)) for n in sizes]
    at = [(f"{s:.0f}x", (n, pytest.approx(s))) for n, s in speedups]
    assert [(t.get_text(), t.xy) for t in gains.texts] == at
    assert gains.get_ylim()[0] == 0 and gains.get_ylim()[1] > 1.1 * max(s for _, s in speedups)
    assert "busy" not in gains.get_title() and "dips" not in gains.get_title()


def test_a_busy_size_and_a_dip_are_marked_in_the_timing_figure():
    jump = lambda n: 1e-6 * n * (2.0 if n >= 20 else 1.0)  # noqa: E731
    gains = plots.layer_in_timing(timing_case([1, 2, 10, 20], busy=[2], vector=jump)).axes[1]
    assert [t.get_text() for t in gains.texts][1] == "busy"
    assert "too busy" in gains.get_title() and "dips from 10 to 20" in gains.get_title()


def test_all_figures_writes_the_four_pngs_in_the_default_style_whatever_the_rc(tmp_path):
    params, initial = weights_case()
    timing = timing_case([1, 2])
    config = {"steps": 2, "batch_size": 1, "lr": 0.1, "seed": 0}
    results = {"losses": [3.0, 2.0], "config": config, "smoothing_window": 1}
    results |= {"test_loss_per_image": [1.0], "dead_units": [], "timing": timing}
    images = np.zeros((1, 15, 15))
    with matplotlib.rc_context({"axes.facecolor": "red", "text.usetex": True, "font.size": 30}):
        figures = plots.all_figures(tmp_path, results, params, initial, images, images)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(figures)
    assert all((tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for name in figures)
    ax = figures["learning_curve.png"].axes[0]
    assert ax.get_facecolor() == (1, 1, 1, 1) and ax.title.get_fontsize() == 10


def test_the_graph_tool_draws_every_node():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import draw_graph
    finally:
        sys.path.remove(str(ROOT / "tools"))
    fig = draw_graph.draw(io.BytesIO())
    words = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    nodes = ["x: the input, (N, 225)", "Layer_in", "Layer_rec (not trained)", "reduce x 3"]
    nodes += ["Layer_link", "z_sum = z_rec + z_link", "Layer_out", "L = sum((y - x) ** 2)"]
    for node in [*nodes, "w_rec = I"]:
        assert node in words, node


def imported(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def test_utils_imports_numpy_alone_and_only_plots_imports_matplotlib():
    modules = [ROOT / "train_autoenc_lite.py", ROOT / "utils.py", *ROOT.glob("run_support/*.py")]
    assert imported(ROOT / "utils.py") == {"numpy"}
    for path in modules:
        assert ("matplotlib" in imported(path)) == (path.name == "plots.py"), path.name

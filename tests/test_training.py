"""The homework's own functions in train_autoenc_lite.py, each called directly: the data,
train(), the Layer_in timing, evaluation and its baselines, and the run's warnings."""

import itertools
import types

import numpy as np
import pytest
from conftest import TEST_FILE, TRAIN_FILE, flags

import command_line
import image_files
import timing
import train_autoenc_lite as program
import utils
from command_line import InputError, RunError


@pytest.fixture(scope="module")
def x_train():
    return program.to_batch(image_files.load_images(TRAIN_FILE))


@pytest.fixture(scope="module")
def x_test():
    return program.to_batch(image_files.load_images(TEST_FILE))


# -------------------------------------------------------------------------- the data


def test_images_become_inputs_in_0_1_and_back():
    images = np.arange(2 * 225, dtype=float).reshape(2, 15, 15) % 256
    batch = program.to_batch(images)
    assert batch.shape == (2, 225) and batch.max() == 1.0 and batch[0, 1] == 1 / 255
    assert np.allclose(program.to_images(batch), images, rtol=0, atol=1e-12)


def test_a_batch_as_large_as_the_training_set_is_allowed_one_more_is_not():
    assert len(program.load_data(flags("--batch-size", 1000))[0]) == 1000
    with pytest.raises(InputError, match="--batch-size 1001: larger than the 1000 images"):
        program.load_data(flags("--batch-size", 1001))


def test_a_bad_image_file_is_named_by_its_flag(tmp_path):
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"^--test .*junk: is not a pickle file"):
        program.load_data(flags("--test", tmp_path / "junk"))
    with pytest.raises(InputError, match=r"^--train .*nope: no such file"):
        program.load_data(flags("--train", tmp_path / "nope"))


# ------------------------------------------------------------------------ training


def test_train_draws_batches_without_repeats():
    """Every batch holds batch_size different images: made visible by images that are
    one-hot, where a repeated image would show in the loss of an all-zero network."""
    x = np.eye(40, 225)
    params = utils.init(0)
    params["w_out"][:] = 0.0  # y = 0 and no learning: the loss counts the images in the batch
    seen = []
    rng = np.random.default_rng(0)
    real_choice = rng.choice
    recorder = types.SimpleNamespace(
        choice=lambda *a, **k: seen.append(real_choice(*a, **k)) or seen[-1]
    )
    losses = program.train(params, x, steps=200, batch_size=20, lr=0.001, rng=recorder)
    assert np.all(losses == 20.0)  # 20 distinct one-hot images, each contributing 1
    assert all(len(set(batch.tolist())) == 20 for batch in seen)
    assert len({tuple(batch) for batch in seen}) > 190  # and the batches vary


def test_train_lowers_the_loss(x_train):
    losses = program.train(utils.init(0), x_train, 300, 20, 0.001, np.random.default_rng(0))
    assert losses.shape == (300,) and losses[-50:].mean() < 0.5 * losses[:10].mean()


@pytest.mark.parametrize(
    "steps, rows",
    [
        (1, [1]),
        (7, list(range(1, 8))),
        (50, list(range(5, 51, 5))),
        (123, [*range(12, 121, 12), 123]),
    ],
)
def test_train_reports_a_row_every_tenth_of_the_run_and_after_the_last(steps, rows, x_test):
    seen = []
    losses = program.train(
        utils.init(0),
        x_test,
        steps,
        5,
        0.001,
        np.random.default_rng(0),
        lambda update, so_far: seen.append((update, len(so_far), so_far[-1])),
    )
    assert [u for u, _, _ in seen] == rows
    assert all(n == u and last == losses[u - 1] for u, n, last in seen)


@pytest.mark.parametrize(
    "steps, window", [(1, 1), (19, 1), (20, 2), (999, 99), (1000, 100), (1010, 100), (10**6, 100)]
)
def test_one_smoothing_window_never_wider_than_the_rows_are_apart(steps, window):
    assert program.smoothing_window(steps) == window


def test_divergence_names_the_first_bad_update_and_a_learning_rate_to_try(x_train):
    with pytest.raises(
        RunError,
        match=r"the loss stopped being finite at update (\d+) of 100 "
        r"with --lr 1e\+10; try --lr 0.001, the default$",
    ) as caught:
        program.train(utils.init(0), x_train, 100, 20, 1e10, np.random.default_rng(0))
    update = int(caught.value.args[0].split("at update ")[1].split()[0])
    assert update > 1  # the updates before it were finite: rerun them and see
    params = utils.init(0)
    losses = program.train(params, x_train, update - 1, 20, 1e10, np.random.default_rng(0))
    assert np.all(np.isfinite(losses)) and program.weights_are_finite(params)


def test_weights_that_stop_being_finite_are_caught_at_once(x_test):
    """An update can overflow the weights while the loss it started from was finite."""
    with pytest.raises(RunError, match="the weights stopped being finite at update 1 of 5"):
        program.train(utils.init(0), x_test, 5, 20, 1e308, np.random.default_rng(0))


def test_the_learning_rate_suggested_is_the_default_or_a_tenth():
    default = command_line.DEFAULTS["lr"]
    assert program.likely_lr(default * 1.5) == "0.001, the default"
    assert program.likely_lr(default) == "0.0001"  # the default itself failed: go lower
    assert program.likely_lr(1e-5) == "1e-06"


# -------------------------------------------------------------------------- timing


def test_each_size_expects_the_scalar_form_to_take_the_time_of_the_size_before_scaled(
    monkeypatch,
):
    seen = []

    def timed(fn, expected=None):
        if fn.func is utils.forward_in_scalar:
            seen.append(expected)
        n = len(fn.args[0])
        return {"best": n * 1e-3, "median": n * 1e-3}

    monkeypatch.setattr(timing, "per_call", timed)
    params = utils.init(0)
    program.compare_layer_in(np.ones((5, 225)), params["w_in"], params["b_in"], 2)
    assert seen == [None, pytest.approx(2e-3), pytest.approx(5e-3)]  # sizes 1, 2, 5


def test_layer_in_is_timed_at_every_size_the_training_set_allows():
    params = utils.init(0)
    x = np.random.default_rng(0).uniform(size=(7, 225))
    timing = program.compare_layer_in(x, params["w_in"], params["b_in"], 3)
    assert [row["batch_size"] for row in timing["by_batch_size"]] == [1, 2, 3, 5]
    assert timing["difference_batch_size"] == 3 and timing["max_difference"] <= 1e-12
    for row in timing["by_batch_size"]:
        assert row["speedup"] == row["scalar"]["best"] / row["vector"]["best"]


@pytest.mark.parametrize("spread, steady", [(1.0, True), (1.5, True), (1.51, False)])
def test_a_size_timed_while_the_machine_was_busy_is_marked(spread, steady, monkeypatch):
    monkeypatch.setattr(program, "TIMING_SIZES", (1,))
    times = itertools.cycle(
        [{"best": 1e-3, "median": spread * 1e-3}, {"best": 1e-5, "median": 1e-5}]
    )
    monkeypatch.setattr(timing, "per_call", lambda fn, expected=None: dict(next(times)))
    params = utils.init(0)
    [row] = program.compare_layer_in(np.ones((1, 225)), params["w_in"], params["b_in"], 1)[
        "by_batch_size"
    ]
    assert row["steady"] is steady and row["speedup"] == pytest.approx(100)
    assert row["spread"] == pytest.approx(spread)  # the larger of the two forms' spreads


@pytest.mark.parametrize("off, fails", [(0.99e-12, False), (1.01e-12, True)])
def test_the_two_forms_must_agree_to_1e_12(off, fails, monkeypatch):
    monkeypatch.setattr(program, "TIMING_SIZES", (1,))
    monkeypatch.setattr(
        utils, "forward_in_scalar", lambda x, w, b: utils.forward_in_vector(x, w, b) + off
    )
    params = utils.init(0)
    params["b_in"][:] = 1.0  # every unit on: the offset shows everywhere
    args = (np.full((2, 225), 0.5), params["w_in"], params["b_in"], 2)
    if fails:
        with pytest.raises(RunError, match="differ by 1.01e-12 .more than 1e-12"):
            program.compare_layer_in(*args)
    else:
        program.compare_layer_in(*args)


# ---------------------------------------------------------------------- evaluation


def test_pca_reconstruction_is_the_projection_on_the_top_components(x_train, x_test):
    mean = x_train.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((x_train - mean).T))
    top = vectors[:, np.argsort(values)[::-1][:75]]
    expected = mean + (x_test - mean) @ top @ top.T
    assert np.allclose(program.pca_reconstruction(x_train, x_test), expected, atol=1e-8)
    assert np.allclose(program.pca_reconstruction(x_train, x_test, 225), x_test, atol=1e-10)
    assert np.allclose(program.pca_reconstruction(x_train, x_test, 0), mean)


def test_pca_is_the_best_linear_code_of_its_width(x_train, x_test):
    """No other 75-dimensional linear code of the centred images does better: not the
    spec's reduce x 3, not a random one."""
    mean = x_train.mean(axis=0)
    pca = np.sum((program.pca_reconstruction(x_train, x_test) - x_test) ** 2)
    for basis in (
        np.kron(np.eye(75), np.ones(3) / np.sqrt(3)).T,
        np.linalg.qr(np.random.default_rng(0).normal(size=(225, 75)))[0],
    ):
        other = mean + (x_test - mean) @ basis @ basis.T
        assert pca < np.sum((other - x_test) ** 2)


def test_evaluate_gives_the_test_loss_and_three_baselines(x_train, x_test):
    params = utils.init(0)
    y, loss, per_image, baselines = program.evaluate(params, x_test, x_train)
    assert np.array_equal(y, utils.forward(params, x_test)[0])
    assert loss == pytest.approx(per_image.sum()) and per_image.shape == (20,)
    assert baselines["zeros"] == pytest.approx(np.sum(x_test**2))
    assert baselines["mean_image"] == pytest.approx(np.sum((x_train.mean(axis=0) - x_test) ** 2))
    pca = program.pca_reconstruction(x_train, x_test)
    assert baselines["pca"] == pytest.approx(np.sum((pca - x_test) ** 2))
    assert baselines["pca"] < baselines["mean_image"] < baselines["zeros"]


def test_dead_units_are_those_that_never_fire(x_train):
    params = utils.init(0)
    params["b_in"][0, [4, 60]] = -1e3
    assert program.dead_units(params, x_train).tolist() == [4, 60]


def warning_for(y, x, loss, lr=0.1):
    baselines = {"zeros": float(np.sum(x**2))}
    return program.no_better_than_black(y, x, loss, baselines, np.array([5.0, 9.0, 2.0]), lr)


def test_the_dead_network_warning_only_when_no_better_than_all_black():
    x = np.full((2, 225), 0.5)
    black = float(np.sum(x**2))
    dead = warning_for(np.zeros_like(x), x, black)
    assert (
        "outputs 0 for every test pixel" in dead and "try --lr 0.001, the default" in dead.lower()
    )
    assert "peaked at 9 at update 2" in dead
    assert "does no better than an all-black output" in warning_for(x + 1, x, black)
    assert warning_for(x + 1, x, black * 0.999) is None  # just better than black: no warning
    images_black = np.zeros((2, 225))
    assert warning_for(images_black, images_black, 0.0) is None  # a perfect answer

"""The homework's functions in train_autoenc_lite.py, each called directly (the data,
train, the Layer_in timing, the evaluation and its baselines, the run's warning), and what
this project's utils.py promises beyond the homework's API."""

import itertools
import types

import numpy as np
import pytest
from conftest import TEST_FILE, TRAIN_FILE

import train_autoenc_lite as program
import utils
from run_support import baselines, command_line, image_files, report, timing
from run_support.command_line import InputError, RunError


@pytest.fixture(scope="module")
def x_train():
    return program.to_batch(image_files.load_images(TRAIN_FILE))


@pytest.fixture(scope="module")
def x_test():
    return program.to_batch(image_files.load_images(TEST_FILE))


def flags(*argv):
    return command_line.parse_args([str(a) for a in argv])


# --------------------------------------------------------- this project's utils.py


def test_init_takes_a_seed_and_none_is_seed_0():
    assert np.array_equal(utils.init(7)["w_in"], utils.init(np.random.default_rng(7))["w_in"])
    assert np.array_equal(utils.init()["w_out"], utils.init(0)["w_out"])


def test_both_forms_of_layer_in_refuse_an_image_one_pixel_short():
    """Plain zip() would drop the missing pixel silently."""
    params = utils.init(0)
    for form in (utils.forward_in_scalar, utils.forward_in_vector):
        with pytest.raises(ValueError):
            form(np.full((2, 224), 0.5), params["w_in"], params["b_in"])
    with pytest.raises(ValueError, match="shape"):
        utils.get_loss(np.zeros((2, 225)), np.zeros((3, 225)))


def test_forward_computes_layer_in_with_forward_in_vector(monkeypatch):
    """Layer_in is written once: forward calls forward_in_vector rather than repeating it."""
    calls, real = [], utils.forward_in_vector
    monkeypatch.setattr(utils, "forward_in_vector", lambda *args: calls.append(args) or real(*args))
    params, x = utils.init(0), np.random.default_rng(0).uniform(size=(4, 225))
    utils.forward(params, x)
    [(x_seen, w_seen, b_seen)] = calls
    assert x_seen is x and w_seen is params["w_in"] and b_seen is params["b_in"]


# -------------------------------------------------------------------------- the data


def test_images_become_inputs_in_0_1_and_back():
    images = np.arange(2 * 225, dtype=float).reshape(2, 15, 15) % 256
    batch = program.to_batch(images)
    assert batch.shape == (2, 225) and batch.max() == 1.0 and batch[0, 1] == 1 / 255
    assert np.allclose(program.to_images(batch), images, rtol=0, atol=1e-12)


def test_a_batch_as_large_as_the_training_set_is_allowed_one_more_is_not():
    assert len(program.load_data(flags("--batch-size", 1000))[0]) == 1000
    with pytest.raises(InputError, match="--batch-size 1001: larger than the 1000 images in"):
        program.load_data(flags("--batch-size", 1001))


def test_a_bad_image_file_is_named_by_its_flag(tmp_path):
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"^--test .*junk: is not a pickle"):
        program.load_data(flags("--test", tmp_path / "junk"))
    with pytest.raises(InputError, match=r"^--train .*nope: no such file"):
        program.load_data(flags("--train", tmp_path / "nope"))


# ------------------------------------------------------------------------ training


def test_train_draws_batches_of_different_images_and_different_batches():
    """Batches of 20 distinct images of 40, a new set each update; with w_out = 0 (y = 0, no
    learning) and one-hot images, each image of a batch adds 1 to its loss."""
    x, params = np.eye(40, 225), utils.init(0)
    params["w_out"][:] = 0.0
    rng, seen = np.random.default_rng(0), []
    recorder = types.SimpleNamespace(
        choice=lambda *a, **k: seen.append(rng.choice(*a, **k)) or seen[-1]
    )
    losses = program.train(params, x, steps=200, batch_size=20, lr=0.001, rng=recorder)
    assert np.all(losses == 20.0) and all(len(set(batch.tolist())) == 20 for batch in seen)
    assert len({frozenset(batch.tolist()) for batch in seen}) > 190  # as sets of images


def test_train_lowers_the_loss(x_train):
    losses = program.train(utils.init(0), x_train, 300, 20, 0.001, np.random.default_rng(0))
    assert losses.shape == (300,) and losses[-50:].mean() < 0.5 * losses[:10].mean()


ROWS = [(1, [1]), (7, list(range(1, 8))), (50, list(range(5, 51, 5)))]
ROWS += [(123, [*range(12, 121, 12), 123])]  # every tenth of the run, and the last update


@pytest.mark.parametrize("steps, rows", ROWS)
def test_train_reports_a_row_every_tenth_of_the_run_and_after_the_last(steps, rows, x_test):
    seen = []
    on_row = lambda update, so_far: seen.append((update, list(so_far)))  # noqa: E731
    losses = program.train(utils.init(0), x_test, steps, 5, 0.001, np.random.default_rng(0), on_row)
    assert [update for update, _ in seen] == rows
    assert all(so_far == losses[:update].tolist() for update, so_far in seen)


@pytest.mark.parametrize(
    "steps, window", [(1, 1), (19, 1), (20, 2), (999, 99), (1000, 100), (10**6, 100)]
)
def test_one_smoothing_window_never_wider_than_the_rows_are_apart(steps, window):
    assert program.smoothing_window(steps) == window


def test_divergence_names_the_first_bad_update_and_a_learning_rate_to_try(x_train):
    said = r"loss stopped being finite at update (\d+) of 100 with --lr 1e\+10; try --lr 0.001, "
    with pytest.raises(RunError, match=said + "the default$") as caught:
        program.train(utils.init(0), x_train, 100, 20, 1e10, np.random.default_rng(0))
    update = int(caught.value.args[0].split("at update ")[1].split()[0])
    params = utils.init(0)  # the updates before it were finite: rerun them and see
    losses = program.train(params, x_train, update - 1, 20, 1e10, np.random.default_rng(0))
    assert update > 1 and np.isfinite(losses).all()
    assert all(np.isfinite(v).all() for v in params.values())


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


def test_each_size_expects_the_scalar_form_to_take_the_time_of_the_size_before_scaled(monkeypatch):
    seen = []

    def timed(fn, expected=None):
        if fn.func is utils.forward_in_scalar:
            seen.append(expected)
        return {"best": len(fn.args[0]) * 1e-3, "median": len(fn.args[0]) * 1e-3}

    monkeypatch.setattr(timing, "per_call", timed)
    params = utils.init(0)
    program.compare_layer_in(np.ones((5, 225)), params, 2)
    assert seen == [None, pytest.approx(2e-3), pytest.approx(5e-3)]  # sizes 1, 2, 5


def test_layer_in_is_timed_at_every_size_the_training_set_allows_and_the_batch():
    params = utils.init(0)
    x = np.random.default_rng(0).uniform(size=(7, 225))
    result = program.compare_layer_in(x, params, 3)
    assert [row["batch_size"] for row in result["by_batch_size"]] == [1, 2, 3, 5]
    assert result["difference_batch_size"] == 3 and result["max_difference"] <= 1e-12
    for row in result["by_batch_size"]:
        assert row["speedup"] == row["scalar"]["best"] / row["vector"]["best"]


@pytest.mark.parametrize("spread, steady", [(1.0, True), (1.5, True), (1.51, False)])
def test_a_size_timed_while_the_machine_was_busy_is_marked(spread, steady, monkeypatch):
    monkeypatch.setattr(program, "TIMING_SIZES", (1,))
    times = itertools.cycle(
        [{"best": 1e-3, "median": spread * 1e-3}, {"best": 1e-5, "median": 1e-5}]
    )
    monkeypatch.setattr(timing, "per_call", lambda fn, expected=None: dict(next(times)))
    params = utils.init(0)
    [row] = program.compare_layer_in(np.ones((1, 225)), params, 1)["by_batch_size"]
    assert row["steady"] is steady and row["speedup"] == pytest.approx(100)
    assert row["spread"] == pytest.approx(spread)  # the larger of the two forms' spreads


@pytest.mark.parametrize("off, fails", [(0.99e-12, False), (1.01e-12, True)])
def test_the_two_forms_must_agree_to_1e_12(off, fails, monkeypatch):
    monkeypatch.setattr(program, "TIMING_SIZES", (1,))
    off_by = lambda x, w, b: utils.forward_in_vector(x, w, b) + off  # noqa: E731
    monkeypatch.setattr(utils, "forward_in_scalar", off_by)
    params = utils.init(0)
    params["b_in"][:] = 1.0  # every unit on: the offset shows everywhere
    args = (np.full((2, 225), 0.5), params, 2)
    if fails:
        with pytest.raises(RunError, match="differ by 1.01e-12 .more than 1e-12"):
            program.compare_layer_in(*args)
    else:
        program.compare_layer_in(*args)


# --------------------------------------------------------- evaluation and baselines


def test_pca_reconstruction_is_the_projection_on_the_top_components(x_train, x_test):
    mean = x_train.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((x_train - mean).T))
    top = vectors[:, np.argsort(values)[::-1][:75]]
    expected = mean + (x_test - mean) @ top @ top.T
    assert np.allclose(baselines.pca_reconstruction(x_train, x_test), expected, atol=1e-8)
    assert np.allclose(baselines.pca_reconstruction(x_train, x_test, 225), x_test, atol=1e-10)
    assert np.allclose(baselines.pca_reconstruction(x_train, x_test, 0), mean)


def test_pca_is_the_best_linear_code_of_its_width(x_train, x_test):
    """No other 75-wide linear code of the centred images does better: not reduce x 3, not
    a random one."""
    mean = x_train.mean(axis=0)
    pca = np.sum((baselines.pca_reconstruction(x_train, x_test) - x_test) ** 2)
    pooling = np.kron(np.eye(75), np.ones(3) / np.sqrt(3)).T
    for basis in (pooling, np.linalg.qr(np.random.default_rng(0).normal(size=(225, 75)))[0]):
        assert pca < np.sum((mean + (x_test - mean) @ basis @ basis.T - x_test) ** 2)


def test_evaluate_gives_the_test_loss_and_each_images(x_test):
    params = utils.init(0)
    y, loss, per_image = program.evaluate(params, x_test)
    assert np.array_equal(y, utils.forward(params, x_test)[0])
    assert per_image.tolist() == pytest.approx(np.sum((y - x_test) ** 2, axis=1).tolist())
    assert loss == pytest.approx(per_image.sum()) and len(per_image) == len(x_test)


def test_the_baselines_are_black_the_mean_training_image_and_pca(x_train, x_test):
    base = baselines.losses(x_train, x_test)
    pca = baselines.pca_reconstruction(x_train, x_test)
    assert base["zeros"] == pytest.approx(np.sum(x_test**2))
    assert base["mean_image"] == pytest.approx(np.sum((x_train.mean(axis=0) - x_test) ** 2))
    assert base["pca"] == pytest.approx(np.sum((pca - x_test) ** 2))
    assert list(base) == list(report.BASELINES)


def test_dead_units_are_those_that_never_fire(x_train):
    params = utils.init(0)
    params["b_in"][0, [4, 60]] = -1e3
    z_in = utils.forward_in_vector(x_train, params["w_in"], params["b_in"])
    assert baselines.dead_units(z_in).tolist() == [4, 60]


def warning_for(y, x, loss):
    losses = np.array([5.0, 9.0, 2.0])
    return baselines.no_better_than_black(y, x, loss, float(np.sum(x**2)), losses, "0.01")


def test_the_dead_network_warning_only_when_no_better_than_all_black():
    x = np.full((2, 225), 0.5)
    black = float(np.sum(x**2))
    dead = warning_for(np.zeros_like(x), x, black)
    said = "warning: the trained network outputs 0 for every test pixel: no better than an "
    said += "all-black output: test loss 112.50, all-black 112.50; the training loss peaked at "
    assert dead == said + "9 at update 2. Try --lr 0.01"
    said = "warning: the trained network does no better than an all-black output: test loss"
    assert warning_for(x + 1, x, black).startswith(said)
    assert warning_for(x + 1, x, black * 0.999) is None  # just better than black: no warning
    assert warning_for(np.zeros((2, 225)), np.zeros((2, 225)), 0.0) is None  # all black, exact

"""The whole run: once as a user starts it (every output, and every figure it prints beside
what results.json holds), and short runs in this process for what only the whole shows:
reproducibility, its own checks stopping it, what its figures are given, its warnings."""

import numpy as np
import pytest
from conftest import PNG, TEST_FILE, TRAIN_FILE, results_of, run_program

import train_autoenc_lite as program
import utils
from run_support import image_files, report


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default configuration, once, through the program itself."""
    folder = tmp_path_factory.mktemp("default")
    done = run_program(cwd=folder)
    return (
        folder / "results",
        done,
        results_of(folder / "results") if done.returncode == 0 else None,
    )


def test_the_default_run_writes_every_output_and_nothing_else(default_run):
    folder, done, _ = default_run
    assert done.returncode == 0 and done.stderr == ""
    assert sorted(p.name for p in folder.iterdir()) == sorted(program.OUTPUTS)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["results"]  # no fresh folder left
    for name in program.FIGURES:
        assert (folder / name).read_bytes().startswith(PNG)


def test_results_json_holds_the_run_and_names_the_shipped_files_by_their_names(default_run):
    _, _, results = default_run
    config = {"steps": 1000, "batch_size": 20, "lr": 0.001, "seed": 0, "out": "results"}
    assert results["config"] == {**config, "train": TRAIN_FILE.name, "test": TEST_FILE.name}
    parts = ["loading", "layer_in_timing", "gradient_check", "training", "testing", "figures"]
    seconds = results["seconds"]
    assert list(seconds) == [*parts, "total"] and sum(map(seconds.get, parts)) <= seconds["total"]
    losses = np.array(results["losses"])
    assert losses.shape == (1000,) and losses[-100:].mean() < 0.5 * losses[:10].mean()
    assert results["smoothing_window"] == 100
    assert results["final_loss_mean"] == pytest.approx(losses[-100:].mean())
    assert results["test_loss"] == pytest.approx(sum(results["test_loss_per_image"]))
    assert len(results["test_loss_per_image"]) == 20
    assert results["dead_units"] == [] and results["warnings"] == []
    sizes = [row["batch_size"] for row in results["timing"]["by_batch_size"]]
    assert sizes == [1, 2, 5, 10, 20, 50, 100]
    check = results["gradient_check"]
    assert check["images"] == 2 * program.CHECK_IMAGES and list(check["arrays"]) == list(
        utils.TRAINED
    )


def test_weights_npz_is_the_trained_network_that_gave_the_test_loss(default_run):
    folder, _, results = default_run
    with np.load(folder / "weights.npz", allow_pickle=False) as saved:
        params = {name: saved[name] for name in saved.files}
    assert sorted(params) == sorted(utils.PARAMS) and np.array_equal(params["w_rec"], np.eye(75))
    x_test = program.to_batch(image_files.load_images(TEST_FILE))
    loss = utils.get_loss(utils.forward(params, x_test)[0], x_test)
    assert loss == pytest.approx(results["test_loss"], rel=1e-12)


def test_the_run_prints_what_results_json_holds(default_run):
    """Each table's every row from its own figures: the timing, the gradient check, the
    progress (each row's loss and the mean of the window before it), the summary."""
    _, done, results = default_run
    out, timing = done.stdout, results["timing"]
    first = "AutoEncNetLite: 1,000 training images (images_train.pickle), 20 test images "
    assert out.splitlines()[0] == first + "(images_test.pickle)"  # wherever the project is
    assert report.timing(timing, "results/layer_in_timing.png") in out
    check = results["gradient_check"]
    assert report.gradient_check(check, None, results["seconds"]["gradient_check"]) in out
    losses, window = np.array(results["losses"]), results["smoothing_window"]
    rows = [line.split() for line in out.splitlines()]
    rows = [row for row in rows if len(row) == 3 and row[0].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(100, 1001, 100))
    for update, loss, mean in ((int(u), loss, mean) for u, loss, mean in rows):
        assert loss == f"{losses[update - 1]:.2f}"
        assert mean == f"{losses[update - window : update].mean():.2f}"
    assert out.endswith(report.summary(results, "results", program.OUTPUTS) + "\n")


# ------------------------------------------------------------- short runs, in process


@pytest.mark.parametrize("steps, window", [(50, 5), (1999, 100), (300, 30)])
def test_the_final_loss_mean_is_over_the_runs_own_window(steps, window, quick, tmp_path, capsys):
    _, results = quick("--steps", steps, "--out", tmp_path / "r")
    losses = np.array(results["losses"])
    assert results["smoothing_window"] == window and len(losses) == steps
    assert results["final_loss_mean"] == pytest.approx(losses[-window:].mean(), rel=1e-12)
    assert (
        f"(mean of the last {window} updates {losses[-window:].mean():.2f};"
        in capsys.readouterr().out
    )


def test_the_same_seed_gives_the_same_numbers_bit_for_bit(quick, tmp_path):
    _, a = quick("--steps", 40, "--out", tmp_path / "a")
    _, b = quick("--steps", 40, "--out", tmp_path / "b")
    _, c = quick("--steps", 40, "--seed", 1, "--out", tmp_path / "c")
    assert a["losses"] == b["losses"] != c["losses"] and a["gradient_check"] == b["gradient_check"]
    npz = [(tmp_path / k / "weights.npz").read_bytes() for k in "abc"]
    assert npz[0] == npz[1] != npz[2]


def test_the_gradient_check_draws_from_its_own_stream_not_trainings(quick, tmp_path, monkeypatch):
    """A check that draws more, or fewer, numbers than the real one changes no update."""
    _, with_check = quick("--steps", 30, "--out", tmp_path / "a")
    real = program.check_backprop

    def drawing_more(params, x_train, rng):
        rng.uniform(size=999)
        return real(params, x_train, rng)

    monkeypatch.setattr(program, "check_backprop", drawing_more)
    _, other = quick("--steps", 30, "--out", tmp_path / "b")
    assert with_check["gradient_check"] != other["gradient_check"]
    assert with_check["losses"] == other["losses"]


def test_the_figures_get_the_initial_weights_and_the_test_images_with_their_outputs(
    quick, tmp_path
):
    status, results = quick("--steps", 20, "--out", tmp_path / "r")
    [(given, params, initial, inputs, outputs)] = quick.figures
    start = utils.init(0)
    assert status == 0 and given["losses"] == results["losses"]
    for name in ("w_in", "w_out"):  # a copy from before training, not the trained arrays
        assert np.array_equal(initial[name], start[name])
        assert not np.array_equal(params[name], start[name])
    images = image_files.load_images(TEST_FILE)
    y = utils.forward(params, program.to_batch(images))[0]
    assert np.allclose(inputs, images, rtol=0, atol=1e-12)
    assert np.allclose(outputs, program.to_images(y), rtol=0, atol=1e-9)
    per_image = np.sum((outputs - inputs) ** 2, axis=(1, 2)) / 255**2
    assert results["test_loss_per_image"] == pytest.approx(per_image)


@pytest.mark.parametrize("name", utils.TRAINED)
def test_a_wrong_backprop_stops_the_run_before_training(name, quick, tmp_path, capsys, monkeypatch):
    real = utils.backprop

    def wrong(params, cache):  # one array's gradient 1e-5 too large
        return {k: v * (1 + 1e-5 * (k == name)) for k, v in real(params, cache).items()}

    monkeypatch.setattr(utils, "backprop", wrong)
    monkeypatch.setattr(program, "train", None)  # it must stop before training
    status, _ = quick("--out", tmp_path / "out")
    captured = capsys.readouterr()
    assert status == 1 and "NOT all within 1e-06" in captured.out
    said = f"central differences: d{name} has a relative error of 1e-05, more than 1e-06"
    assert captured.err == f"train_autoenc_lite.py: error: backprop disagrees with {said}\n"
    assert list(tmp_path.iterdir()) == []  # nothing of its own left


def test_a_divergent_run_stops_in_one_line_and_leaves_the_previous_outputs(quick, tmp_path, capsys):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "weights.npz").write_bytes(b"previous")
    status, _ = quick("--lr", "1e10", "--steps", 200, "--out", tmp_path / "results")
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "training diverged" in err
    assert "try --lr 0.001, the default" in err
    assert [p.name for p in tmp_path.iterdir()] == ["results"]
    assert (tmp_path / "results" / "weights.npz").read_bytes() == b"previous"


def test_a_test_loss_that_is_not_finite_stops_the_run(quick, tmp_path, capsys, monkeypatch):
    """Weights finite after the last update can still overflow on the test images."""
    real = program.evaluate
    monkeypatch.setattr(program, "evaluate", lambda p, x: (real(p, x)[0], np.inf, real(p, x)[2]))
    assert quick("--steps", 3, "--out", tmp_path / "r") == (1, None)
    said = "training diverged: after the last update the test loss is inf with --lr 0.001"
    assert capsys.readouterr().err == f"train_autoenc_lite.py: error: {said}; try --lr 0.0001\n"
    assert list(tmp_path.iterdir()) == []


def test_a_network_killed_by_a_large_lr_is_reported(quick, tmp_path, capsys):
    status, results = quick("--steps", 200, "--lr", 0.1, "--out", tmp_path / "r")
    err = capsys.readouterr().err
    assert status == 0 and err.count("\n") == 1 and "outputs 0 for every test pixel" in err
    assert results["warnings"] == [err.split("train_autoenc_lite.py: ", 1)[1].strip()]
    assert len(results["dead_units"]) > 0


def test_all_black_images_train_without_a_warning(quick, tmp_path, capsys):
    import pickle

    (tmp_path / "black.pickle").write_bytes(pickle.dumps(np.zeros((30, 15, 15)), protocol=5))
    black = tmp_path / "black.pickle"
    status, results = quick(
        "--train", black, "--test", black, "--steps", 20, "--out", tmp_path / "r"
    )
    assert status == 0 and capsys.readouterr().err == ""
    assert results["test_loss"] == 0.0 and results["warnings"] == []
    assert results["config"]["train"] == str(tmp_path / "black.pickle")  # a file given: as given


def test_out_is_relative_to_the_current_folder(quick, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert quick("--steps", 3, "--out", "here/there")[0] == 0
    assert sorted(p.name for p in (tmp_path / "here/there").iterdir()) == sorted(program.OUTPUTS)
    out = capsys.readouterr().out
    assert "wrote here/there/weights.npz" in out and "(here/there/layer_in_timing.png)" in out

"""The whole run: once as a user starts it (every output, every section printed), and a
few short runs in this process for what only the whole shows: reproducibility, the
run stopping on its own checks, warnings, and the results folder."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    PNG_SIGNATURE,
    ROOT,
    TEST_FILE,
    run_program,
    strict_json,
)

import gradient_check
import image_files
import timing
import train_autoenc_lite as program
import utils


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default configuration, run once through the program itself."""
    folder = tmp_path_factory.mktemp("default")
    return folder, run_program(cwd=folder)


@pytest.fixture(scope="module")
def default_results(default_run):
    return strict_json(default_run[0] / "results" / "results.json")


def test_the_default_run_writes_every_output(default_run):
    folder, done = default_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert sorted(p.name for p in (folder / "results").iterdir()) == sorted(program.OUTPUTS)
    for name in program.OUTPUTS:
        data = (folder / "results" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) == name.endswith(".png") and len(data) > 1000


def test_results_json_holds_the_run(default_results):
    results = default_results
    assert {k: results["config"][k] for k in ("steps", "batch_size", "lr", "seed")} == {
        "steps": 1000,
        "batch_size": 20,
        "lr": 0.001,
        "seed": 0,
    }
    seconds = results["seconds"]
    parts = ("loading", "layer_in_timing", "gradient_check", "training", "testing", "figures")
    assert list(seconds) == [*parts, "total"] and all(seconds[p] > 0 for p in parts)
    assert sum(seconds[p] for p in parts) <= seconds["total"]
    losses = np.array(results["losses"])
    assert losses.shape == (1000,) and results["smoothing_window"] == 100
    assert results["final_loss_mean"] == pytest.approx(losses[-100:].mean())
    assert losses[-100:].mean() < 0.5 * losses[:10].mean()  # it learned
    base = results["baselines"]
    assert results["test_loss"] < base["mean_image"] < base["zeros"] and base["pca"] > 0
    assert results["test_loss"] == pytest.approx(sum(results["test_loss_per_image"]))
    assert results["dead_units"] == [] and results["warnings"] == []
    rows = results["timing"]["by_batch_size"]
    assert results["timing"]["clock"] == timing.CLOCK_NAME  # "CPU" but on Windows
    assert results["timing"]["busy_spread"] == timing.BUSY_SPREAD
    assert [row["batch_size"] for row in rows] == [1, 2, 5, 10, 20, 50, 100]
    assert all(row["scalar"]["best"] > row["vector"]["best"] for row in rows)
    check = results["gradient_check"]
    assert check["images"] == 20 and list(check["arrays"]) == list(utils.TRAINED)
    assert all(0 <= r["max_relative_error"] <= 1e-6 for r in check["arrays"].values())


def test_weights_npz_holds_the_trained_network(default_run, default_results):
    with np.load(default_run[0] / "results" / "weights.npz", allow_pickle=False) as saved:
        params = {name: saved[name] for name in saved.files}
    assert sorted(params) == sorted(utils.PARAMS)
    assert np.array_equal(params["w_rec"], np.eye(75)) and not params["b_rec"].any()
    assert not np.array_equal(params["w_in"], utils.init(0)["w_in"])
    x_test = program.to_batch(image_files.load_images(TEST_FILE))
    y, _ = utils.forward(params, x_test)
    assert utils.get_loss(y, x_test) == pytest.approx(default_results["test_loss"], rel=1e-12)


def test_the_run_prints_what_results_json_holds(default_run, default_results):
    out = default_run[1].stdout
    results = default_results
    assert f"{results['timing']['clock']} time per call (best)" in out
    speedups = "  ".join(
        f"{r['batch_size']}: {r['speedup']:.0f}x" if r["steady"] else f"{r['batch_size']}: busy"
        for r in results["timing"]["by_batch_size"]
    )
    assert f"  {speedups}\n" in out
    spreads = "  ".join(
        f"{r['batch_size']}: {r['spread']:.2f}" for r in results["timing"]["by_batch_size"]
    )
    assert f"  {spreads}\n" in out
    for name, r in results["gradient_check"]["arrays"].items():
        assert f"{r['max_relative_error']:.1e}" in [
            line.split()[-1] for line in out.splitlines() if line.split()[:1] == [name]
        ]
    assert "every error at most 1e-06" in out
    progress = [line.split() for line in out.splitlines() if line.strip().split(" ")[0].isdigit()]
    assert [int(row[0]) for row in progress] == list(range(100, 1001, 100))
    assert "mean of the last 100" in out
    assert f"{results['test_loss']:.2f} over 20 test images" in out
    for key in ("zeros", "mean_image", "pca"):
        assert f"{results['baselines'][key]:.2f}" in out
    for name in program.OUTPUTS:
        assert f"wrote results/{name}" in out


# ------------------------------------------------------------- short runs, in process


def test_the_same_seed_gives_the_same_numbers_bit_for_bit(quick, tmp_path):
    _, a = quick("--steps", 150, "--out", tmp_path / "a")
    _, b = quick("--steps", 150, "--out", tmp_path / "b")
    _, c = quick("--steps", 150, "--seed", 1, "--out", tmp_path / "c")
    assert a["losses"] == b["losses"] and a["test_loss"] == b["test_loss"]
    assert a["gradient_check"] == b["gradient_check"]
    npz = [(tmp_path / k / "weights.npz").read_bytes() for k in "abc"]
    assert npz[0] == npz[1] != npz[2] and a["losses"] != c["losses"]


def test_the_gradient_check_does_not_change_the_training(quick, tmp_path, monkeypatch):
    _, with_check = quick("--steps", 30, "--out", tmp_path / "a")
    real = gradient_check.check_backprop
    monkeypatch.setattr(
        gradient_check, "check_backprop", lambda params, x, rng: real(params, x[:1], rng)
    )
    _, other = quick("--steps", 30, "--out", tmp_path / "b")
    assert with_check["gradient_check"] != other["gradient_check"]
    assert with_check["losses"] == other["losses"]


@pytest.mark.parametrize("name", utils.TRAINED)
def test_a_wrong_backprop_stops_the_run_before_training(name, quick, tmp_path, capsys, monkeypatch):
    real = utils.backprop

    def planted(params, cache):
        grads = {k: v.copy() for k, v in real(params, cache).items()}
        grads[name] *= 1 + 1e-5
        return grads

    monkeypatch.setattr(utils, "backprop", planted)
    monkeypatch.setattr(program, "train", None)  # it must stop before training
    status, _ = quick("--out", tmp_path / "out")
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err == (
        f"train_autoenc_lite.py: error: backprop disagrees with central differences: d{name} "
        "has a relative error of 1e-05, more than 1e-06\n"
    )
    assert "NOT all within 1e-06" in captured.out
    assert not (tmp_path / "out").exists()  # made by the run, empty: removed


@pytest.mark.parametrize("steps", [3, 200])
def test_a_divergent_run_stops_in_one_line_and_writes_nothing(steps, quick, tmp_path, capsys):
    (tmp_path / "results").mkdir()  # a folder the user made stays
    status, results = quick("--lr", "1e10", "--steps", steps, "--out", tmp_path / "results")
    err = capsys.readouterr().err
    assert status == 1 and results is None and err.count("\n") == 1
    assert "training diverged" in err and "try --lr 0.001, the default" in err
    assert list((tmp_path / "results").iterdir()) == []


def test_a_test_loss_that_overflows_is_divergence(quick, tmp_path, capsys, monkeypatch):
    real = program.evaluate

    def overflowing(params, x_test, x_train):
        y, _, per_image, baselines = real(params, x_test, x_train)
        return y, float("inf"), per_image, baselines

    monkeypatch.setattr(program, "evaluate", overflowing)
    assert quick("--steps", 3, "--out", tmp_path / "r")[0] == 1
    assert "the test loss is inf" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_network_killed_by_a_large_lr_is_reported(quick, tmp_path, capsys):
    status, results = quick("--steps", 200, "--lr", 0.1, "--out", tmp_path)
    err = capsys.readouterr().err
    assert status == 0 and results["test_loss"] == pytest.approx(results["baselines"]["zeros"])
    assert err.count("\n") == 1 and "outputs 0 for every test pixel" in err
    assert results["warnings"] == [err.split("train_autoenc_lite.py: ", 1)[1].strip()]
    assert len(results["dead_units"]) > 0


def test_all_black_images_train_without_a_warning(quick, tmp_path, capsys):
    import pickle

    black = tmp_path / "black.pickle"
    black.write_bytes(pickle.dumps(np.zeros((30, 15, 15))))
    status, results = quick(
        "--train", black, "--test", black, "--steps", 20, "--out", tmp_path / "r"
    )
    assert status == 0 and capsys.readouterr().err == ""
    assert results["test_loss"] == 0.0 and results["warnings"] == []


def test_out_is_relative_to_the_current_folder(quick, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert quick("--steps", 3, "--out", "here/there")[0] == 0
    assert sorted(p.name for p in (tmp_path / "here" / "there").iterdir()) == sorted(
        program.OUTPUTS
    )
    out = capsys.readouterr().out
    assert "wrote here/there/weights.png" in out and "(here/there/layer_in_timing.png)" in out


def test_importing_runs_nothing_and_sets_nothing(tmp_path):
    code = (
        f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); import train_autoenc_lite; "
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and done.stdout == "None\n" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("preset", [None, "2"])
def test_the_program_keeps_blas_on_one_thread_unless_the_user_chose(preset, tmp_path):
    """Set before NumPy loads, for each common BLAS; a value the user set is kept."""
    code = (
        f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); import command_line\n"
        "with command_line.imports_guarded('__main__'):\n    import numpy\n"
        "print(*(os.environ[n] for n in command_line.BLAS_THREADS))"
    )
    env = {k: v for k, v in os.environ.items() if k not in program.command_line.BLAS_THREADS}
    if preset:
        env["OMP_NUM_THREADS"] = preset
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["1", "1", "1", preset or "1"], done.stderr

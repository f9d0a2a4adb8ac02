"""train_autoenc_lite.py: the homework run end to end, its flags and its errors."""

import json
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import train_autoenc_lite as program
import utils

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "train_autoenc_lite.py")
OUTPUTS = ("learning_curve.png", "test_pairs.png", "results.json", "weights.npz")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_program(*args, cwd):
    """The program as a user runs it: a fresh process, no display."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default configuration, run once through the program itself."""
    folder = tmp_path_factory.mktemp("default")
    done = run_program(cwd=folder)
    return folder, done


def test_default_run_writes_every_output(default_run):
    folder, done = default_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for name in OUTPUTS:
        assert (folder / "results" / name).stat().st_size > 0, name
    for name in ("learning_curve.png", "test_pairs.png"):
        assert (folder / "results" / name).read_bytes().startswith(PNG_SIGNATURE)
    assert not [p.name for p in (folder / "results").iterdir() if p.name not in OUTPUTS]  # no temp files left


def test_results_json_holds_the_run(default_run):
    folder, _ = default_run
    results = json.loads((folder / "results" / "results.json").read_text())
    config = results["config"]
    assert {k: config[k] for k in ("steps", "batch_size", "lr", "seed")} == {"steps": 1000, "batch_size": 20, "lr": 0.001, "seed": 0}
    assert pathlib.Path(config["train"]).name == "images_train.pickle"
    assert pathlib.Path(config["test"]).name == "images_test.pickle"
    timing = results["timing"]
    for key in ("scalar_seconds_per_call", "vector_seconds_per_call", "speedup", "max_difference"):
        assert key in timing
    assert timing["scalar_seconds_per_call"] > timing["vector_seconds_per_call"] > 0
    assert timing["speedup"] == pytest.approx(timing["scalar_seconds_per_call"] / timing["vector_seconds_per_call"])
    assert 0 <= timing["max_difference"] <= 1e-12
    assert results["train_seconds"] > 0
    assert set(results["baselines"]) == {"zeros", "mean_image"}

    losses = np.array(results["losses"])
    assert losses.shape == (1000,) and np.all(np.isfinite(losses))
    assert losses[-100:].mean() < 0.5 * losses[:10].mean()  # it learned
    assert results["test_loss"] < results["baselines"]["mean_image"] < results["baselines"]["zeros"]


def test_the_baselines_are_what_they_say(default_run):
    folder, _ = default_run
    results = json.loads((folder / "results" / "results.json").read_text())
    x_test = program.to_batch(utils.load_images(ROOT / "images_test.pickle"))
    x_train = program.to_batch(utils.load_images(ROOT / "images_train.pickle"))
    assert results["baselines"]["zeros"] == pytest.approx(np.sum(x_test**2))
    assert results["baselines"]["mean_image"] == pytest.approx(np.sum((x_train.mean(axis=0) - x_test) ** 2))


def test_weights_npz_holds_the_trained_network(default_run):
    folder, _ = default_run
    results = json.loads((folder / "results" / "results.json").read_text())
    with np.load(folder / "results" / "weights.npz", allow_pickle=False) as saved:
        params = {name: saved[name] for name in saved.files}
    assert sorted(params) == sorted(utils.PARAMS)
    assert params["w_in"].shape == (75, 225) and params["w_out"].shape == (225, 75)
    assert np.array_equal(params["w_rec"], np.eye(75)) and not params["b_rec"].any()  # Layer_rec untrained
    assert not np.array_equal(params["w_in"], utils.init(0)["w_in"])  # the trained ones moved
    x_test = program.to_batch(utils.load_images(ROOT / "images_test.pickle"))
    y, _ = utils.forward(params, x_test)
    assert utils.get_loss(y, x_test) == pytest.approx(results["test_loss"], rel=1e-12)


def test_the_run_prints_the_timing_table_progress_and_summary(default_run):
    _, done = default_run
    out = done.stdout
    assert "scalar" in out and "vector" in out and "faster" in out
    progress = [line.split() for line in out.splitlines() if line.strip().split(" ")[0].isdigit()]
    assert [int(row[0]) for row in progress] == list(range(100, 1001, 100))
    assert "test loss" in out and "all-zero output" in out and "mean training image" in out
    for name in OUTPUTS:
        assert f"results/{name}" in out


def test_same_seed_same_losses_bit_for_bit(tmp_path):
    quiet = lambda *_: None  # noqa: E731
    a = program.run(steps=300, out=tmp_path / "a", say=quiet)
    b = program.run(steps=300, out=tmp_path / "b", say=quiet)
    c = program.run(steps=300, seed=1, out=tmp_path / "c", say=quiet)
    assert a["losses"] == b["losses"] and a["test_loss"] == b["test_loss"]
    assert a["losses"] != c["losses"]


def test_train_draws_batches_without_repeats():
    """Every batch holds batch_size different images: made visible by images that are
    one-hot, where a repeated image would show in the loss of an all-zero network."""
    x = np.eye(40, 225)
    params = utils.init(0)
    params["w_out"][:] = 0.0  # y = 0 and no learning: the loss counts the images in the batch
    seen = []
    real_choice = np.random.Generator.choice

    class Recorder:
        def __getattr__(self, name):
            return getattr(rng, name)

        def choice(self, *args, **kwargs):
            picked = real_choice(rng, *args, **kwargs)
            seen.append(picked)
            return picked

    rng = np.random.default_rng(0)
    losses = program.train(params, x, steps=200, batch_size=20, lr=0.001, rng=Recorder())
    assert np.all(losses == 20.0)  # 20 distinct one-hot images, each contributing 1
    assert all(len(set(batch.tolist())) == 20 for batch in seen)
    assert len({tuple(batch) for batch in seen}) > 190  # and the batches vary


# --------------------------------------------------------------------------- flags


def test_help_shows_every_flag_with_its_default(tmp_path):
    env = {**os.environ, "COLUMNS": "1000"}  # one line a flag: no path broken by wrapping
    done = subprocess.run([sys.executable, SCRIPT, "-h"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    expected = {
        "--steps": "1000", "--batch-size": "20", "--lr": "0.001", "--seed": "0",
        "--train": str(ROOT / "images_train.pickle"), "--test": str(ROOT / "images_test.pickle"), "--out": "results",
    }  # fmt: skip
    for flag, default in expected.items():
        [line] = [line for line in done.stdout.splitlines() if line.strip().startswith(flag + " ")]
        assert line.endswith(f"(default: {default})"), line


def write_pickle(path, obj):
    path.write_bytes(pickle.dumps(obj))
    return str(path)


def bad_inputs(tmp):
    hostile = tmp / "hostile.pickle"
    hostile.write_bytes(b"cos\nsystem\n(Vtouch " + str(tmp / "ran").encode() + b"\ntR.")
    (tmp / "a_file").write_text("not a folder")
    return {
        "steps zero": (["--steps", "0"], "--steps"),
        "steps negative": (["--steps", "-5"], "--steps"),
        "steps fraction": (["--steps", "2.5"], "--steps"),
        "steps word": (["--steps", "many"], "--steps"),
        "batch size zero": (["--batch-size", "0"], "--batch-size"),
        "batch size too large": (["--batch-size", "1001"], "--batch-size 1001: larger than the 1000 images"),
        "lr zero": (["--lr", "0"], "--lr"),
        "lr negative": (["--lr", "-0.1"], "--lr"),
        "lr nan": (["--lr", "nan"], "--lr"),
        "lr infinite": (["--lr", "inf"], "--lr"),
        "lr word": (["--lr", "fast"], "--lr"),
        "seed negative": (["--seed", "-1"], "--seed"),
        "unknown flag": (["--epochs", "3"], "--epochs"),
        "missing train file": (["--train", str(tmp / "nope.pickle")], "--train " + str(tmp / "nope.pickle") + ": no such file"),
        "train file is a folder": (["--train", str(tmp)], "is a folder"),
        "test file wrong shape": (["--test", write_pickle(tmp / "flat.pickle", np.zeros((20, 225)))], "--test"),
        "test file of text": (["--test", str(tmp / "a_file")], "not a pickle"),
        "hostile test file": (["--test", str(hostile)], "refused"),
        "out is a file": (["--out", str(tmp / "a_file")], "--out"),
    }


BAD_CASES = (
    "steps zero", "steps negative", "steps fraction", "steps word", "batch size zero", "batch size too large",
    "lr zero", "lr negative", "lr nan", "lr infinite", "lr word", "seed negative", "unknown flag",
    "missing train file", "train file is a folder", "test file wrong shape", "test file of text",
    "hostile test file", "out is a file",
)  # fmt: skip


def test_every_bad_case_is_tested(tmp_path):
    assert set(bad_inputs(tmp_path)) == set(BAD_CASES)


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_one_line_exit_2(case, tmp_path, capsys):
    args, expected = bad_inputs(tmp_path)[case]
    try:
        status = program.main(args)
    except SystemExit as e:  # argparse's way out
        status = e.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("train_autoenc_lite.py: error: "), err
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "results").exists()


def test_bad_input_through_the_real_program(tmp_path):
    for args in (["--lr", "-1"], ["--train", "missing.pickle"], ["--batch-size", "5000"]):
        done = run_program(*args, cwd=tmp_path)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""
    assert not (tmp_path / "results").exists()


def test_a_divergent_run_stops_with_a_clear_error(tmp_path):
    done = run_program("--lr", "1e10", "--steps", "200", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "training diverged" in done.stderr and "at update " in done.stderr
    assert "smaller --lr" in done.stderr
    # it stopped before drawing anything
    assert not list((tmp_path / "results").glob("*.png"))


def test_divergence_names_the_first_bad_update():
    x = program.to_batch(utils.load_images(ROOT / "images_train.pickle"))
    rng = np.random.default_rng(0)
    with pytest.raises(program.RunError, match=r"at update (\d+) of 100 with --lr 1e\+10") as caught:
        program.train(utils.init(0), x, steps=100, batch_size=20, lr=1e10, rng=rng)
    update = int(caught.value.args[0].split("at update ")[1].split()[0])
    # the updates before it were finite: rerun them and see
    assert update > 1
    losses = program.train(utils.init(0), x, steps=update - 1, batch_size=20, lr=1e10, rng=np.random.default_rng(0))
    assert np.all(np.isfinite(losses))


def test_a_network_killed_by_a_large_lr_is_reported(tmp_path, capsys):
    """With lr 0.1 the loss explodes, stays finite, and every output ReLU ends up off."""
    results = program.run(steps=200, lr=0.1, out=tmp_path, say=lambda *_: None)
    assert results["test_loss"] == pytest.approx(results["baselines"]["zeros"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outputs 0 for every test pixel" in err and "smaller --lr" in err
    assert results["warnings"] == [err.split("train_autoenc_lite.py: ", 1)[1].strip()]


def test_a_healthy_run_has_no_warning(default_run):
    folder, done = default_run
    assert json.loads((folder / "results" / "results.json").read_text())["warnings"] == []


# -------------------------------------------------------------------- the module


def test_importing_runs_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); import train_autoenc_lite"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_a_crash_while_writing_leaves_no_half_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("the old, whole file")

    def write_half_then_crash(f):
        f.write(b'{"half": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        program.write_atomically(target, write_half_then_crash)
    assert target.read_text() == "the old, whole file"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left either
    program.write_atomically(target, lambda f: f.write(b"new"))
    assert target.read_text() == "new"


def test_layer_in_disagreement_is_an_error(monkeypatch):
    monkeypatch.setattr(utils, "forward_in_scalar", lambda x, w, b: utils.forward_in_vector(x, w, b) + 1e-9)
    params = utils.init(0)
    with pytest.raises(program.RunError, match="differ by 1e-09"):
        program.compare_layer_in(np.full((20, 225), 0.5), params["w_in"], params["b_in"])


def test_a_failed_write_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def disk_full(path, write):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(program, "write_atomically", disk_full)
    status = program.main(["--steps", "100", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert err == f"train_autoenc_lite.py: error: --out {tmp_path / 'out'}: cannot write the results (No space left on device)\n"


@pytest.mark.parametrize("n", [1, 3, 45])
def test_test_pairs_figure_for_any_number_of_test_images(n, tmp_path):
    x = np.random.default_rng(n).uniform(size=(n, 225))
    path = tmp_path / "pairs.png"
    program.plot_test_pairs(x, x[::-1], 1.0, path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)

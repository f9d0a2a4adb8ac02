"""train_autoenc_lite.py: the homework run end to end, its flags, its checks and its errors."""

import json
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import image_files
import train_autoenc_lite as program
import utils

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "train_autoenc_lite.py")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_program(*args, cwd, timeout=120):
    """The program as a user runs it: a fresh process, no display."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def quiet(*_):
    pass


def strict_json(path):
    """results.json, refusing NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise AssertionError(f"{constant} in {path}")

    return json.loads(pathlib.Path(path).read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default configuration, run once through the program itself."""
    folder = tmp_path_factory.mktemp("default")
    done = run_program(cwd=folder)
    return folder, done


@pytest.fixture(scope="module")
def default_results(default_run):
    folder, _ = default_run
    return strict_json(folder / "results" / "results.json")


def test_default_run_writes_every_output(default_run):
    folder, done = default_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert sorted(p.name for p in (folder / "results").iterdir()) == sorted(program.OUTPUTS)
    for name in program.OUTPUTS:
        data = (folder / "results" / name).read_bytes()
        assert len(data) > 0, name
        assert data.startswith(PNG_SIGNATURE) == name.endswith(".png"), name


def test_results_json_holds_the_run(default_results):
    results = default_results
    config = results["config"]
    assert {k: config[k] for k in ("steps", "batch_size", "lr", "seed")} == {
        "steps": 1000,
        "batch_size": 20,
        "lr": 0.001,
        "seed": 0,
    }
    assert pathlib.Path(config["train"]).name == "images_train.pickle"
    assert pathlib.Path(config["test"]).name == "images_test.pickle"
    seconds = results["seconds"]
    parts = ("loading", "layer_in_timing", "gradient_check", "training", "testing", "figures")
    assert list(seconds) == [*parts, "total"] and all(seconds[p] > 0 for p in parts)
    assert sum(seconds[p] for p in parts) <= seconds["total"]
    assert results["seconds_per_update"] == pytest.approx(seconds["training"] / 1000)
    assert set(results["baselines"]) == {"zeros", "mean_image"}
    losses = np.array(results["losses"])
    assert losses.shape == (1000,) and np.all(np.isfinite(losses))
    assert losses[-100:].mean() < 0.5 * losses[:10].mean()  # it learned
    assert results["test_loss"] < results["baselines"]["mean_image"] < results["baselines"]["zeros"]
    assert results["test_loss"] == pytest.approx(sum(results["test_loss_per_image"]))
    assert results["dead_units"] == [] and results["warnings"] == []


def test_results_json_holds_the_timing_at_every_batch_size(default_results):
    timing = default_results["timing"]
    rows = timing["by_batch_size"]
    assert [row["batch_size"] for row in rows] == [1, 2, 5, 10, 20, 50, 100]
    for row in rows:
        for form in ("scalar", "vector"):
            t = row[form]
            assert t["calls_per_repeat"] >= 1 and 0 < t["best"] <= t["median"]
        assert row["scalar"]["best"] > row["vector"]["best"]
        assert row["speedup"] == pytest.approx(row["scalar"]["best"] / row["vector"]["best"])
    # the scalar form is Python loops: its time grows with the batch, about in proportion
    scalar = [row["scalar"]["best"] for row in rows]
    assert scalar[-1] > 20 * scalar[0]
    assert timing["repeats"] == 5 and timing["difference_batch_size"] == 20
    assert 0 <= timing["max_difference"] <= 1e-12


def test_results_json_holds_the_gradient_check(default_results):
    check = default_results["gradient_check"]
    assert check["images"] == 20 and check["max_allowed"] == 1e-6 and check["step"] > 0
    arrays = check["arrays"]
    assert list(arrays) == list(utils.TRAINED)
    for name, result in arrays.items():
        size = int(np.prod(result["shape"]))
        assert result["entries"] == size
        sampled = size if name.startswith("b_") else program.GRADIENT_SAMPLE
        assert result["checked"] + result["skipped"] == sampled
        assert result["checked"] >= 0.5 * sampled  # the kinks do not swallow the check
        assert 0 <= result["max_relative_error"] <= 1e-6
    assert arrays["b_in"]["entries"] == 75 and arrays["b_out"]["entries"] == 225


def test_the_baselines_are_what_they_say(default_results):
    x_test = program.to_batch(image_files.load_images(ROOT / "images_test.pickle"))
    x_train = program.to_batch(image_files.load_images(ROOT / "images_train.pickle"))
    baselines = default_results["baselines"]
    assert baselines["zeros"] == pytest.approx(np.sum(x_test**2))
    assert baselines["mean_image"] == pytest.approx(np.sum((x_train.mean(axis=0) - x_test) ** 2))


def test_weights_npz_holds_the_trained_network(default_run, default_results):
    folder, _ = default_run
    with np.load(folder / "results" / "weights.npz", allow_pickle=False) as saved:
        params = {name: saved[name] for name in saved.files}
    assert sorted(params) == sorted(utils.PARAMS)
    assert params["w_in"].shape == (75, 225) and params["w_out"].shape == (225, 75)
    assert np.array_equal(params["w_rec"], np.eye(75))  # Layer_rec is not trained
    assert not params["b_rec"].any()
    assert not np.array_equal(params["w_in"], utils.init(0)["w_in"])  # the trained ones moved
    x_test = program.to_batch(image_files.load_images(ROOT / "images_test.pickle"))
    y, _ = utils.forward(params, x_test)
    assert utils.get_loss(y, x_test) == pytest.approx(default_results["test_loss"], rel=1e-12)


def test_the_run_prints_each_section(default_run):
    _, done = default_run
    out = done.stdout
    assert "scalar" in out and "vector" in out and "faster" in out
    [speedups] = [line for line in out.splitlines() if "speed-up by batch size" in line]
    assert [part.split(":")[0] for part in speedups.split(": ", 1)[1].split("  ")] == [
        "1",
        "2",
        "5",
        "10",
        "20",
        "50",
        "100",
    ]
    assert "Backprop against central differences" in out
    for name in utils.TRAINED:
        assert any(line.split()[:1] == [name] for line in out.splitlines()), name
    assert "every error at most 1e-06" in out
    progress = [line.split() for line in out.splitlines() if line.strip().split(" ")[0].isdigit()]
    assert [int(row[0]) for row in progress] == list(range(100, 1001, 100))
    assert "test loss" in out and "all-zero output" in out and "mean training image" in out
    for name in program.OUTPUTS:
        assert f"wrote results/{name}" in out


def test_same_seed_same_numbers_bit_for_bit(tmp_path):
    a = program.run(steps=150, out=tmp_path / "a", say=quiet)
    b = program.run(steps=150, out=tmp_path / "b", say=quiet)
    c = program.run(steps=150, seed=1, out=tmp_path / "c", say=quiet)
    assert a["losses"] == b["losses"] and a["test_loss"] == b["test_loss"]
    assert a["gradient_check"] == b["gradient_check"]  # the same entries, the same errors
    assert (tmp_path / "a" / "weights.npz").read_bytes() == (
        tmp_path / "b" / "weights.npz"
    ).read_bytes()
    assert a["losses"] != c["losses"]


def test_the_gradient_check_does_not_change_the_training(tmp_path, monkeypatch):
    """The check draws its sample from a generator of its own: without it, the same run."""
    with_check = program.run(steps=50, out=tmp_path / "a", say=quiet)
    monkeypatch.setattr(
        program,
        "check_gradients",
        lambda params, x, rng: {
            name: {
                "shape": [1],
                "entries": 1,
                "checked": 1,
                "skipped": 0,
                "max_relative_error": 0.0,
            }
            for name in utils.TRAINED
        },
    )
    without = program.run(steps=50, out=tmp_path / "b", say=quiet)
    assert with_check["losses"] == without["losses"]


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


# ------------------------------------------------------------------ short runs


@pytest.mark.parametrize(
    "steps, rows",
    [
        (1, [1]),
        (7, list(range(1, 8))),
        (50, list(range(5, 51, 5))),
        (123, [*range(12, 121, 12), 123]),
    ],
)
def test_short_runs_report_progress_and_draw_their_curve(steps, rows, tmp_path):
    printed = []
    results = program.run(steps=steps, out=tmp_path, say=printed.append)
    lines = "\n".join(printed).splitlines()
    progress = [int(line.split()[0]) for line in lines if line.strip().split(" ")[0].isdigit()]
    assert progress == rows
    assert len(results["losses"]) == steps
    assert (tmp_path / "learning_curve.png").read_bytes().startswith(PNG_SIGNATURE)
    mean = f"mean of the last {program.count(min(steps, 100), 'update')}"
    assert any(mean in line for line in lines)


# --------------------------------------------------------------------------- flags


def test_help_shows_every_flag_with_its_range_and_default(tmp_path):
    env = {**os.environ, "COLUMNS": "1000"}  # one line a flag: no path broken by wrapping
    done = subprocess.run(
        [sys.executable, SCRIPT, "-h"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    expected = {
        "--steps": ("1 to 10,000,000", "1000"),
        "--batch-size": ("1 to the number of training images", "20"),
        "--lr": ("above 0 and at most 1e+10", "0.001"),
        "--seed": ("0 to 4,294,967,295", "0"),
        "--train": ("", str(ROOT / "images_train.pickle")),
        "--test": ("", str(ROOT / "images_test.pickle")),
        "--out": ("", "results"),
    }
    for flag, (limits, default) in expected.items():
        [line] = [line for line in done.stdout.splitlines() if line.strip().startswith(flag + " ")]
        assert line.endswith(f"(default: {default})") and limits in line, line
    assert "relative to the current folder" in done.stdout


def make_bad_files(tmp):
    (tmp / "hostile.pickle").write_bytes(
        b"\x80\x02cos\nsystem\n(Vtouch " + str(tmp / "ran").encode() + b"\ntR."
    )
    (tmp / "flat.pickle").write_bytes(pickle.dumps(np.zeros((20, 225))))
    (tmp / "a_file").write_text("not a folder")
    (tmp / "taken").mkdir()
    (tmp / "taken" / "results.json").mkdir()  # a folder where an output must go


def bad_inputs(tmp):
    """Each case: (flags, what the one-line error must say), for files in tmp."""
    missing, hostile = str(tmp / "nope.pickle"), str(tmp / "hostile.pickle")
    return {
        "steps zero": (["--steps", "0"], "--steps: '0' is out of range: 1 to 10,000,000"),
        "steps negative": (["--steps", "-5"], "--steps"),
        "steps fraction": (["--steps", "2.5"], "'2.5' is not a whole number"),
        "steps word": (["--steps", "many"], "--steps"),
        "steps huge": (["--steps", "1" + "0" * 30], "is out of range: 1 to 10,000,000"),
        "steps just too many": (["--steps", "10000001"], "out of range"),
        "steps a million digits": (["--steps", "9" * 1_000_000], "'... is out of range"),
        "batch size zero": (["--batch-size", "0"], "--batch-size"),
        "batch size too large": (["--batch-size", "1001"], "1001: larger than the 1000 images"),
        "lr zero": (["--lr", "0"], "--lr"),
        "lr negative": (["--lr", "-0.1"], "--lr"),
        "lr nan": (["--lr", "nan"], "--lr"),
        "lr infinite": (["--lr", "inf"], "--lr"),
        "lr too large": (["--lr", "1e11"], "at most 1e+10"),
        "lr word": (["--lr", "fast"], "--lr"),
        "seed negative": (["--seed", "-1"], "--seed"),
        "seed too large": (["--seed", str(2**32)], "0 to 4,294,967,295"),
        "unknown flag": (["--epochs", "3"], "--epochs"),
        "a flag value with a newline": (["--epochs", "3\n\x1b[2J"], "3\\n\\x1b[2J"),
        "missing train file": (["--train", missing], f"--train {missing}: no such file"),
        "train file is a folder": (["--train", str(tmp)], "is a folder"),
        "test file wrong shape": (["--test", str(tmp / "flat.pickle")], "(20, 225)"),
        "test file of text": (["--test", str(tmp / "a_file")], "not a pickle"),
        "hostile test file": (["--test", hostile], "refused"),
        "out is a file": (["--out", str(tmp / "a_file")], "a_file: exists and is not a folder"),
        "out below a file": (["--out", str(tmp / "a_file" / "r")], "cannot make the folder"),
        "out empty": (["--out", ""], "--out: an empty name"),
        "out name too long": (["--out", str(tmp / ("x" * 300))], "(File name too long)"),
        "out has a folder in the way": (
            ["--out", str(tmp / "taken")],
            "a folder named results.json is in the way",
        ),
    }


BAD_CASES = list(bad_inputs(pathlib.Path("tmp")))


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_one_line_exit_2_before_any_work(case, tmp_path, capsys, monkeypatch):
    make_bad_files(tmp_path)
    args, expected = bad_inputs(tmp_path)[case]
    monkeypatch.setattr(program, "train", None)  # reaching training would be an error too
    try:
        status = program.main(args)
    except SystemExit as e:  # argparse's way out
        status = e.code
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("train_autoenc_lite.py: error: "), captured.err
    assert expected in captured.err
    paths = sum(len(a) for a in args if len(a) < 1000)  # paths are quoted whole, numbers cut
    assert len(captured.err) < 300 + paths
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "results").exists()


def test_an_out_folder_without_write_permission(tmp_path, capsys):
    if os.path.isdir("/sys/kernel"):  # even root may not make a folder in /sys
        out = "/sys/kernel/autoenc-results"
    elif hasattr(os, "geteuid") and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = str(locked / "results")
    else:
        pytest.skip("no folder here refuses this user")
    assert program.main(["--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"train_autoenc_lite.py: error: --out {out}: cannot make the folder (")
    assert err.count("\n") == 1


def test_bad_input_through_the_real_program(tmp_path):
    for args in (
        ["--lr", "-1"],
        ["--train", "missing.pickle"],
        ["--batch-size", "5000"],
        ["--out", ""],
    ):
        done = run_program(*args, cwd=tmp_path)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_out_is_relative_to_the_current_folder(tmp_path):
    done = run_program("--steps", "3", "--out", "here/there", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "here" / "there").iterdir()) == sorted(
        program.OUTPUTS
    )
    assert "wrote here/there/weights.png" in done.stdout
    assert "speed-up by batch size (here/there/layer_in_timing.png)" in done.stdout


# ---------------------------------------------------------------- divergence


@pytest.mark.parametrize("steps", ["3", "200"])
def test_a_divergent_run_stops_with_a_clear_error_and_writes_nothing(steps, tmp_path):
    done = run_program("--lr", "1e10", "--steps", steps, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "training diverged" in done.stderr and "update " in done.stderr
    assert "smaller --lr, such as 1e+09" in done.stderr
    assert list((tmp_path / "results").iterdir()) == []  # no NaN written anywhere


def test_divergence_names_the_first_bad_update():
    x = program.to_batch(image_files.load_images(ROOT / "images_train.pickle"))
    with pytest.raises(
        program.RunError,
        match=r"the loss stopped being finite at update (\d+) "
        r"of 100 with --lr 1e\+10",
    ) as caught:
        program.train(
            utils.init(0), x, steps=100, batch_size=20, lr=1e10, rng=np.random.default_rng(0)
        )
    update = int(caught.value.args[0].split("at update ")[1].split()[0])
    assert update > 1  # the updates before it were finite: rerun them and see
    params = utils.init(0)
    losses = program.train(
        params, x, steps=update - 1, batch_size=20, lr=1e10, rng=np.random.default_rng(0)
    )
    assert np.all(np.isfinite(losses)) and program.weights_are_finite(params)


def test_weights_that_stop_being_finite_are_caught_at_once():
    """An update can overflow the weights while the loss it started from was finite."""
    x = program.to_batch(image_files.load_images(ROOT / "images_test.pickle"))
    with pytest.raises(program.RunError, match="the weights stopped being finite at update 1 of 5"):
        program.train(
            utils.init(0), x, steps=5, batch_size=20, lr=1e308, rng=np.random.default_rng(0)
        )


def test_a_test_loss_that_overflows_is_divergence(tmp_path, monkeypatch):
    monkeypatch.setattr(
        program,
        "evaluate",
        lambda params, x_test, x_train: (
            x_test,
            float("inf"),
            np.zeros(len(x_test)),
            {"zeros": 1.0, "mean_image": 1.0},
        ),
    )
    with pytest.raises(program.RunError, match="the test loss is inf"):
        program.run(steps=3, out=tmp_path, say=quiet)
    assert list(tmp_path.iterdir()) == []


def test_a_network_killed_by_a_large_lr_is_reported(tmp_path, capsys):
    """With lr 0.1 the loss explodes, stays finite, and every output ReLU ends up off."""
    results = program.run(steps=200, lr=0.1, out=tmp_path, say=quiet)
    assert results["test_loss"] == pytest.approx(results["baselines"]["zeros"])
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "outputs 0 for every test pixel" in err and "smaller --lr" in err
    )
    assert results["warnings"] == [err.split("train_autoenc_lite.py: ", 1)[1].strip()]
    assert len(results["dead_units"]) > 0  # and weights.png crosses them out
    assert strict_json(tmp_path / "results.json")["dead_units"] == results["dead_units"]


# ------------------------------------------------------------ the run's own checks


@pytest.mark.parametrize("name", utils.TRAINED)
def test_the_gradient_check_stops_a_run_whose_backprop_is_wrong(
    name, tmp_path, capsys, monkeypatch
):
    """A small error planted in a copy of one gradient (utils.py is left alone)."""
    real_backprop = utils.backprop

    def planted(params, cache):
        grads = {k: v.copy() for k, v in real_backprop(params, cache).items()}
        grads[name] *= 1 + 1e-5  # a relative error of 1e-5 in every entry
        return grads

    monkeypatch.setattr(utils, "backprop", planted)
    monkeypatch.setattr(program, "train", None)  # it must stop before training
    status = program.main(["--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith(
        f"train_autoenc_lite.py: error: backprop disagrees with central differences: d{name} "
        "has a relative error of 1e-05, more than 1e-06"
    )
    assert "NOT all within 1e-06" in captured.out
    assert list((tmp_path / "out").iterdir()) == []


def test_the_gradient_check_skips_entries_at_a_relu_kink():
    """A batch where one unit of Layer_in sits exactly at its kink: its bias cannot be
    checked by differences and is skipped, not reported as an error."""
    x = program.to_batch(image_files.load_images(ROOT / "images_test.pickle"))[:5]
    params = utils.init(np.random.default_rng(3))
    a_in = x @ params["w_in"].T
    params["b_in"][0, 7] = -a_in[2, 7]  # image 2 puts unit 7 exactly at 0
    before = {k: v.copy() for k, v in params.items()}
    check = program.check_gradients(params, x, np.random.default_rng(0))
    assert check["b_in"]["skipped"] >= 1 and check["b_in"]["checked"] >= 50
    assert all(r["max_relative_error"] <= 1e-6 for r in check.values())
    assert all(np.array_equal(params[k], before[k]) for k in params)  # restored exactly


def test_central_difference_is_exact_for_a_quadratic_loss():
    """Away from kinks, L is quadratic in each entry: the central difference equals
    backprop's derivative to rounding, and a wrong derivative is told apart."""
    x = program.to_batch(image_files.load_images(ROOT / "images_test.pickle"))[:4]
    params = utils.init(np.random.default_rng(5))
    _, cache = utils.forward(params, x)
    grads = utils.backprop(params, cache)
    masks = program.relu_masks(cache)
    numeric = program.central_difference(params, x, "b_out", (0, 100), masks)
    assert numeric is not None
    assert program.relative_error(grads["b_out"][0, 100], numeric) < 1e-8
    assert program.relative_error(grads["b_out"][0, 100] * 1.001, numeric) > 1e-4


def test_layer_in_disagreement_is_an_error(monkeypatch):
    monkeypatch.setattr(
        utils, "forward_in_scalar", lambda x, w, b: utils.forward_in_vector(x, w, b) + 1e-9
    )
    params = utils.init(0)
    with pytest.raises(program.RunError, match="differ by 1e-09"):
        program.compare_layer_in(np.full((20, 225), 0.5), params["w_in"], params["b_in"], 20)


def test_layer_in_is_timed_at_every_size_the_training_set_allows():
    params = utils.init(0)
    x = np.random.default_rng(0).uniform(size=(7, 225))
    timing = program.compare_layer_in(x, params["w_in"], params["b_in"], 3)
    assert [row["batch_size"] for row in timing["by_batch_size"]] == [1, 2, 3, 5]
    assert timing["difference_batch_size"] == 3


def test_time_per_call_uses_timeit(monkeypatch):
    """The timing is timeit's: a sizing call, then Timer.repeat."""
    import timeit

    calls = []

    class Timer(timeit.Timer):
        def timeit(self, number):
            calls.append(("timeit", number))
            return 0.0005

        def repeat(self, repeat, number):
            calls.append(("repeat", repeat, number))
            return [0.002, 0.003, 0.0025, 0.004, 0.0021][:repeat]

    monkeypatch.setattr(timeit, "Timer", Timer)
    assert program.time_per_call(lambda: None) == (4, 0.0005, 0.000625)
    assert calls == [("timeit", 1), ("repeat", 5, 4)]


# -------------------------------------------------------------------- the module


def test_importing_runs_nothing(tmp_path):
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import train_autoenc_lite"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def disk_full(self, name, write_to):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(program.OutputSet, "write", disk_full)
    status = program.main(["--steps", "5", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert err == (
        f"train_autoenc_lite.py: error: --out {tmp_path / 'out'}: cannot write the "
        "results (No space left on device)\n"
    )


def test_the_training_loop_comes_first():
    """A newcomer finds train() within the program's first 150 lines."""
    lines = pathlib.Path(SCRIPT).read_text().splitlines()
    assert lines.index("def train(params, x_train, steps, batch_size, lr, rng, report=None):") < 150

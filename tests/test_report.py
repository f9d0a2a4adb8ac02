"""run_support/report.py: every column of every table the run prints, its headline and its
verdicts, from made-up results whose every figure differs, and the helpers at their edges."""

import os

import pytest

from run_support import report


def form(best, median):
    return {"calls_per_repeat": 1, "repeats": 3, "best": best, "median": median}


def timing_result(busy=(), batch=20, vector=lambda n: 3e-6 + 1e-6 * n):
    rows = []
    for n in (1, 2, 10, 20, 50):
        scalar = 5e-4 * n
        speedup = scalar / vector(n)
        row = {"batch_size": n, "speedup": speedup, "spread": 2.0 if n in busy else 1.1}
        row |= {"steady": n not in busy, "scalar": form(scalar, 2 * scalar)}
        rows.append({**row, "vector": form(vector(n), 9e-6)})
    return {
        "clock": "CPU",
        "busy_spread": 1.5,
        "max_difference": 4.4e-16,
        "difference_batch_size": batch,
        "by_batch_size": rows,
    }


def columns(text, first):
    """The cells of the table rows that start with one of `first`, by that cell."""
    return {
        line.split()[0]: line.split()
        for line in text.splitlines()
        if line.split()[:1] and line.split()[0] in first
    }


def test_the_timing_table_gives_each_forms_best_time_and_the_speed_up_at_each_size():
    result = timing_result()
    rows = columns(report.timing(result, "results/t.png"), {"1", "2", "10", "20", "50"})
    for row in result["by_batch_size"]:
        cells = rows[str(row["batch_size"])]
        assert " ".join(cells[1:3]) == report.seconds(row["scalar"]["best"])  # not the median
        assert " ".join(cells[3:5]) == report.seconds(row["vector"]["best"])
        assert cells[5] == report.times(row["speedup"])
    assert rows["20"][6:] == ["<-", "the", "training", "batch"] and len(rows["10"]) == 6


def test_the_headline_names_the_training_batch_and_its_speed_up():
    for batch in (20, 10):
        text = report.timing(timing_result(batch=batch), "results/t.png")
        at = next(r for r in timing_result()["by_batch_size"] if r["batch_size"] == batch)
        scalar, vector = (report.seconds(at[form]["best"]) for form in ("scalar", "vector"))
        faster = f"the vector form is {report.times(at['speedup'])} faster"
        headline = f"on the training batch of {batch} images {faster}: {scalar} against {vector}"
        assert f"{headline} a call" in text.splitlines()[2]
        assert columns(text, {str(batch)})[str(batch)][-4:] == ["<-", "the", "training", "batch"]


def test_a_size_timed_on_a_busy_machine_gives_no_speed_up_and_says_why():
    text = report.timing(timing_result(busy=(2, 20)), "results/t.png")
    rows = columns(text, {"2", "10", "20"})
    assert rows["2"][5] == "busy" and rows["20"][5] == "busy" and rows["10"][5].endswith("x")
    assert "vector form is timed on a busy machine" in text
    assert "while batch size 2, 20 was timed the machine was busy" in " ".join(text.split())
    assert "busy:" not in report.timing(timing_result(), "results/t.png")


def test_why_the_curve_is_not_smooth_names_where_the_time_per_image_rose():
    jump = lambda n: 1e-6 * n * (2.0 if n >= 20 else 1.0)  # noqa: E731
    text = " ".join(report.timing(timing_result(vector=jump), "results/t.png").split())
    assert "why the speed-up is not smooth (results/t.png)" in text
    assert "its time per image rose from 10 to 20 images" in text
    assert report.dips(timing_result(vector=jump)["by_batch_size"]) == ["10 to 20"]
    assert report.dips(timing_result()["by_batch_size"]) == []  # 3 + n us: falls per image
    assert "rose" not in report.timing(timing_result(), "results/t.png")


def check_result(max_errors):
    arrays = {}
    for i, (name, error) in enumerate(zip(("w_in", "b_in"), max_errors)):
        counts = {"entries": 900 + i, "checked": 70 + i, "skipped": 3 + i}
        arrays[name] = {"shape": [75, 225 - i], **counts, "max_relative_error": error}
    return {"step": 1e-4, "floor": 1.7e-3, "max_allowed": 1e-6, "images": 20, "arrays": arrays}


def test_the_gradient_check_table_gives_each_arrays_counts_and_worst_error():
    text = report.gradient_check(check_result([2.1e-9, 3.4e-12]), None, 0.106)
    rows = columns(text, {"w_in", "b_in"})
    assert rows["w_in"][1:] == ["75x225", "900", "70", "3", "2.1e-09"]
    assert rows["b_in"][1:] == ["75x224", "901", "71", "4", "3.4e-12"]
    assert "on 20 images" in text and "step 1e-04" in text
    assert "1.7e-03, the rounding floor" in text
    assert "every error at most 1e-06; took 106 ms" in text
    failed = report.gradient_check(check_result([2e-5, 0]), "wrong", 0.1)
    assert "every error NOT all within 1e-06" in failed


def test_progress_rows_give_the_update_its_loss_and_the_mean():
    header = report.training(1000, 20, 0.001, 0, 100).splitlines()
    assert header[1] == "Training: 1,000 SGD updates, batches of 20 random images, lr 0.001, seed 0"
    assert header[2].split() == ["update", "loss", "mean", "of", "the", "last", "100"]
    assert report.progress_row(300, 47.281, 48.306).split() == ["300", "47.28", "48.31"]
    assert report.progress_row(3, 2.5e7, 1e6).split() == ["3", "2.5e+07", "1e+06"]
    assert report.progress_row(3, 999999.99, 1.0).split() == ["3", "999999.99", "1.00"]


def summary_results(test_loss, pca=1.59):
    losses = [410.52] + [400.0] * 99 + [30.0 + i / 10 for i in range(100)]  # each part apart
    results = {"losses": losses, "smoothing_window": 40, "config": {"steps": 200}}
    results |= {"test_loss": test_loss, "test_loss_per_image": [1.0] * 20}
    results["baselines"] = {"zeros": 409.16, "mean_image": 158.26, "pca": pca}
    seconds = {"layer_in_timing": 0.41, "gradient_check": 0.11, "training": 0.32}
    seconds |= {"figures": 0.65, "total": 2.37}  # more than the parts: loading, testing
    return {**results, "seconds": seconds, "seconds_per_update": 0.0016}


def test_the_summary_gives_the_final_losses_over_the_last_updates():
    text = report.summary(summary_results(29.04), "results", ("a.png", "b.json"))
    lines = text.splitlines()
    mean_of_last = sum(30.0 + i / 10 for i in range(60, 100)) / 40  # the run's window
    assert " ".join(lines[2].split()) == (
        f"final training loss 39.90 (mean of the last 40 updates {mean_of_last:.2f}; "
        "first update 410.52)"
    )
    assert "test loss             29.04 over 20 test images (1.45 per image)" in text
    assert "training took 0.32 s, 1.6 ms an update" in text
    parts = "Layer_in timing 0.41 s, gradient check 0.11 s, training 0.32 s, figures 0.65 s"
    took = "the run took 2.37 s after Python loaded NumPy and Matplotlib"  # measured, not summed
    assert f"{took}: {parts}" in " ".join(text.split())
    assert lines[-2:] == ["  wrote results/a.png", "  wrote results/b.json"]


UNDER, NOT = "still under-trained after 200 updates", "not learned"
VERDICTS = [  # test loss, PCA's, the verdicts against black, the mean image and PCA
    (29.04, 1.59, ["14x lower", "5.4x lower", f"18x higher: {UNDER}"]),
    (1.0, 1.59, ["409x lower", "158x lower", "1.6x lower: the ReLUs buy what no linear code can"]),
    (409.16, 1.59, ["the same", f"2.6x higher: {NOT}", f"257x higher: {UNDER}"]),
    (500.0, 0.0, [f"1.2x higher: {NOT}", f"3.2x higher: {NOT}", f"higher: {UNDER}"]),
]


@pytest.mark.parametrize("test_loss, pca, verdicts", VERDICTS)
def test_each_baseline_says_where_the_network_stands_against_it(test_loss, pca, verdicts):
    text = report.summary(summary_results(test_loss, pca), "results", ())
    lines = [line[4:] for line in text.splitlines() if line.startswith("    ")]
    names = ["an all-black output", "the mean training image", "best linear code, width 75 (PCA)"]
    losses = ["409.16", "158.26", f"{pca:.2f}"]  # each baseline's own loss beside its name
    assert [
        line.split(maxsplit=len(name.split()) + 1)[:-1] for line, name in zip(lines, names)
    ] == [[*name.split(), loss] for name, loss in zip(names, losses)]
    cells = [line.split(maxsplit=len(name.split()) + 1)[-1] for line, name in zip(lines, names)]
    assert cells == verdicts


# -------------------------------------------------------------------- the helpers


def test_a_value_of_max_quoted_characters_is_quoted_whole_and_one_more_is_cut():
    most = "a" * 80  # MAX_QUOTED
    assert report.quoted(most) == repr(most)
    assert report.quoted(most + "b") == repr(most) + "... (81 in all)"
    assert report.quoted(b"x\ny") == repr(b"x\ny")  # a file's bytes


def test_quoted_values_and_shown_paths_cannot_act_on_a_terminal():
    assert report.quoted("\x1b[2J\r\u202eevil\n").isprintable()
    assert report.shown("a\x1b[2J\n.pickle") == repr("a\x1b[2J\n.pickle")


def test_a_path_is_shown_as_given_and_the_shipped_files_by_their_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inside = tmp_path / "a" / "b.pickle"
    assert report.shown(inside) == str(inside) and report.shown("a/../b.pickle") == "a/../b.pickle"
    for name in ("images_train.pickle", "images_test.pickle"):  # wherever the project is
        assert report.shown(os.path.join(report.PROJECT, name)) == name
    assert report.shown("images_train.pickle") == "images_train.pickle"
    assert report.shown(os.path.join(report.PROJECT, "utils.py")).endswith(os.sep + "utils.py")


def test_a_long_path_is_shown_by_its_two_ends():
    path = "/" + "d" * 300
    assert report.shown(path[: report.MAX_PATH]) == path[: report.MAX_PATH]  # at the limit
    long = report.shown(path[: report.MAX_PATH + 1])
    assert len(long) == report.MAX_PATH and long.startswith("/ddd") and "..." in long


def test_a_count_says_its_noun_in_the_number_it_needs():
    said = [report.count(n, "image") for n in (0, 1, 2, 1000)]
    assert said == ["0 images", "1 image", "2 images", "1,000 images"]


def test_a_duration_is_written_in_the_unit_that_suits_it():
    durations = [1.0, 0.99949, 0.001, 0.000999, 0.0123, 99.94, 150.0, 5e-10]
    written = ["1.0 s", "999 ms", "1.0 ms", "999 us", "12.3 ms", "99.9 s", "150 s", "0.5 ns"]
    assert [report.seconds(s) for s in durations] == written


def test_a_ratio_has_a_decimal_below_ten_and_none_from_ten():
    assert [report.times(r) for r in (5.43, 9.94, 10.0, 617.4)] == ["5.4x", "9.9x", "10x", "617x"]


def test_a_table_aligns_its_columns_as_asked():
    rows = [("form", "best", "note"), ("scalar", "12.4 ms", "slow"), ("vector", "32 us", "")]
    assert report.table(rows).splitlines() == [
        "  form       best  note",
        "  scalar  12.4 ms  slow",
        "  vector    32 us",
    ]
    assert report.table(rows, "<<<", indent=4).splitlines()[1] == "    scalar  12.4 ms  slow"

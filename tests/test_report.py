"""report.py: the helpers that word every message, each at the edges of its rules."""

import pytest

import report


def test_a_value_of_max_quoted_characters_is_quoted_whole_and_one_more_is_cut():
    most = "a" * report.MAX_QUOTED
    assert report.quoted(most) == repr(most)
    cut = report.quoted(most + "b")
    assert cut == repr(most) + f"... ({report.MAX_QUOTED + 1:,} in all)"
    assert report.quoted(memoryview(b"x\ny")) == repr(b"x\ny")  # a view of a file's bytes
    assert report.quoted("abc", length=10**6, limit=3) == "'abc'... (1,000,000 in all)"


def test_quoted_values_cannot_act_on_a_terminal():
    text = report.quoted("\x1b[2J\r\u202eevil\n")
    assert text.isprintable() and "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize(
    "n, text", [(0, "0 images"), (1, "1 image"), (2, "2 images"), (1000, "1,000 images")]
)
def test_a_count_says_its_noun_in_the_number_it_needs(n, text):
    assert report.count(n, "image") == text


@pytest.mark.parametrize(
    "s, text",
    [
        (1.0, "1.0 s"),
        (0.99949, "999 ms"),
        (0.001, "1.0 ms"),
        (0.000999, "999 us"),
        (0.0123, "12.3 ms"),
        (99.94, "99.9 s"),
        (150.0, "150 s"),
        (5e-10, "0.5 ns"),
    ],
)
def test_a_duration_is_written_in_the_unit_that_suits_it(s, text):
    assert report.seconds(s) == text


def test_a_table_aligns_the_first_column_left_and_the_rest_right():
    text = report.table([("form", "best"), ("scalar", "12.4 ms"), ("vector", "32 us")])
    assert text.splitlines() == [
        "  form       best",
        "  scalar  12.4 ms",
        "  vector    32 us",
    ]


def test_the_timing_section_says_busy_where_the_spread_is_over_the_limit():
    def form(best, median):
        return {"calls_per_repeat": 1, "repeats": 3, "best": best, "median": median}

    rows = [
        {"batch_size": n, "speedup": 100.0 * n, "spread": spread, "steady": spread <= 1.5}
        | {"scalar": form(1e-3 * n, 1e-3 * n * spread), "vector": form(1e-5, 1e-5)}
        for n, spread in ((1, 1.0), (2, 1.6))
    ]
    result = {"clock": "CPU", "busy_spread": 1.5, "max_difference": 0.0}
    result |= {"difference_batch_size": 1, "by_batch_size": rows}
    text = report.timing(result, "results/layer_in_timing.png")
    assert "  1: 100x  2: busy\n" in text and "  1: 1.00  2: 1.60\n" in text
    assert "while batch size 2 was timed" in text and "a spread over 1.5)" in text
    assert "CPU time per call (best)" in text

"""run_support/timing.py: warm-up, sizing and repeats, with a fake clock; and its clock."""

import importlib
import subprocess
import sys
import time
import types

import pytest
from conftest import ROOT

from run_support import timing


def fake(call_seconds):
    """fn and a clock for per_call: each call of fn takes the next of call_seconds."""
    now, durations, calls = [0.0], iter(call_seconds), []

    def fn():
        calls.append(1)
        now[0] += next(durations)

    return fn, lambda: now[0], calls


def test_a_quick_call_is_warmed_up_sized_and_repeated():
    warm = timing.MIN_REPEAT_SECONDS / 4  # 4 warm calls make a repeat
    fn, clock, calls = fake([2 * warm, warm] + [warm] * 4 * timing.REPEATS)
    t = timing.per_call(fn, clock)
    assert (t["calls_per_repeat"], t["repeats"], len(calls)) == (
        4,
        timing.REPEATS,
        2 + 4 * timing.REPEATS,
    )
    assert t["best"] == pytest.approx(warm) and t["median"] == pytest.approx(warm)


def test_the_best_is_the_least_repeat_and_the_median_the_middle_one_in_any_order():
    slow = timing.SLOW_CALL
    fn, clock, _ = fake([slow] + [3 * slow, slow, 2 * slow])  # the repeats out of order
    t = timing.per_call(fn, clock)
    assert (t["calls_per_repeat"], t["repeats"]) == (1, timing.SLOW_REPEATS)
    assert (t["best"], t["median"]) == (pytest.approx(slow), pytest.approx(2 * slow))


def test_a_call_just_quicker_than_slow_call_is_repeated_five_times():
    fn, clock, calls = fake([timing.SLOW_CALL * 0.99] * 7)
    assert timing.per_call(fn, clock)["repeats"] == timing.REPEATS and len(calls) == 7


@pytest.mark.parametrize("expected, calls", [(1.0, 3), (0.99, 7)])
def test_a_call_expected_to_be_slow_needs_no_warm_up(expected, calls):
    """Timed before at a smaller size, a form expected to take SLOW_CALL is warm and needs
    no sizing: three repeats of one call; one expected to be quicker is warmed up."""
    fn, clock, done = fake([timing.SLOW_CALL * 0.99] * 10)
    t = timing.per_call(fn, clock, expected=expected * timing.SLOW_CALL)
    assert len(done) == calls and t["calls_per_repeat"] == 1


@pytest.mark.parametrize(
    "resolution, clock, name",
    [(1e-6, time.process_time, "CPU"), (1.01e-6, time.perf_counter, "wall")],
)
def test_the_clock_is_cpu_time_where_it_is_fine_grained(resolution, clock, name, monkeypatch):
    """CPU time, which a busy machine's other processes do not add to; wall time only where
    the CPU clock is coarse (Windows: 16 ms)."""
    real = time.get_clock_info

    def coarse(clock_name):  # the CPU clock's resolution as given
        info = types.SimpleNamespace(resolution=resolution)
        return info if clock_name == "process_time" else real(clock_name)

    monkeypatch.setattr(time, "get_clock_info", coarse)
    try:
        assert (importlib.reload(timing).CLOCK, timing.CLOCK_NAME) == (clock, name)
    finally:
        monkeypatch.undo()
        importlib.reload(timing)


def test_waiting_is_not_spending():
    """A fresh process sleeps: no BLAS thread of this one spins and counts meanwhile."""
    if timing.CLOCK_NAME == "CPU":
        code = "import time; from run_support import timing; start = timing.CLOCK(); "
        code += "time.sleep(0.2); print(timing.CLOCK() - start)"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0 and float(done.stdout) < 0.1, done

"""timing.py: warm-up, sizing and repeats, checked with a fake clock; and its clock."""

import subprocess
import sys
import time

import pytest
from conftest import ROOT

import timing


def fake_clock(call_seconds, fn_calls):
    """A clock for time_per_call: each call of fn takes the next of call_seconds."""
    now, durations = [0.0], iter(call_seconds)

    def fn():
        fn_calls.append(1)
        now[0] += next(durations)

    return fn, lambda: now[0]


def test_a_fast_form_is_warmed_up_sized_and_repeated():
    calls, warm = [], timing.MIN_REPEAT_SECONDS / 4
    # cold, then warm: 4 warm calls make a repeat of MIN_REPEAT_SECONDS; REPEATS repeats
    fn, clock = fake_clock([2 * warm, warm] + [warm] * 4 * timing.REPEATS, calls)
    t = timing.per_call(fn, clock)
    assert (t["calls_per_repeat"], t["repeats"]) == (4, timing.REPEATS)
    assert len(calls) == 2 + 4 * timing.REPEATS
    assert t["best"] == pytest.approx(warm) and t["median"] == pytest.approx(warm)


def test_a_call_of_slow_call_needs_no_sizing_and_three_repeats():
    calls, slow = [], timing.SLOW_CALL
    fn, clock = fake_clock([slow] + [slow, 2 * slow, 3 * slow], calls)
    t = timing.per_call(fn, clock)
    assert (t["calls_per_repeat"], t["repeats"], len(calls)) == (1, 3, 4)
    assert (t["best"], t["median"]) == (pytest.approx(slow), pytest.approx(2 * slow))
    calls.clear()
    fn, clock = fake_clock([slow * 0.99] * 7, calls)
    assert timing.per_call(fn, clock)["repeats"] == 5 and len(calls) == 7


@pytest.mark.parametrize("expected, calls", [(1.0, 3), (0.99, 7)])
def test_a_form_expected_to_be_slow_needs_no_warming_up(expected, calls):
    """Timed before at a smaller size, a form expected to take SLOW_CALL a call is warm and
    needs no sizing: three repeats of one call; one expected to be quicker is warmed up."""
    done, call = [], timing.SLOW_CALL * 0.99
    fn, clock = fake_clock([call] * 10, done)
    t = timing.per_call(fn, clock, expected=expected * timing.SLOW_CALL)
    assert len(done) == calls and t["calls_per_repeat"] == 1
    assert t["repeats"] == (3 if calls == 3 else 5) and t["best"] == pytest.approx(call)


def test_the_clock_is_the_processes_cpu_time_where_it_is_fine_grained():
    """CPU time, which a busy machine's other processes do not add to; wall time only
    where the CPU clock is coarse (Windows)."""
    fine = time.get_clock_info("process_time").resolution <= 1e-6
    assert (timing.CLOCK, timing.CLOCK_NAME) == (
        (time.process_time, "CPU") if fine else (time.perf_counter, "wall")
    )
    if fine:  # waiting is not spending; a fresh process, with no library's threads in it
        code = (
            f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); import timing; "
            "start = timing.CLOCK(); time.sleep(0.2); print(timing.CLOCK() - start)"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0 and float(done.stdout) < 0.1, done

"""Timing a call the way the run times Layer_in: per_call(fn) gives fn()'s seconds per call.

Generic, after CS231n's gradient_check: it takes any function of no arguments and knows
nothing of the network. What it does for a number to hold:

- a first call warms up (caches, memory, a library's threads), a second, warm, sizes the
  repeats: each repeat calls fn often enough to last MIN_REPEAT_SECONDS, so that the
  clock's resolution does not matter;
- REPEATS repeats, the best and the median reported: the best is the figure, the median
  against the best says how steady the machine was (BUSY_SPREAD);
- a call of SLOW_CALL or more needs no sizing and fewer repeats, nor a warm-up where it
  is expected to be that slow (the caller timed the same code before, on less data);
- the clock is the CPU time the process spends, so that a call that waits for a core on a
  busy machine is not charged for the wait (wall time inflates a slow call, which the
  scheduler interrupts, far more than a quick one). Where that clock is coarse (Windows:
  16 ms), wall time; CLOCK_NAME says which.

Left out on purpose: statistics beyond best and median, and any timing of more than one
thread's work (the run keeps NumPy's linear algebra on one thread).
"""

import math
import time
import timeit

MIN_REPEAT_SECONDS = 0.001  # each repeat calls fn often enough to last this long
REPEATS, SLOW_REPEATS, SLOW_CALL = 5, 3, 0.003  # fewer repeats of calls of 3 ms or more
BUSY_SPREAD = 1.5  # a median call this much slower than the best: the machine was busy

CPU_CLOCK = time.get_clock_info("process_time").resolution <= 1e-6
CLOCK, CLOCK_NAME = (time.process_time, "CPU") if CPU_CLOCK else (time.perf_counter, "wall")


def per_call(fn, clock=CLOCK, expected=None):
    """fn() timed by timeit: warmed up, the repeats sized, then repeated.

    expected: the seconds a call is expected to take, from the same code timed before,
    or None. Returns seconds per call: {"calls_per_repeat", "repeats", "best", "median"}.
    """
    timer = timeit.Timer(fn, timer=clock)
    one = expected if expected is not None and expected >= SLOW_CALL else timer.timeit(1)
    if one < SLOW_CALL:
        one = timer.timeit(1)  # warm
    calls = max(1, math.ceil(MIN_REPEAT_SECONDS / max(one, 1e-9)))
    repeats = SLOW_REPEATS if one >= SLOW_CALL else REPEATS
    seconds = sorted(total / calls for total in timer.repeat(repeats, calls))
    return {
        "calls_per_repeat": calls,
        "repeats": repeats,
        "best": seconds[0],
        "median": seconds[len(seconds) // 2],
    }

"""per_call(fn): fn()'s seconds a call, by timeit, for any function of no arguments. A first
call warms up and a second sizes the repeats to MIN_REPEAT_SECONDS each (the clock's
resolution then does not matter); a call of SLOW_CALL or more needs no sizing, fewer repeats,
and no warm-up if the caller expects it (it timed the same code on less data). The best repeat
is the figure, the median against it how busy the machine was. The clock is the process's CPU
time, which a wait for a core does not add to (wall time where it is coarse: CLOCK_NAME)."""

import math
import time
import timeit

MIN_REPEAT_SECONDS = 0.001  # each repeat calls fn often enough to last this long
REPEATS, SLOW_REPEATS, SLOW_CALL = 5, 3, 0.003  # fewer repeats of calls of 3 ms or more
BUSY_SPREAD = 1.5  # a median repeat this much slower than the best: the machine was busy
CPU_CLOCK = time.get_clock_info("process_time").resolution <= 1e-6
CLOCK, CLOCK_NAME = (time.process_time, "CPU") if CPU_CLOCK else (time.perf_counter, "wall")


def per_call(fn, clock=CLOCK, expected=None):
    """fn() timed by timeit: warmed up, the repeats sized, then repeated. expected: the
    seconds a call is expected to take, or None. Returns seconds a call: {"calls_per_repeat",
    "repeats", "best", "median"}."""
    timer = timeit.Timer(fn, timer=clock)
    one = expected if expected is not None and expected >= SLOW_CALL else timer.timeit(1)
    if one < SLOW_CALL:
        one = timer.timeit(1)  # warm
    calls = max(1, math.ceil(MIN_REPEAT_SECONDS / max(one, 1e-9)))
    repeats = SLOW_REPEATS if one >= SLOW_CALL else REPEATS
    seconds = sorted(total / calls for total in timer.repeat(repeats, calls))
    best, median = seconds[0], seconds[len(seconds) // 2]
    return {"calls_per_repeat": calls, "repeats": repeats, "best": best, "median": median}

"""How fast is the homework run, and how close is the training loop to its matrix products?

Run from the project root:

    python tools/benchmark.py

It measures, on this machine:
1. the whole default run, `python train_autoenc_lite.py`, as a user starts it (wall time);
2. the training loop of that run (1000 updates on batches of 20), per update;
3. the nine matrix products one update needs, alone, on arrays of the same shapes
   (four in the forward pass, five in backprop), per update.
The ratio of 2 to 3 is what the loop costs beyond its arithmetic: NumPy's overhead per
call, the elementwise steps, the batch draw and the SGD step.

Timings are the best of several repeats (and their median), since a shared machine only
ever adds time. Nothing here is asserted; it reports.
"""

import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import train_autoenc_lite as program  # noqa: E402
import utils  # noqa: E402

REPEATS = 5


def best_and_median(times):
    return min(times), float(np.median(times))


def whole_run():
    """Wall time of the default run in a fresh process, results in a temporary folder."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(REPEATS):
            start = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "train_autoenc_lite.py"), "--out", folder],
                           check=True, capture_output=True)  # fmt: skip
            times.append(time.perf_counter() - start)
    return best_and_median(times)


def training_loop(steps=1000, batch_size=20):
    """Seconds per update of program.train on the shipped training images."""
    x_train = program.to_batch(utils.load_images(ROOT / "images_train.pickle"))
    times = []
    for _ in range(REPEATS):
        rng = np.random.default_rng(0)
        params = utils.init(rng)
        start = time.perf_counter()
        program.train(params, x_train, steps, batch_size, 0.001, rng)
        times.append((time.perf_counter() - start) / steps)
    return best_and_median(times)


def matrix_products(steps=1000, n=20):
    """Seconds per update of the nine matrix products of one update, and nothing else."""
    rng = np.random.default_rng(0)
    x, d_a_out = rng.random((n, 225)), rng.random((n, 225))
    z_in, x_reduce, z_sum, d_a_link, d_a_rec, d_a_in = (rng.random((n, 75)) for _ in range(6))
    w_in, w_out = rng.random((75, 225)), rng.random((225, 75))
    w_rec, w_link = rng.random((75, 75)), rng.random((75, 75))
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(steps):
            x @ w_in.T  # a_in
            z_in @ w_rec.T  # a_rec
            x_reduce @ w_link.T  # a_link
            z_sum @ w_out.T  # a_out
            d_a_out.T @ z_sum  # d_w_out
            d_a_out @ w_out  # d_z_sum
            d_a_link.T @ x_reduce  # d_w_link
            d_a_rec @ w_rec  # d_z_in
            d_a_in.T @ x  # d_w_in
        times.append((time.perf_counter() - start) / steps)
    return best_and_median(times)


def main():
    us = 1e6
    run_best, run_median = whole_run()
    loop_best, loop_median = training_loop()
    mm_best, mm_median = matrix_products()
    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}, best and median of {REPEATS} repeats")
    print(f"  whole default run (fresh process)     {run_best:8.2f} s    {run_median:8.2f} s")
    print(f"  training loop, per update             {loop_best * us:8.1f} us   {loop_median * us:8.1f} us")
    print(f"  its 9 matrix products, per update     {mm_best * us:8.1f} us   {mm_median * us:8.1f} us")
    print(f"  loop / products                       {loop_best / mm_best:8.2f}      {loop_median / mm_median:8.2f}")


if __name__ == "__main__":
    main()

"""How fast is the homework run, where does its time go, and what does safe loading cost?

Run from the project root:

    python tools/benchmark.py

It measures, on this machine, best and median of REPEATS:
1. the whole default run, `python train_autoenc_lite.py`, as a user starts it (wall
   time, which includes starting Python and importing NumPy and Matplotlib), and the
   parts of it that the run itself records in results.json ("seconds"); then again with
   NumPy's linear algebra on as many threads as there are cores, which the program
   leaves to the user when OPENBLAS_NUM_THREADS (or the like) is set;
2. the training loop (1000 updates on batches of 20), per update, against the nine
   matrix products one update needs (four in the forward pass, five in backprop): the
   ratio is what the loop costs beyond its arithmetic;
3. reading the shipped training file with image_files.load_images against plain
   pickle.load, which runs whatever a file asks and checks nothing.

Two options:

    python tools/benchmark.py --against ../before   # another checkout, side by side
    python tools/benchmark.py --busy 2              # with 2 busy processes beside it

--against runs the default run of this checkout and of another one (made, say, with
`git worktree add ../before <commit>`) in turn, REPEATS times each, so that whatever else
the machine does falls on both alike, and prints the ratio of their medians. --busy keeps
that many processes spinning on the CPU during the whole runs, to see what the run's
Layer_in timing says on a busy machine.

A shared machine only ever adds time, so the best of the repeats is the figure to read;
nothing here is asserted.
"""

import argparse
import contextlib
import json
import os
import pathlib
import pickle
import subprocess
import sys
import tempfile
import time
import timeit

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import train_autoenc_lite as program  # noqa: E402
import utils  # noqa: E402
from run_support import image_files  # noqa: E402

REPEATS = 5
TRAIN_FILE = ROOT / "images_train.pickle"


def best_and_median(times):
    return min(times), float(np.median(times))


def whole_runs(env=None, roots=(ROOT,)):
    """Wall time of the default run of each checkout in roots, in a fresh process, taken
    in turn REPEATS times, and the parts each run records: [(walls, parts)] by root."""
    runs = [([], []) for _ in roots]
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(REPEATS):
            for root, (walls, parts) in zip(roots, runs):
                script = pathlib.Path(root) / "train_autoenc_lite.py"
                start = time.perf_counter()
                run = [sys.executable, str(script), "--out", folder]
                subprocess.run(run, check=True, capture_output=True, env=env, cwd=root)
                walls.append(time.perf_counter() - start)
                results = json.loads((pathlib.Path(folder) / "results.json").read_text())
                parts.append(results["seconds"])
                parts[-1]["speedups"] = " ".join(  # older checkouts record no "steady"
                    f"{r['batch_size']}:{r['speedup']:.0f}x{'' if r.get('steady', 1) else '(busy)'}"
                    for r in results["timing"]["by_batch_size"]
                )
    return runs


@contextlib.contextmanager
def busy(processes):
    """That many processes spinning on the CPU while the block runs."""
    spinning = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        time.sleep(0.5 if spinning else 0)  # let them start
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()


def training_loop(steps=1000, batch_size=20):
    """Seconds per update of program.train on the shipped training images."""
    x_train = program.to_batch(image_files.load_images(TRAIN_FILE))
    times = []
    for _ in range(REPEATS):
        rng = np.random.default_rng(0)
        params = utils.init(rng)
        start = time.perf_counter()
        program.train(params, x_train, steps, batch_size, 0.001, rng)
        times.append((time.perf_counter() - start) / steps)
    return times


def matrix_products(steps=1000, n=20):
    """Seconds per update of the nine matrix products of one update, and nothing else."""
    rng = np.random.default_rng(0)
    x, d_a_out = rng.random((n, 225)), rng.random((n, 225))
    z_in, x_reduce, z_sum, d_a_link, d_a_rec, d_a_in = (rng.random((n, 75)) for _ in range(6))
    w_in, w_out = rng.random((75, 225)), rng.random((225, 75))
    w_rec, w_link = rng.random((75, 75)), rng.random((75, 75))

    def one_update():
        x @ w_in.T  # a_in
        z_in @ w_rec.T  # a_rec
        x_reduce @ w_link.T  # a_link
        z_sum @ w_out.T  # a_out
        d_a_out.T @ z_sum  # d_w_out
        d_a_out @ w_out  # d_z_sum
        d_a_link.T @ x_reduce  # d_w_link
        d_a_rec @ w_rec  # d_z_in
        d_a_in.T @ x  # d_w_in

    return [t / steps for t in timeit.Timer(one_update).repeat(REPEATS, steps)]


def loading(number=50):
    """Seconds per read of the training file: load_images against pickle.load."""

    def plain():
        with open(TRAIN_FILE, "rb") as f:
            return pickle.load(f)

    safe = timeit.Timer(lambda: image_files.load_images(TRAIN_FILE)).repeat(REPEATS, number)
    unsafe = timeit.Timer(plain).repeat(REPEATS, number)
    return [t / number for t in safe], [t / number for t in unsafe]


def row(label, times, scale, unit):
    best, median = best_and_median(times)
    return f"  {label:<44} {best * scale:9.2f} {unit:<3} {median * scale:9.2f} {unit}"


def side_by_side(other, processes):
    """The default run of this checkout and of another, in turn."""
    with busy(processes):
        (walls, parts), (their_walls, their_parts) = whole_runs(roots=(ROOT, other))
    print(row("whole default run, this checkout", walls, 1, "s"))
    print(row(f"whole default run, {other}", their_walls, 1, "s"))
    ratio = best_and_median(walls)[1] / best_and_median(their_walls)[1]
    print(f"  {'this / that, medians':<44} {ratio:9.3f}")
    for mine, theirs in zip(parts, their_parts):
        print(f"  speed-ups, this: {mine['speedups']}\n             that: {theirs['speedups']}")
    for part in parts[0]:
        if part not in ("speedups", "total") and part in their_parts[0]:
            print(row(f"  {part.replace('_', ' ')}: this", [p[part] for p in parts], 1, "s"))
            print(row("  and that", [p[part] for p in their_parts], 1, "s"))


def main():
    parser = argparse.ArgumentParser(description="How fast is the homework run?")
    parser.add_argument("--against", metavar="FOLDER", help="another checkout, side by side")
    parser.add_argument("--busy", type=int, default=0, metavar="N", help="N busy processes")
    args = parser.parse_args()
    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}; best and median of {REPEATS}")
    if args.against:
        return side_by_side(pathlib.Path(args.against).resolve(), args.busy)
    with busy(args.busy):
        [(walls, parts)] = whole_runs()
    print(row(f"whole default run, {args.busy} busy processes beside it", walls, 1, "s"))
    for p in parts:
        print("  speed-ups:", p["speedups"])
    for part in parts[0]:  # what the run records of itself, after Python and the imports
        if part == "speedups":
            continue
        label = (
            "  the run's own count" if part == "total" else f"  of which {part.replace('_', ' ')}"
        )
        print(row(label, [p[part] for p in parts], 1, "s"))
    threads = str(os.cpu_count() or 1)
    env = {**os.environ, **{name: threads for name in program.command_line.BLAS_THREADS}}
    with busy(args.busy):
        [(walls, parts)] = whole_runs(env)
    print(row(f"whole default run, BLAS on {threads} threads", walls, 1, "s"))
    for part in ("layer_in_timing", "gradient_check", "training"):
        print(row(f"  of which {part.replace('_', ' ')}", [p[part] for p in parts], 1, "s"))
    for p in parts:
        print("  speed-ups with BLAS on many threads:", p["speedups"])
    loop, products = training_loop(), matrix_products()
    print(row("training loop, per update", loop, 1e6, "us"))
    print(row("its nine matrix products alone, per update", products, 1e6, "us"))
    print(f"  {'loop / products':<44} {min(loop) / min(products):9.2f}")
    safe, unsafe = loading()
    print(row(f"image_files.load_images({TRAIN_FILE.name})", safe, 1e3, "ms"))
    print(row(f"pickle.load({TRAIN_FILE.name}), unchecked", unsafe, 1e3, "ms"))


if __name__ == "__main__":
    main()

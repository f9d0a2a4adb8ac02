"""Make the homework's gift pack from this reference, afresh each time (never kept by hand):

    python tools/make_gift_pack.py FOLDER

FOLDER must be new or empty. It gets the script, run_support/, both image files,
requirements.txt, the kit (tests/conftest.py, tests/test_math.py), a README.md for students,
and utils.py with a slot for each function that answers a homework item: its signature and
docstring kept, its body one `raise NotImplementedError` that names the item. The items
are the kit's rubric (tests/conftest.py); the same reference gives the same pack, byte for
byte. Standard library only.
"""

import argparse
import ast
import importlib.util
import os
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from run_support.command_line import OneLineParser  # noqa: E402
from run_support.report import quoted  # noqa: E402

COPIED = [
    "train_autoenc_lite.py",
    "images_train.pickle",
    "images_test.pickle",
    "requirements.txt",
    "tests/conftest.py",
    "tests/test_math.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "run_support").glob("*.py")),
]


def rubric():
    """The kit's rubric, from the kit itself: {item: (name, points, function)}."""
    spec = importlib.util.spec_from_file_location("kit", ROOT / "tests" / "conftest.py")
    kit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kit)
    return kit.RUBRIC


def slots():
    """{function: (item, name)}: each function to write, and the item it answers."""
    found = {function: (item, name) for item, (name, _, function) in rubric().items()}
    return {**found, "xavier_uniform": found["init"]}  # init's Xavier draw: 2.1 too


def slotted(source, to_write):
    """source with the body of each top-level function named in to_write ({function: (item,
    name)}) replaced by one raise naming its item; signature and docstring kept."""
    lines = source.splitlines(keepends=True)
    functions = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    for node in sorted((n for n in functions if n.name in to_write), key=lambda n: -n.lineno):
        item, name = to_write[node.name]
        docstring = node.body[0]  # every function of utils.py has one
        said = f"utils.{node.name} (homework item {item}, {name}) is still to be written"
        indent = " " * docstring.col_offset
        lines[docstring.end_lineno : node.end_lineno] = [
            f'{indent}raise NotImplementedError(\n{indent}    "{said}"\n{indent})\n'
        ]
    return "".join(lines)


README = """# AutoEncNetLite: Homework II

"Introduction to Deep Learning", Homework II: a small feedforward autoencoder for 15 x 15
gray images, trained by SGD with backpropagation you write by hand in plain NumPy. The
network, its equations and every function's shapes are in `utils.py`: each function you
write there is a slot, its docstring kept and its body one `raise NotImplementedError`.

## What to write, and its points

| item | points | what | write in `utils.py` |
| --- | --- | --- | --- |
{rows}
| 2.3.4 | 5 | the learning curve and the test pairs | nothing: the run draws them, graded by eye |

`forward_in_vector` (Layer_in in vector form), `relu` and `reduce3` (1 x 3 average pooling
along each image row) are given whole.

## Set up, check, run

Python 3.9 to 3.15. Once, in this folder:

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt

Check your functions (each item's tests, then a table of points and `score: N of 35`; the
last 5 of 40, item 2.3.4, are graded by eye):

    .venv/bin/python -m pytest tests/test_math.py

Each item is graded on its own, with a network built from the spec's equations, so an item
scores as soon as its function is right. Backprop's tests need `forward` (they pass its
cache on), and SGD lowering the loss needs all of them: the table says which an item waits
for. A test that takes over 10 seconds fails.

Run the homework (on Windows write `.venv\\Scripts\\python`):

    .venv/bin/python train_autoenc_lite.py

While a function is still to be written the run stops at the first one it needs, in one
line that names it and its item. Once all are written it prints Layer_in's timing, scalar
form against vector form (item 2.2.1's report), checks your backprop against central
differences and stops if they disagree, trains (1000 updates, batches of 20, lr 0.001),
and prints the progress and a summary. Into `results/` it writes `learning_curve.png` and
`test_pairs.png` (item 2.3.4), `weights.png`, `layer_in_timing.png`, `results.json` and
`weights.npz`. `-h` lists its flags.
"""


def folder(text):
    """An argparse type: a folder that is new or empty (nothing in it is ever touched)."""
    path = pathlib.Path(text)
    if not text:
        raise argparse.ArgumentTypeError("an empty path")
    if os.path.lexists(path) and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{quoted(text)} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not empty; name a new or empty one")
    return path


def make(out):
    """The gift pack into out, a new or empty folder."""
    for name in COPIED:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, out / name)
    source = (ROOT / "utils.py").read_text(encoding="utf-8")
    (out / "utils.py").write_text(slotted(source, slots()), encoding="utf-8")
    to_write = {}  # item: its slots, the rubric's function first
    for function, (item, _) in slots().items():
        to_write.setdefault(item, []).append(f"`{function}`")
    rows = [
        f"| {item} | {points} | {name} | {', '.join(to_write[item])} |"
        for item, (name, points, _) in rubric().items()
    ]
    (out / "README.md").write_text(README.format(rows="\n".join(rows)), encoding="utf-8")


def main(argv=None):
    parser = OneLineParser(prog="make_gift_pack.py", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=folder, metavar="FOLDER", help="a new or empty folder")
    out = parser.parse_args(argv).folder
    try:
        make(out)
    except OSError as e:  # a parent that is a file, no permission, no room
        parser.exit(
            2, f"{parser.prog}: error: {quoted(str(out))}: cannot write there ({e.strerror})\n"
        )


if __name__ == "__main__":
    main()

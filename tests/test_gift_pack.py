"""The instructor's loop: tools/make_gift_pack.py makes the homework's pack from this
reference (the same pack, byte for byte, each time), the kit scores any utils.py by the
homework's rubric, each item on its own, whatever a student's function does, and the run on
a pack not yet filled in stops in one line at its first empty slot."""

import ast
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, RUBRIC

spec = importlib.util.spec_from_file_location("make_gift_pack", ROOT / "tools/make_gift_pack.py")
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

REFERENCE = (ROOT / "utils.py").read_text()
TREE = sorted(["README.md", "utils.py", *tool.COPIED])
SLOTS = tool.slots()
ITEMS = list(RUBRIC)  # in the homework's order
FUNCTIONS = [function for _, _, function in RUBRIC.values()]


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def functions(source):
    nodes = ast.parse(source).body
    return {n.name: n for n in nodes if isinstance(n, ast.FunctionDef)}


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dl-hw2 gift-pack") / "pack"
    done = subprocess.run([sys.executable, ROOT / "tools/make_gift_pack.py", folder], text=True)
    assert done.returncode == 0
    return folder


def test_the_pack_holds_the_run_the_kit_the_images_and_a_slotted_utils(pack, tmp_path):
    assert tree(pack) == TREE
    for name in tool.COPIED:
        assert (pack / name).read_bytes() == (ROOT / name).read_bytes(), name
    tool.make(tmp_path)  # made again: the same, byte for byte
    assert all((tmp_path / n).read_bytes() == (pack / n).read_bytes() for n in TREE)
    slotted, whole = functions((pack / "utils.py").read_text()), functions(REFERENCE)
    assert list(slotted) == list(whole) and "NotImplementedError" not in REFERENCE
    for name, node in slotted.items():
        assert ast.dump(node.args) == ast.dump(whole[name].args)  # the signature kept
        assert ast.get_docstring(node) == ast.get_docstring(whole[name]), name
        if name in SLOTS:
            item, what = SLOTS[name]
            [raised] = node.body[1:]
            said = f"utils.{name} (homework item {item}, {what}) is still to be written"
            assert ast.literal_eval(raised.exc.args[0]) == said
        else:  # given whole: forward_in_vector, relu, reduce3
            assert ast.dump(node) == ast.dump(whole[name]), name
    assert set(SLOTS) == {"xavier_uniform", *FUNCTIONS}


def test_the_students_readme_gives_each_item_its_points_function_and_commands(pack):
    text = (pack / "README.md").read_text()
    for item, (name, points, function) in RUBRIC.items():
        also = ", `xavier_uniform`" if function == "init" else ""  # init's Xavier draw
        assert f"| {item} | {points} | {name} | `{function}`{also} |" in text
    assert "| 2.3.4 | 5 | the learning curve and the test pairs |" in text
    for command in ("-m pytest tests/test_math.py", "python train_autoenc_lite.py"):
        assert command in text
    assert "`learning_curve.png`" in text and "`test_pairs.png`" in text
    assert sum(points for _, points, _ in RUBRIC.values()) == 35


@pytest.mark.parametrize("kind", ["a file in it", "a file", "an empty path", "a link"])
def test_a_folder_that_is_not_new_or_empty_is_refused_in_one_line_and_left_alone(kind, tmp_path):
    target = tmp_path / "out"
    if kind == "a file in it":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif kind == "a file":
        target.write_text("mine")
    elif kind == "a link":
        target.symlink_to(tmp_path / "nowhere")
    before = tree(tmp_path)
    argv = [sys.executable, ROOT / "tools/make_gift_pack.py", "" if "empty" in kind else target]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr.startswith("make_gift_pack.py: error: argument FOLDER: ")
    assert tree(tmp_path) == before and not (tmp_path / "nowhere").exists()


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("mine")
    done = subprocess.run(
        [sys.executable, ROOT / "tools/make_gift_pack.py", tmp_path / "a_file" / "pack"],
        capture_output=True,
        text=True,
    )
    said = f"make_gift_pack.py: error: {str(tmp_path / 'a_file' / 'pack')!r}: cannot write there"
    assert done.returncode == 2 and done.stderr == f"{said} (Not a directory)\n"


def test_an_empty_folder_is_filled(tmp_path):
    tool.main([str(tmp_path)])
    assert tree(tmp_path) == TREE


# ----------------------------------------------------------------- the kit's score


def student(folder, items=(), changes=()):
    """A utils.py with the functions of `items` written (the reference's) and the rest slots,
    then each (old, new) of changes made."""
    source = tool.slotted(REFERENCE, {f: s for f, s in SLOTS.items() if s[0] not in items})
    for old, new in changes:
        assert old in source, old
        source = source.replace(old, new)
    path = folder / f"utils_{len(list(folder.glob('utils_*')))}.py"
    path.write_text(source)
    return path


def kits(pack, paths, *args):
    """The kit, as `python -m pytest tests/test_math.py` in the pack, on each of paths at
    once; each score as --score-json wrote it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PY_COLORS", "FORCE_COLOR")}
    runs = []
    for path in paths:
        command = [sys.executable, "-m", "pytest", "tests/test_math.py", "-p", "no:cacheprovider"]
        command += ["--utils", path, "--score-json", f"{path}.json", *args]
        runs.append(
            subprocess.Popen(
                command,
                cwd=pack,
                env={**env, "NO_COLOR": "1"},
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outs = [run.communicate(timeout=120)[0] for run in runs]
    return [(json.loads(open(f"{p}.json").read()), out) for p, out in zip(paths, outs)]


def earned(result):
    return {i["function"]: i["earned"] for i in result["items"]}


def test_the_score_climbs_by_each_items_points_as_the_slots_are_filled_in_order(pack, tmp_path):
    paths = [student(tmp_path, ITEMS[:k]) for k in range(len(ITEMS) + 1)]
    assert paths[-1].read_text() == REFERENCE  # all filled: the reference itself
    results = kits(pack, paths)
    totals = [result["earned"] for result, _ in results]
    assert totals == [0, 5, 10, 15, 20, 30, 35]
    waits = {i["function"]: i["waits_for"] for i in results[3][0]["items"]}  # 2.1 to 2.2.2 done
    assert waits["backprop"] == [] and waits["apply_dw"] == ["get_loss", "backprop"]
    table = [
        line.split() for line in results[3][1].splitlines() if line.startswith(("  2.", "score"))
    ]
    rows = {cells[0]: cells for cells in table}
    assert rows["2.3.2"] == ["2.3.2", "backprop", "10", "0", "of", "7", "0"]  # as a grader reads
    assert rows["2.3.3"][1:] == ["apply_dw", "5", "0", "of", "2", "0", "waits", "for"] + [
        "get_loss,",
        "backprop",
    ]
    assert rows["2.2.1"] == ["2.2.1", "forward_in_scalar", "5", "5", "of", "5", "5"]
    assert rows["score:"] == ["score:", "15", "of", "35"]
    reference, out = results[-1]
    assert reference["earned"] == 35 and reference["of"] == 35
    assert [i["item"] for i in reference["items"]] == list(RUBRIC)
    for i in reference["items"]:
        assert (i["name"], i["points"]) == RUBRIC[i["item"]][:2] and i["passed"] == i["tests"] > 0
    lines = out.splitlines()
    assert "score: 35 of 35" in lines and any(line.startswith("graded by eye") for line in lines)
    empty, out = results[0]
    assert all(i["passed"] == 0 and i["earned"] == 0 for i in empty["items"])
    assert empty["utils"] == str(paths[0]) and "still to be written" in out


ALONE = ("2.2.2", "2.3.2", "2.3.3")  # each filled alone; the others alone: as in the climb


def test_each_item_is_graded_on_its_own_and_says_what_it_waits_for(pack, tmp_path):
    paths = [student(tmp_path, [item]) for item in ALONE]
    for item, (result, _) in zip(ALONE, kits(pack, paths)):
        row = next(i for i in result["items"] if i["item"] == item)
        assert sum(earned(result).values()) == row["earned"] == result["earned"]  # it alone
        if item == "2.3.2":  # backprop's tests pass forward's cache on
            assert (row["earned"], row["waits_for"]) == (0, ["forward"])
        elif item == "2.3.3":  # SGD lowering the loss needs every function
            assert (row["passed"], row["tests"], row["earned"]) == (1, 2, 2)
            assert row["waits_for"] == ["init", "forward", "get_loss", "backprop"]
        else:
            assert (row["earned"], row["waits_for"]) == (RUBRIC[item][1], [])


def test_a_students_mistake_fails_its_own_item_and_never_stops_the_grading(pack, tmp_path):
    path = student(
        tmp_path,
        ITEMS,
        [
            ("    return float(np.sum((y - x) ** 2))", "    raise SystemExit(3)"),
            ('    x, y = cache["x"], cache["y"]\n', "    while True:\n        pass\n"),
            ("        params[name] -= lr * dw[name]", "        print(name)"),  # prints, not moves
            (".reshape(len(x_rows), len(w_rows))", ".reshape(len(w_rows), len(x_rows))"),
        ],
    )
    ((result, out),) = kits(pack, [path], "--time-limit", "0.1")
    scores = earned(result)
    assert scores == {
        "init": 5,
        "forward_in_scalar": 0,  # the wrong shape
        "forward": 5,
        "get_loss": 0,
        "backprop": 0,
        "apply_dw": 0,
    }
    assert "took over 0.1 s" in out and "SystemExit: 3" in out


# ------------------------------------------------------------ the run on a pack


def test_the_run_on_a_pack_not_filled_in_stops_at_its_first_empty_slot(pack, tmp_path):
    """In one line that names it, leaving no results folder; a student's bug in a function
    written shows its traceback, where the student looks."""
    cases = {
        "empty": (pack, "utils.init (homework item 2.1, initialisation)"),
        "init written": (student(tmp_path, ITEMS[:1]), "utils.forward_in_scalar (homework item"),
        "a bug": (
            student(tmp_path, ITEMS[:1], [('"w_rec": np.eye(P),', '"w_rec": np.eye(P)[P],')]),
            "",
        ),
    }
    runs = {}
    for case, (utils, _) in cases.items():
        (tmp_path / case).mkdir()
        if case != "empty":
            shutil.copytree(pack, tmp_path / case / "pack")
            shutil.copyfile(utils, tmp_path / case / "pack" / "utils.py")
        script = (pack if case == "empty" else tmp_path / case / "pack") / "train_autoenc_lite.py"
        (tmp_path / case / "work").mkdir()
        runs[case] = subprocess.Popen(
            [sys.executable, script],
            cwd=tmp_path / case / "work",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for case, run in runs.items():
        out, err = run.communicate(timeout=120)
        assert run.returncode == 1 and os.listdir(tmp_path / case / "work") == [], case
        if case == "a bug":
            assert err.startswith("Traceback") and err.endswith(
                "IndexError: index 75 is out of bounds for axis 0 with size 75\n"
            )
        else:
            said = f"train_autoenc_lite.py: error: {cases[case][1]}"
            assert (
                err.startswith(said)
                and err.endswith(" is still to be written\n")
                and err.count("\n") == 1
            )
        assert out.startswith("AutoEncNetLite: 1,000 training images (images_train.pickle)")


def test_every_test_of_the_kit_grades_one_item_of_the_rubric():
    tree = ast.parse((ROOT / "tests" / "test_math.py").read_text())
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    for test in tests:
        marks = [d for d in test.decorator_list if "mark.item" in ast.unparse(d)]
        assert len(marks) == 1 and ast.literal_eval(marks[0].args[0]) in RUBRIC, test.name
    assert len(tests) >= len(RUBRIC)


def test_the_readmes_class_loop_gives_each_folder_its_score(pack, tmp_path):
    """The loop as README.md gives it, run in a copy of the pack on three submissions."""
    readme = (ROOT / "README.md").read_text().splitlines()
    start = readme.index("    for d in submissions/*/; do")
    loop = "\n".join(line[4:] for line in readme[start : readme.index("    done", start) + 1])
    folder = tmp_path / "class"
    shutil.copytree(pack, folder)
    for name, source in [("ann lee", REFERENCE), ("bo-x", (pack / "utils.py").read_text())]:
        (folder / "submissions" / name).mkdir(parents=True)
        (folder / "submissions" / name / "utils.py").write_text(source)
    (folder / "submissions" / "cy").mkdir()
    (folder / "submissions" / "cy" / "utils.py").write_text("def init(:\n")
    script = loop.replace(".venv/bin/python", shlex.quote(sys.executable))
    done = subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True, text=True)
    assert done.stdout.splitlines() == [
        "submissions/ann lee/ 35",
        "submissions/bo-x/ 0",
        "submissions/cy/ cannot be scored",
    ]
    assert json.loads((folder / "submissions/ann lee/score.json").read_text())["of"] == 35

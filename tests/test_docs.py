"""The README and docs/ name only what exists: every file, test and function, every link."""

import ast
import re

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MODULES = {p.stem: p for p in [*ROOT.glob("*.py"), *(ROOT / "run_support").glob("*.py")]}
MADE = ("results/", "results.json", "weights.npz", "student/")  # made by a run, or an example


def defined(path):
    """The names of the functions and classes a Python file defines, at any depth."""
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


TESTS = set().union(*(defined(p) for p in (ROOT / "tests").glob("test_*.py")))


def missing(text, folder):
    """What a page names in `code` or links to that does not exist: a file (from the
    project's folder, the page's, or run_support/), a test, a module's function."""
    gone = []
    for name in (n.rstrip(",.") for n in re.findall(r"`([^`\s]+)`", text)):
        if re.fullmatch(r"test_\w+", name):
            gone += [name] * (name not in TESTS)
        elif re.fullmatch(r"[\w./-]+\.(py|md|png|pickle|txt|toml)", name) and not name.startswith(
            MADE
        ):
            places = [
                ROOT / name,
                folder / name,
                *(ROOT / d / name for d in ("run_support", "tests")),
            ]
            gone += [name] * (not any(p.exists() for p in places))
        elif re.fullmatch(r"\w+\.\w+", name) and name.split(".")[0] in MODULES:
            module, function = name.split(".")
            gone += [name] * (function not in defined(MODULES[module]) and not function.isupper())
    return gone + [
        link for link in re.findall(r"\]\(([^)#]+)\)", text) if not (folder / link).exists()
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_test_and_function_a_page_names_exists(page):
    assert missing(page.read_text(), page.parent) == []


def test_the_check_finds_each_kind_of_name_that_is_not_there():
    page = (
        "`README.md` `tests/nope.py` `test_run.py` `test_nothing` `utils.backprop` `utils.nothing`"
    )
    page += " `report.MAX_PATH` [here](docs/speed.md) [gone](docs/gone.md) `results/weights.png`"
    assert missing(page, ROOT) == ["tests/nope.py", "test_nothing", "utils.nothing", "docs/gone.md"]

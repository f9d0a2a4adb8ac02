"""The gradient-check kit, `python -m pytest tests/test_math.py --utils PATH`, run as an
instructor runs it on a student's utils.py: it passes a correct one whatever its inner
names, fails a wrong one, needs no Matplotlib, and a bad PATH is a one-line usage error."""

import os
import subprocess
import sys
import types

import conftest
import pytest
from conftest import ROOT

KIT = (
    "import sys, pytest\n"
    "status = pytest.main([{math!r}, '-q', '-x', '-p', 'no:cacheprovider', *sys.argv[1:]])\n"
    "print('matplotlib loaded:', 'matplotlib' in sys.modules)\n"
    "sys.exit(status)\n"
)


def kit(*args, cwd):
    """The kit in a fresh process, in plain text whatever colour the environment asks for."""
    code = KIT.format(math=str(ROOT / "tests" / "test_math.py"))
    env = {k: v for k, v in os.environ.items() if k not in ("PY_COLORS", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def student(tmp_path, *changes):
    """The project's utils.py with each (old, new) of changes made once, as tmp_path/name."""
    source = (ROOT / "utils.py").read_text()
    for old, new in changes:
        assert old in source, old
        source = source.replace(old, new)
    path = tmp_path / "student_utils.py"
    path.write_text(source)
    return path


def test_a_correct_utils_with_other_inner_names_passes_the_kit_without_matplotlib(tmp_path):
    renamed = [(f'"{key}"', f'"{key}_kept"') for key in ("z_in", "z_rec", "x_reduce", "z_sum")]
    path = student(
        tmp_path,
        *renamed,
        ("TRAINED = (", "TRAINABLE = ("),
        ("for name in TRAINED:", "for name in TRAINABLE:"),
    )
    done = kit("--utils", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert " passed" in done.stdout and "matplotlib loaded: False" in done.stdout


@pytest.mark.parametrize(
    "change",
    [
        (
            'd_z_in = d_a_rec @ params["w_rec"]',
            'd_z_in = d_a_rec @ params["w_rec"].T',
        ),  # the run cannot see it: w_rec = I
        (
            'd_a_rec = d_z_rec * (cache["z_rec"] > 0)',
            "d_a_rec = d_z_rec",
        ),  # Layer_rec's ReLU forgotten
    ],
)
def test_a_wrong_utils_fails_the_kit(change, tmp_path):
    done = kit(
        "--utils", str(student(tmp_path, change)), "-k", "gradient_of_the_loss", cwd=tmp_path
    )
    assert done.returncode == 1 and "test_backprop_is_the_gradient_of_the_loss" in done.stdout, (
        done.stdout[-2000:]
    )


@pytest.mark.parametrize(
    "make, said",
    [
        (None, "--utils {path}: no such file"),
        ("def init(:\n", "--utils {path}: cannot be loaded (SyntaxError: "),
        ("raise SystemExit(3)\n", "--utils {path}: cannot be loaded (SystemExit: 3)"),
        (
            "def init(): pass\n",
            "--utils {path}: has no forward_in_scalar, forward_in_vector, forward, ",
        ),
    ],
)
def test_a_path_that_cannot_be_checked_is_a_usage_error(make, said, tmp_path):
    path = tmp_path / "utils.py"
    if make:
        path.write_text(make)
    config = types.SimpleNamespace(getoption=lambda name: str(path), addinivalue_line=print)
    with pytest.raises(pytest.UsageError) as caught:
        conftest.pytest_configure(config)
    assert str(caught.value).startswith(said.format(path=path)) and "\n" not in str(caught.value)


@pytest.mark.parametrize("where", ["nowhere/score.json", "."])
def test_a_score_json_that_cannot_be_written_is_a_usage_error_before_any_test(where, tmp_path):
    done = kit("--score-json", where, cwd=tmp_path)
    said = f"ERROR: --score-json {where}: cannot be written there"
    assert (done.returncode, done.stderr.strip()) == (4, said) and " passed" not in done.stdout


def test_a_usage_error_is_one_line_and_status_4(tmp_path):
    done = kit("--utils", str(tmp_path / "nope.py"), cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (
        4,
        f"ERROR: --utils {tmp_path / 'nope.py'}: no such file",
    )

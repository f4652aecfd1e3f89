"""FERLAB_REQUIRE turns a missing system part from skipped tests into one line that fails the
run: tried here with parts that really are absent (a datasets folder that does not exist, a
PATH without Chromium)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ONE_TEST = "tests/test_layers.py::test_no_source_function_is_named_like_a_test"


def pytest_with(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", ONE_TEST],
                          cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_a_required_part_that_is_missing_fails_the_run_in_one_line(tmp_path):
    gone = tmp_path / "no-datasets"
    run = pytest_with(FERLAB_REQUIRE=" datasets ,", FERLAB_DATASETS=str(gone))
    assert run.returncode == 4
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "FERLAB_REQUIRE" in line]
    assert lines == [f"Exit: FERLAB_REQUIRE names datasets, but {gone}/fer2013 is missing, {gone}/ckplus48 is missing"]
    bare_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                if not (Path(p) / "chromium").exists() and not (Path(p) / "chromium-browser").exists())
    run = pytest_with(FERLAB_REQUIRE="chromium", PATH=bare_path)
    assert run.returncode == 4 and "FERLAB_REQUIRE names chromium, but no chromium or chromium-browser on PATH" in run.stdout + run.stderr


def test_an_unknown_part_is_refused_naming_the_known_ones_and_present_parts_run_the_tests(tmp_path):
    run = pytest_with(FERLAB_REQUIRE="postgress")
    assert run.returncode == 4
    assert "FERLAB_REQUIRE names unknown part(s) postgress; known: postgres, chromium, datasets" in run.stdout + run.stderr
    (tmp_path / "fer2013").mkdir()
    (tmp_path / "ckplus48").mkdir()
    run = pytest_with(FERLAB_REQUIRE="datasets", FERLAB_DATASETS=str(tmp_path))
    assert run.returncode == 0 and "1 passed" in run.stdout

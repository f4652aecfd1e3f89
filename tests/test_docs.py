"""The README stays a user's guide: short, free of commit hashes (measured figures and their
commits live in docs/results.md and docs/bench.md), and every `python -m <module>` it tells
a user to run names a module of this repository that imports."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MAX_LINES = 300
# Tools from the dev install that the README runs as modules; everything else must be ours.
THIRD_PARTY_MODULES = {"pytest"}
# 7 to 40 hex digits with at least one digit, so words spelt from a-f ("defaced") are not
# taken for hashes; an all-digit one is (a short hash can be), so write long numbers 1,000,000.
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")


def readme_modules() -> list[str]:
    names = {name.rstrip(".") for name in re.findall(r"python -m ([A-Za-z_][\w.]*)", README)}
    return sorted(names)


def test_readme_is_at_most_300_lines():
    lines = README.count("\n")
    assert lines <= MAX_LINES, f"README.md has {lines} lines; details go to docs/"


def test_readme_names_no_commit_hash():
    hashes = COMMIT_HASH.findall(README)
    assert not hashes, f"README.md names {hashes}: commits belong beside their figures in docs/"


def test_readme_names_some_modules():
    assert {"study.launch", "analysis.report", "pytest"} <= set(readme_modules())


@pytest.mark.parametrize("module", readme_modules())
def test_every_python_m_in_the_readme_is_an_importable_module_of_this_repo(module):
    if module not in THIRD_PARTY_MODULES:
        top = module.split(".")[0]
        assert (ROOT / top).is_dir() or (ROOT / f"{top}.py").is_file(), (
            f"README runs `python -m {module}`, but {top} is not a package of this repo")
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    assert spec is not None, f"README runs `python -m {module}`, which does not import"

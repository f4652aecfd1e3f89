"""A launch on a cluster ships our packages to every node (study.ray_init's py_modules):
a package a trial imports but the launch does not ship is missing on a node that has an
older ferlab installed, or none. `atomic` was."""

import json
import subprocess
import sys

from study.ray_init import SHIPPED_PACKAGES
from tests.test_launch import REPO

TRIAL_ENTRY_POINTS = ("study.trial", "trainables.trials.registry")


def test_every_package_of_ours_a_trial_imports_is_shipped():
    code = ("import importlib, json, sys\n"
            f"for name in {TRIAL_ENTRY_POINTS!r}: importlib.import_module(name)\n"
            "from trainables.trials.registry import FUSED, TRAINABLES\n"
            "for target, *_ in [*TRAINABLES.values(), *FUSED.values()]: importlib.import_module(target.split(':')[0])\n"
            "print(json.dumps(sorted({m.split('.')[0] for m, mod in list(sys.modules.items())\n"
            f"                        if (getattr(mod, '__file__', None) or '').startswith({str(REPO)!r})}})))")
    found = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    ours = set(json.loads(found.stdout))
    assert "trainables" in ours and "study" in ours  # the walk saw the trial's imports
    assert ours <= set(SHIPPED_PACKAGES), f"imported by a trial but not shipped: {sorted(ours - set(SHIPPED_PACKAGES))}"

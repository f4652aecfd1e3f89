"""The driver's torch-free path: a dry run of every study and a launch refused for a bad
trial config answer without importing torch or scikit-learn (trainables.configs holds the
validators, the trainable registry names the training code lazily), and a study that
does not search with Optuna without Ray. Each check runs in a fresh interpreter, the
only place where `sys.modules` says what a command imported."""

import json
import os
import subprocess
import sys
from pathlib import Path

from study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "ray")

_PROBE = """
import contextlib, io, json, sys
from study.launch import main
from study.spec import list_studies
found = []
for argv in json.loads(sys.argv[1]) or [[name, "--dry-run"] for name in list_studies()]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main(argv)
    found.append({"argv": argv, "rc": rc, "stderr": err.getvalue(),
                  "loaded": [m for m in %r if m in sys.modules]})
print(json.dumps(found))
""" % (HEAVY,)


def probe(runs: list[list[str]]) -> list[dict]:
    """Run study.launch's main on each argv in one fresh interpreter (every study's dry
    run when `runs` is empty); per run its exit code, stderr and the heavy modules loaded
    so far."""
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(runs)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_a_dry_run_of_every_study_imports_no_torch():
    runs = probe([])
    assert len(runs) >= 10 and all(run["rc"] == 0 for run in runs), runs
    assert [run for run in runs if "torch" in run["loaded"] or "sklearn" in run["loaded"]] == []
    # Ray only from the first study that searches with Optuna on (its search domains are Ray's)
    first_optuna = next(i for i, run in enumerate(runs) if load_study(run["argv"][0]).search == "optuna")
    assert first_optuna > 0 and [run["argv"][0] for run in runs[:first_optuna] if "ray" in run["loaded"]] == []


def test_a_launch_refused_for_its_trial_config_answers_without_torch_or_ray(tmp_path):
    storage = ["--storage-path", str(tmp_path)]
    unknown, wrong_type = probe([["baseline", "--set", "no_such_key=1", *storage],
                                 ["baseline", "--set", "epochs=abc", *storage]])
    assert unknown["rc"] == wrong_type["rc"] == 2
    assert unknown["stderr"].startswith("error: unknown config key(s) ['no_such_key'] for ClassifierConfig; ")
    assert wrong_type["stderr"] == ("error: config key 'epochs' = 'abc' has the wrong type; "
                                    "expected <class 'int'>\n")
    assert unknown["loaded"] == wrong_type["loaded"] == []

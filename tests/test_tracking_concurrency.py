"""The local default store (SQLite in the working directory) under load: two launches at
once in a folder with no store yet, 4 trials each, so the two make one store together and
8 trials report at the same time through two drivers into that file. Nothing may be lost:
every trial has one FINISHED run, and every metric point Tune recorded for it (its
result.json) is in MLflow."""

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from mlflow import MlflowClient

from tests.test_launch import REPO

TOY = ("cyclegan_toy", "--set", "gan_steps=100", "--set", "report_every=5", "--set", "seed=[0, 1, 2, 3]",
       "--cpus-per-trial", "0.25", "--max-concurrent", "4")


def tune_points(trial_dir) -> Counter:
    """(metric, step) → 1 for every metric of every report Tune wrote for a trial."""
    points = Counter()
    for line in (trial_dir / "result.json").read_text().splitlines():
        result = json.loads(line)
        step = result["training_iteration"] - 1
        points.update((k, step) for k, v in result.items()
                      if "/" in k and isinstance(v, (int, float)) and not isinstance(v, bool))
    return points


def test_two_launches_of_four_trials_into_one_sqlite_store_lose_nothing(tmp_path):
    # Tune's own result.json, off in a launch by default, is the witness here
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "0"}
    launches = [subprocess.Popen([sys.executable, "-m", "study.launch", *TOY, "--name", f"load{i}"], cwd=tmp_path,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for i in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in launches]
    assert [p.returncode for p in launches] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cyclegan_toy").experiment_id
    children = client.search_runs([experiment], "tags.`ferlab.role` = 'trial'")
    assert len(children) == 8
    assert {r.info.status for r in children} == {"FINISHED"}
    by_trial = {r.data.tags["ferlab.trial_id"]: r for r in children}
    assert len(by_trial) == 8  # one run per trial, none doubled
    total = 0
    for i in range(2):
        for trial_dir in (tmp_path / "ray_results" / f"load{i}").glob("run_trial_*"):
            trial_id = "_".join(trial_dir.name.split("_")[2:4])
            expected = tune_points(trial_dir)
            run = by_trial[trial_id]
            logged = Counter()
            for key in {k for k, _ in expected}:
                logged.update((key, m.step) for m in client.get_metric_history(run.info.run_id, key))
            assert logged == expected, trial_id
            total += sum(expected.values())
    assert total >= 8 * 20 * 2  # 20 reports a trial, each with several metrics


def test_a_launch_that_loses_the_race_to_create_the_experiment_joins_it(tmp_path):
    """Two launches that start together both find no experiment; the one whose create comes
    second must take the experiment the other made, not fail. The other launch's create is
    made to land between this one's lookup and its create, in a real SQLite store."""
    from study.tracking.store import KIND, KIND_TAG, ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    other = MlflowClient(uri)

    class LosesTheRace(MlflowClient):
        def get_experiment_by_name(self, name):
            found = super().get_experiment_by_name(name)
            if found is None:
                other.create_experiment(name, tags={KIND_TAG: KIND})
            return found

    made = ensure_experiment(LosesTheRace(uri), "cyclegan_toy", uri)
    assert made == other.get_experiment_by_name("cyclegan_toy").experiment_id
    assert [e.name for e in other.search_experiments()] == ["cyclegan_toy", "Default"]


# what a launch opens first in each SQLite database it may make: the MLflow store, and an
# Optuna-searched study's Optuna storage; and what each then holds (its list's length)
OPENS = {"mlflow": ("from study.tracking.store import open_store", "open_store(sys.argv[1]).search_experiments()", "1"),
         "optuna": ("from study.optuna_storage import rdb_storage", "rdb_storage(sys.argv[1]).get_all_studies()", "0")}


@pytest.mark.parametrize("database", sorted(OPENS))
def test_two_launches_that_open_a_new_sqlite_database_at_once_both_get_it(tmp_path, database):
    """Two launches started together in a folder with no store yet: MLflow and Optuna make
    a database's tables and run its migrations on first open, and two processes doing so at
    once collide (a table or column 'already exists'). Both import first, then open together."""
    imports, opened, holds = OPENS[database]
    uri = f"sqlite:///{tmp_path / (database + '.db')}"
    code = (f"import sys; {imports}; print('ready', flush=True); sys.stdin.readline(); "
            f"print(len({opened}))")  # opens once told to go, on its standard input
    procs = [subprocess.Popen([sys.executable, "-c", code, uri], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(2)]
    assert [p.stdout.readline() for p in procs] == ["ready\n"] * 2  # both past their imports
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-1500:] for _, err in outs]
    assert [out.split()[-1] for out, _ in outs] == [holds, holds]  # one database, both see it whole

"""`--fill-missing`: the cells of a grid launch that have no FINISHED run in MLflow run
again, under a new parent that says which launch it completes, even with the Tune
directory gone; the report joins both launches."""

import shutil
from types import SimpleNamespace

import pytest
from mlflow import MlflowClient

from analysis.runs import load_runs
from study.fill import fill_target
from study.spec import StudyError
from tests.test_launch import _empty_store, launch, launch_record, refused

TOY = ("cyclegan_toy", "--set", "gan_steps=80", "--set", "report_every=40")


def test_fill_missing_runs_only_the_failed_cell_without_the_tune_directory(tmp_path):
    # --retries 0: the failing cell fails at its first attempt (the study would retry it twice)
    out = launch(*TOY, "--retries", "0", "--set", '_fault={"when": {"seed": 1}, "raise_at_report": 0}', cwd=tmp_path)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    assert "after 1 attempt(s): study.faults.InjectedFailure: injected failure" in out.stdout
    record = launch_record(tmp_path)
    root = record["parent_run_id"]
    shutil.rmtree(tmp_path / "ray_results")

    loaded, code, stderr = refused("cyclegan_toy", "--fill-missing", "--set", "gan_steps=40", cwd=tmp_path)
    assert code == 2 and "may change only platform keys" in stderr and "gan_steps" in stderr
    assert "ray" not in loaded and "torch" not in loaded  # refused on MLflow's word alone

    out = launch("cyclegan_toy", "--fill-missing", "--set", "_fault=null", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"Filling 1 cell(s) of launch {root}" in out.stdout and "'seed': 1" in out.stdout

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("cyclegan_toy").experiment_id
    parents = client.search_runs([experiment], "tags.`ferlab.role` = 'parent'")
    (fill,) = [p for p in parents if p.info.run_id != root]
    assert fill.data.tags["ferlab.fills"] == root
    filled = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{fill.info.run_id}'")
    assert [(r.data.params["seed"], r.info.status) for r in filled] == [("1", "FINISHED")]
    assert filled[0].data.params["gan_steps"] == "80"  # the launch's own config
    original = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{root}'")
    assert sorted((r.data.params["seed"], r.info.status) for r in original) == [("0", "FINISHED"), ("1", "FAILED")]
    assert next(r for r in original if r.info.status == "FAILED").data.tags["ferlab.retries"] == "1"

    # the report reads the launch and its fill as one, whichever of the two is named
    for parent in ("latest", root, fill.info.run_id):
        runs = load_runs("cyclegan_toy", tracking_uri=uri, parent=parent)
        assert sorted(runs["param.seed"]) == ["0", "1"] and set(runs["parent_run_id"]) == {root}
        assert set(runs["launch_run_id"]) == {root, fill.info.run_id}

    again = launch("cyclegan_toy", "--fill-missing", cwd=tmp_path)
    assert again.returncode == 0 and f"Nothing to fill: every cell of launch {root} has a FINISHED run" in again.stdout
    assert len(client.search_runs([experiment], "tags.`ferlab.role` = 'parent'")) == 2


def test_fill_missing_refuses_what_it_cannot_fill(tmp_path):
    shutil.copy(_empty_store(), tmp_path / "mlflow.db")
    loaded, code, stderr = refused("cyclegan_toy", "--fill-missing", cwd=tmp_path)
    assert code == 2 and "no experiment 'cyclegan_toy'" in stderr
    assert "ray" not in loaded and "torch" not in loaded

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("cyclegan_toy")
    client.create_run(experiment, run_name="old", tags={"ferlab.role": "parent"})  # no recorded options
    loaded, code, stderr = refused("cyclegan_toy", "--fill-missing", cwd=tmp_path)
    assert code == 2 and "does not record its options" in stderr
    assert "ray" not in loaded and "torch" not in loaded

    # an Optuna study (a stand-in, called here: loss_weights' search space imports Ray Tune and torch)
    optuna_study = SimpleNamespace(name="loss_weights", search="optuna")
    with pytest.raises(StudyError, match="'loss_weights' is an Optuna search: it has no fixed cells"):
        fill_target(f"sqlite:///{tmp_path / 'mlflow.db'}", optuna_study, {}, "latest")

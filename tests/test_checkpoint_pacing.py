"""A trial's checkpoints paced by time (study.checkpoint_pacing): the pacing's rule on a
clock the test moves, and a launch whose trial reports six times within a minute sending
one checkpoint (the last report's, which brings the artifact), its artifact in MLflow."""

import os

import pytest
from mlflow import MlflowClient

from study.checkpoint_pacing import CheckpointPacing, kept_fingerprint
from tests.test_launch import launch


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_checkpoint_is_due_every_so_many_seconds_counted_from_the_last_one_sent():
    clock = Clock()
    pacing = CheckpointPacing(30, clock)
    clock.now += 29.9
    assert not pacing.due(())
    clock.now += 0.1
    assert pacing.due(())
    pacing.sent(())
    clock.now += 20
    assert not pacing.due(())  # 20 s after the one sent, though 50 s after the start
    clock.now += 10
    assert pacing.due(())


def test_changed_artifacts_or_a_must_make_a_checkpoint_due_at_once_and_zero_means_every_report():
    clock = Clock()
    pacing = CheckpointPacing(30, clock)
    assert pacing.due((("predictions.csv", 10, 1),))
    assert pacing.due((), must=True)
    pacing.sent((("predictions.csv", 10, 1),))
    assert not pacing.due((("predictions.csv", 10, 1),))
    assert pacing.due((("predictions.csv", 11, 2),))
    every = CheckpointPacing(0, clock)
    assert every.due(()) and every.due(())
    with pytest.raises(ValueError, match="_checkpoint_s"):
        CheckpointPacing(-1)


def test_the_fingerprint_of_kept_artifacts_changes_with_a_new_or_rewritten_file(tmp_path):
    empty = kept_fingerprint(tmp_path)
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "a.csv").write_text("x")
    one = kept_fingerprint(tmp_path)
    assert one != empty and one == kept_fingerprint(tmp_path)
    (tmp_path / "0" / "a.csv").write_text("xy")
    assert kept_fingerprint(tmp_path) != one


def test_a_launch_with_an_hour_between_checkpoints_sends_only_the_one_its_artifact_needs(tmp_path):
    out = launch("cyclegan_toy", "--set", "gan_steps=120", "--set", "report_every=20", "--set", "seed=[0]",
                 "--set", "_checkpoint_s=3600", "--name", "paced", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    trial_dirs = list((tmp_path / "ray_results" / "paced").glob("run_trial_*"))
    assert len(trial_dirs) == 1
    # Tune numbers a trial's checkpoints from 0: the only one is the first sent
    assert sorted(p.name for p in trial_dirs[0].glob("checkpoint_*")) == ["checkpoint_000000"]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("cyclegan_toy").experiment_id],
                                "tags.`ferlab.role` = 'trial'")
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == list(range(6))
    assert "points.csv" in {a.path for a in client.list_artifacts(run.info.run_id)}
    assert os.path.exists(trial_dirs[0] / "checkpoint_000000" / "artifacts" / "points.csv")


@pytest.mark.parametrize("value", ["-5", "soon", "true"])
def test_a_pace_that_is_not_zero_or_more_seconds_is_refused_before_anything_runs(tmp_path, value):
    out = launch("cyclegan_toy", "--set", f"_checkpoint_s={value}", "--dry-run", cwd=tmp_path, store=False)
    assert out.returncode == 2
    assert "_checkpoint_s is the seconds between a trial's checkpoints" in out.stderr
    assert list(tmp_path.iterdir()) == []

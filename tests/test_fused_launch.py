"""A fused launch (`--fuse K`, study.fusing) on real Ray and MLflow: three seeds of one
classifier train as one Tune trial, yet each is its own child run with its own tags,
metrics and artifacts; a member that raises fails alone; Ctrl-C and `--resume` continue
every member where the group's checkpoint left it; `--fill-missing` runs the failed one.

It is also the suite's test of Ctrl-C and `--resume` on a local launch (a killed driver's
resume, unfused, is tests/test_cluster.py's; a bucket's, tests/test_cloud_storage.py's)."""

import json
import os
import signal
import subprocess
import sys

from mlflow import MlflowClient

from tests.servers import Rendezvous
from tests.test_launch import REPO, _empty_store, launch, launch_record

ARGS = ("baseline", "--scale", "smoke", "--set", "net=simple", "--num-samples", "3", "--fuse", "3",
        "--set", "epochs=5", "--set", "steps=25", "--set", "batch_size=16", "--set", 'dataset_options={"n_images": 400}', "--retries", "0",
        "--set", "_checkpoint_s=0")  # a checkpoint per round: the tests resume from given rounds
FAULT = '{"when": {"seed": 1}, "raise_at_report": 2}'  # seed 1's third report


def children(client, record, parent=None):
    runs = client.search_runs([record["experiment_id"]],
                              f"tags.`mlflow.parentRunId` = '{parent or record['parent_run_id']}'")
    return {int(r.data.params["seed"]): r for r in runs}


def interrupt_after_first_report(cwd) -> None:
    """Start the launch and Ctrl-C it once seed 0 is at its third report: it hangs there
    (a fault that signals, tests/servers.Rendezvous), so the launch cannot end first. By
    then Tune holds the first report's checkpoint (it asks a trial for a report only once
    the previous one's checkpoint is registered), so the resumed seed 0 restores it and
    does not hang again."""
    import shutil

    shutil.copy(_empty_store(), cwd / "mlflow.db")
    reached = Rendezvous(cwd)
    hang = json.dumps({"when": {"seed": 0}, "hang_at_report": 2, "signal": reached.path})
    proc = subprocess.Popen([sys.executable, "-m", "study.launch", *ARGS, "--set", f"_fault=[{FAULT}, {hang}]",
                             "--max-concurrent", "1"], cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert reached.wait(timeout_s=300) == "hang at report 2"
        assert proc.poll() is None, "the launch ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        reached.close()
        if proc.poll() is None:
            proc.kill()


def test_fused_members_are_trials_that_fail_alone_resume_and_fill(tmp_path):
    interrupt_after_first_report(tmp_path)
    record = launch_record(tmp_path)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert record["fuse"] == 3 and client.get_run(record["parent_run_id"]).info.status == "KILLED"
    assert len(list((tmp_path / "ray_results" / record["name"]).glob("run_trial_*"))) == 1  # one Tune trial

    out = launch("baseline", "--resume", cwd=tmp_path)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]  # a member failed
    assert "FAILED" in out.stdout and "injected failure (_fault) at report 2" in out.stdout
    runs = children(client, record)
    assert sorted(runs) == [0, 1, 2]
    assert {s: r.info.status for s, r in runs.items()} == {0: "FINISHED", 1: "FAILED", 2: "FINISHED"}
    assert "injected failure (_fault) at report 2" in runs[1].data.tags["ferlab.error"]
    assert client.get_run(record["parent_run_id"]).info.status == "FAILED"
    for seed, run in runs.items():
        # the tags and params an unfused trial's run has, its own seed among them
        assert run.data.tags["ferlab.seed"] == str(seed) and run.data.tags["ferlab.variant"] == "simple"
        assert run.data.tags["ferlab.dataset_hash"] and run.data.params["net"] == "simple"
        assert "_members" not in run.data.params and run.data.tags["ferlab.fuse"] == "3"
        steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "val/acc"))
        assert steps == (list(range(5)) if seed != 1 else [0, 1])  # each report once, across the resume
    for seed in (0, 2):
        assert {a.path for a in client.list_artifacts(runs[seed].info.run_id)} == {"predictions.csv",
                                                                                   "confusion_matrix.csv"}
        assert 0 <= runs[seed].data.metrics["test_acc"] <= 1
    assert runs[0].data.metrics["val/loss"] != runs[2].data.metrics["val/loss"]  # two trials, not one twice

    out = launch("baseline", "--fill-missing", "--set", "_fault=[]", "--fuse", "2", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Filling 1 cell(s)" in out.stdout and "3 FINISHED trial runs" in out.stdout
    fill = client.search_runs([record["experiment_id"]], f"tags.`ferlab.fills` = '{record['parent_run_id']}' and tags.`ferlab.role` = 'parent'")[0]
    filled = children(client, record, fill.info.run_id)
    assert list(filled) == [1] and filled[1].info.status == "FINISHED"


def test_a_resumed_driver_stops_a_fused_trial_whose_members_all_ended(tmp_path):
    """FinishedTrialStopper after a driver crash: a fused trial is done once every member's
    run has ended, FINISHED or failed alone; one member still running keeps it going."""
    import shutil

    from study.tracking.stopper import FinishedTrialStopper
    from study.tracking.trial_runs import MEMBER_FAILED_TAG

    shutil.copy(_empty_store(), tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("e")
    parent = client.create_run(experiment).info.run_id

    def run(tags: dict, status: str):
        made = client.create_run(experiment, tags={"mlflow.parentRunId": parent, **tags}).info.run_id
        if status != "RUNNING":
            client.set_terminated(made, status)

    run({"ferlab.trial_id": "a/0", "ferlab.fused_trial_id": "a"}, "FINISHED")
    run({"ferlab.trial_id": "a/1", "ferlab.fused_trial_id": "a", MEMBER_FAILED_TAG: "true"}, "FAILED")
    run({"ferlab.trial_id": "b/0", "ferlab.fused_trial_id": "b"}, "FINISHED")
    run({"ferlab.trial_id": "b/1", "ferlab.fused_trial_id": "b"}, "RUNNING")
    run({"ferlab.trial_id": "c/0", "ferlab.fused_trial_id": "c"}, "FINISHED")
    run({"ferlab.trial_id": "c/1", "ferlab.fused_trial_id": "c"}, "FAILED")  # the group's failure: it retries
    run({"ferlab.trial_id": "d"}, "FINISHED")
    stopper = FinishedTrialStopper(uri, experiment, parent)
    assert {t: stopper(t, {}) for t in "abcde"} == {"a": True, "b": False, "c": False, "d": True, "e": False}

"""`--storage-path s3://…`: Tune's experiment state, the trials' checkpoints and the launch
record go to the object store, and a driver killed mid-study resumes from there. The S3
server is moto's, a stand-in for AWS (which cannot be reached from here), spoken to over
real HTTP by pyarrow, the client Tune itself uses; GCS is not exercised."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from tests.servers import Output, Rendezvous, poll_until
from tests.test_launch import REPO, launch

BUCKET = "ferlab-test"
STORAGE = f"s3://{BUCKET}/results"
TOY = ("cyclegan_toy", "--set", "gan_steps=240", "--set", "report_every=20", "--set", "seed=[0, 1]",
       "--storage-path", STORAGE, "--set", "_checkpoint_s=0")  # a checkpoint per report: resumed from report 3


@pytest.fixture
def s3(monkeypatch):
    boto3 = pytest.importorskip("boto3")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    running = Output(server.stderr, "Running on http://").wait(60)  # the port the server bound
    port = int(running.rsplit(":", 1)[1])
    for name, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)  # the launches below inherit them, and Ray's workers from them
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.terminate()
    server.wait(timeout=30)


def _objects(s3) -> list[dict]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item for page in pages for item in page.get("Contents", [])]


def _keys(s3) -> list[str]:
    return [item["Key"] for item in _objects(s3)]


def _runs(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cyclegan_toy")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`ferlab.role` = 'parent'")
    runs = client.search_runs([experiment.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    return client, parent, {int(r.data.params["seed"]): r for r in runs}


def _state_uploaded_at(s3, after: float) -> bool:
    """Whether Tune's trial list and its searcher's state have both gone up since `after`.
    Tune uploads them as separate files: a driver killed between the two leaves a searcher
    that has not seen the newest trial, and a resume then waits for it forever (with
    --max-concurrent) or would make that trial again. That is Tune's; the test kills the
    driver once both are up."""
    fresh = [item["Key"] for item in _objects(s3) if item["LastModified"].timestamp() > after]
    return all(any(f"/{state}-" in key for key in fresh) for state in ("experiment_state", "basic-variant-state"))


def test_a_study_on_s3_survives_its_driver_killed_and_resumes_from_the_bucket(s3, tmp_path):
    # Seed 1 hangs at its fourth report on its first attempt (and signals), so the driver can
    # be killed while it is under way, once Tune's snapshot naming its third checkpoint is in
    # the bucket. Tune uploads that snapshot on its own schedule and says so to no hook of
    # ours: the one wait here that polls (tests/servers.poll_until).
    reached = Rendezvous(tmp_path)
    fault = json.dumps({"when": {"seed": 1}, "hang_at_report": 3, "signal": reached.path})
    proc = subprocess.Popen([sys.executable, "-m", "study.launch", *TOY, "--max-concurrent", "1", "--set",
                             f"_fault={fault}"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert reached.wait(300) == "hang at report 3"
        hung_since = time.time()
        poll_until(lambda: _state_uploaded_at(s3, hung_since + 1), 120, "Tune's state uploaded after the hang")
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        reached.close()

    keys = _keys(s3)
    (record_key,) = [k for k in keys if k.endswith("/ferlab_launch.json")]
    prefix, name, _ = record_key.split("/")
    assert prefix == "results"  # the launch directory sits right under the storage prefix
    assert any(k.startswith(f"results/{name}/experiment_state") for k in keys)
    assert any("/checkpoint_" in k for k in keys)
    assert not (tmp_path / "ray_results").exists()  # nothing of the launch on the local disk
    client, parent, runs = _runs(tmp_path)
    done = {s: (r.info.run_id, r.info.end_time) for s, r in runs.items() if r.info.status == "FINISHED"}

    out = launch("cyclegan_toy", "--resume", "--storage-path", STORAGE, cwd=tmp_path)  # "latest", found in S3
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, parent, runs = _runs(tmp_path)
    assert sorted(runs) == [0, 1] and {r.info.status for r in runs.values()} == {"FINISHED"}
    assert parent.info.status == "FINISHED"
    for seed, (run_id, end_time) in done.items():
        assert runs[seed].info.run_id == run_id and runs[seed].info.end_time == end_time  # not run again
    for run in runs.values():
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")]
        assert sorted(steps) == list(range(12))  # each report logged once
    assert sorted(done) == [0]
    resumed = client.get_metric_history(runs[1].info.run_id, "trial/resumed_from_report")
    assert {m.value for m in resumed} == {3}  # from its checkpoint in the bucket, not from scratch

    out = launch(*TOY, "--name", name, cwd=tmp_path)  # the same name again: refused, not overwritten
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"{STORAGE}/{name} already holds a launch" in out.stderr and f"--resume {name}" in out.stderr
    assert len(client.search_runs([parent.info.experiment_id], "tags.`ferlab.role` = 'parent'")) == 1


def test_a_bucket_that_cannot_be_written_fails_before_any_run(s3, tmp_path):
    out = launch("cyclegan_toy", "--storage-path", "s3://no-such-bucket/results", cwd=tmp_path)
    assert out.returncode == 2
    assert "s3://no-such-bucket/results" in out.stderr and "cannot be written" in out.stderr
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cyclegan_toy")
    assert experiment is None or not client.search_runs([experiment.experiment_id])


def test_an_unsupported_scheme_is_refused(tmp_path):
    out = launch("cyclegan_toy", "--storage-path", "ftp://host/results", cwd=tmp_path)
    assert out.returncode == 2 and "scheme 'ftp' is not supported" in out.stderr

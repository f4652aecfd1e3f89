"""Fault tolerance on a real multi-node Ray cluster on this machine
(`ray.cluster_utils.Cluster`: one head without CPUs for trials, raylets as worker nodes),
with the CycleGAN toy study — a real GAN trial, a checkpoint per report — launched through
`python -m study.launch --address`."""

import json
import os
import signal
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from tests.servers import Rendezvous
from tests.test_launch import REPO, launch, launched_runs

# six reports per trial, a checkpoint with each (not paced by time: the tests resume from given reports)
TOY = ("cyclegan_toy", "--set", "gan_steps=240", "--set", "report_every=40", "--set", "_checkpoint_s=0")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, workers
    cluster.shutdown()


def _children(cwd):
    client, record, runs = launched_runs(cwd)
    return client, record, {int(r.data.params["seed"]): r for r in runs}


@pytest.fixture(scope="module")
def faulty(cluster, tmp_path_factory):
    """Four seeds on two nodes: seed 1 raises at its third report on every attempt; seed 2
    hangs at its fourth report on its first attempt, and a 60 s watchdog stops it: a limit
    well above a healthy attempt's longest silence (a retry's worker start, imports and
    checkpoint restore on a busy 2-core machine), so only the hang trips it. 30 s was
    tripped by a healthy retry once, with the suite running beside a two-trial launch."""
    cwd = tmp_path_factory.mktemp("faulty")
    out = launch(*TOY, "--address", cluster[0].address, "--set", "seed=[0, 1, 2, 3]", "--set", "_watchdog_s=60",
                 "--set", '_fault=[{"when": {"seed": 1}, "raise_at_report": 2}, '
                          '{"when": {"seed": 2}, "hang_at_report": 3}]', cwd=cwd)
    return cwd, out


def test_trials_spread_over_nodes_and_a_raising_trial_fails_after_its_retries(cluster, faulty):
    cwd, out = faulty
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]  # a failed trial: exit 1
    client, record, runs = _children(cwd)
    assert sorted(runs) == [0, 1, 2, 3]  # one run per trial, however often it was retried
    worker_ids = {w.node_id for w in cluster[1]}
    nodes = {r.data.tags["ferlab.node_id"] for r in runs.values()}
    assert nodes == worker_ids  # both worker nodes, never the CPU-less head
    assert all(r.data.tags["ferlab.hostname"] for r in runs.values())

    failed = runs[1]
    assert failed.info.status == "FAILED"
    assert failed.data.tags["ferlab.retries"] == "3"  # the first attempt and the study's 2 retries
    assert "injected failure (_fault) at report 2" in failed.data.tags["ferlab.error"]
    error = client.download_artifacts(failed.info.run_id, "error.txt", str(cwd))
    assert "InjectedFailure" in open(error).read()
    steps = [m.step for m in client.get_metric_history(failed.info.run_id, "val/acc")]
    assert steps == [0, 1]  # reports 0 and 1, then every retry resumed from report 1's checkpoint and failed at 2
    assert f"FAILED {failed.data.tags['ferlab.trial_id']} after 3 attempt(s)" in out.stdout
    assert "injected failure (_fault) at report 2" in out.stdout

    for seed in (0, 3):
        run = runs[seed]
        assert run.info.status == "FINISHED" and run.data.tags["ferlab.retries"] == "0"
        assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == list(range(6))
        assert "test/acc_augmented" in run.data.metrics
    assert client.get_run(record["parent_run_id"]).info.status == "FAILED"


def test_a_hung_trial_is_stopped_with_a_stack_dump_and_resumes_from_its_checkpoint(faulty):
    cwd, out = faulty
    client, record, runs = _children(cwd)
    run = runs[2]
    assert run.info.status == "FINISHED" and run.data.tags["ferlab.retries"] == "1"
    assert run.data.tags["ferlab.last_error"] == "The actor died unexpectedly before finishing this task."
    # the retry started from report 2's checkpoint (3 reports made), not from scratch
    assert [m.value for m in client.get_metric_history(run.info.run_id, "trial/resumed_from_report")] == [3, 3, 3]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == list(range(6))
    dumps = list((cwd / "ray_results" / record["name"]).glob("*/watchdog-*.txt"))
    assert len(dumps) == 1
    text = dumps[0].read_text()
    assert "no report for" in text and "before_report" in text and "faults.py" in text
    assert "ferlab watchdog: no report for" in out.stdout + out.stderr  # the worker's log, echoed by the driver


def test_a_removed_worker_nodes_trial_resumes_on_another_node(cluster, tmp_path):
    """Seed 0 stops before its fourth report (a hang that signals, tests/servers.Rendezvous),
    its node is removed, a fresh node joins; the trial resumes there from its last
    checkpoint and the study completes.

    Tune logs a report (our MLflow callback) before it asks the trial for that report's
    checkpoint, and only lets the trial go on to the next report once the checkpoint is
    registered: a trial at its fourth report has the third report's checkpoint with the
    driver. The hang happens only in an attempt started fresh, so the resumed one runs on."""
    cl, workers = cluster
    reached = Rendezvous(tmp_path)
    hang = json.dumps({"when": {"seed": 0}, "hang_at_report": 3, "signal": reached.path})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "study.launch", "cyclegan_toy", "--set", "gan_steps=400",
                             "--set", "report_every=40", "--set", "seed=[0, 1]", "--set", f"_fault={hang}",
                             "--set", "_checkpoint_s=0", "--address", cl.address],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert reached.wait(300) == "hang at report 3"
        _, _, runs = _children(tmp_path)
        victim = next(w for w in workers if w.node_id == runs[0].data.tags["ferlab.node_id"])
        cl.remove_node(victim)
        workers.remove(victim)
        workers.append(cl.add_node(num_cpus=1))
        stdout, _ = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
        reached.close()
    assert proc.returncode == 0, stdout[-4000:]
    client, record, runs = _children(tmp_path)
    assert sorted(runs) == [0, 1] and {r.info.status for r in runs.values()} == {"FINISHED"}
    moved = runs[0]
    nodes = moved.data.tags["ferlab.nodes"].split(",")
    assert nodes[0] == victim.node_id and nodes[-1] != victim.node_id
    assert moved.data.tags["ferlab.retries"] == "1"
    resumed = client.get_metric_history(moved.info.run_id, "trial/resumed_from_report")
    assert resumed and min(m.value for m in resumed) >= 2  # from a checkpoint, not from scratch
    assert sorted({m.step for m in client.get_metric_history(moved.info.run_id, "val/acc")}) == list(range(10))


def test_trials_no_node_can_hold_fail_at_once_and_leave_no_run(cluster, tmp_path):
    out = launch(*TOY, "--address", cluster[0].address, "--gpus-per-trial", "1", cwd=tmp_path, timeout=120)
    assert out.returncode == 2
    assert "each trial needs 1 CPU and 1 GPU" in out.stderr and "no autoscaler" in out.stderr
    assert not (tmp_path / "ray_results").exists()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cyclegan_toy")
    assert experiment is None or not client.search_runs([experiment.experiment_id])


def test_the_driver_killed_mid_study_resumes_without_rerunning_or_duplicating(cluster, tmp_path):
    """One trial at a time: seed 1 starts once seed 0 has finished, and stops before its
    second report (a hang that signals). The driver is killed there, then resumed: seed 0
    is not run again, seed 1 resumes from its first report's checkpoint (so does not hang)."""
    reached = Rendezvous(tmp_path)
    hang = json.dumps({"when": {"seed": 1}, "hang_at_report": 1, "signal": reached.path})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "study.launch", *TOY, "--set", "report_every=20", "--set", "seed=[0, 1]",
                             "--set", f"_fault={hang}", "--address", cluster[0].address, "--max-concurrent", "1"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert reached.wait(300) == "hang at report 1"
        _, _, runs = _children(tmp_path)
        assert runs[0].info.status == "FINISHED" and proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        reached.close()
    client, record, runs = _children(tmp_path)
    done = {s: (r.info.run_id, r.info.end_time) for s, r in runs.items() if r.info.status == "FINISHED"}
    out = launch("cyclegan_toy", "--resume", "--address", cluster[0].address, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, record, runs = _children(tmp_path)
    assert sorted(runs) == [0, 1] and {r.info.status for r in runs.values()} == {"FINISHED"}
    assert client.get_run(record["parent_run_id"]).info.status == "FINISHED"
    for seed, (run_id, end_time) in done.items():
        assert runs[seed].info.run_id == run_id and runs[seed].info.end_time == end_time  # not run again
    for run in runs.values():
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")]
        assert sorted(steps) == list(range(12))  # each report logged once

"""Autoscaling on one machine: Ray's own autoscaler (v2) driving its fake multi-node
provider (`ray.cluster_utils.AutoscalingCluster`: each "instance" it launches is a real
raylet on this machine). A head without CPUs cannot run a trial; the study's demand must
make the autoscaler add worker nodes, and idle nodes must go after the study."""

import json
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from tests.test_launch import launch


@pytest.fixture
def autoscaling_cluster():
    from ray.cluster_utils import AutoscalingCluster

    cluster = AutoscalingCluster(
        head_resources={"CPU": 0},
        worker_node_types={"cpu_worker": {"resources": {"CPU": 1}, "node_config": {}, "min_workers": 0,
                                          "max_workers": 2}},
        autoscaler_v2=True, idle_timeout_minutes=0.1)
    cluster.start()  # `ray stop --force` first: nothing else may run Ray on this machine meanwhile
    yield
    cluster.shutdown()


def _alive_nodes() -> list[dict]:
    code = ("import json, ray; ray.init(address='auto', logging_level='ERROR'); "
            "print(json.dumps([{'id': n['NodeID'], 'cpu': n['Resources'].get('CPU', 0)} "
            "for n in ray.nodes() if n['Alive']]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_autoscaler_adds_nodes_for_the_trials_and_removes_them_when_idle(autoscaling_cluster, tmp_path):
    (head,) = _alive_nodes()
    assert head["cpu"] == 0  # the head alone, no CPU for a trial
    out = launch("cyclegan_toy", "--set", "gan_steps=120", "--set", "report_every=40", "--set", "seed=[0, 1]",
                 "--address", "auto", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    record = json.loads(next((tmp_path / "ray_results").glob("*/ferlab_launch.json")).read_text())
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([record["experiment_id"]], f"tags.`mlflow.parentRunId` = '{record['parent_run_id']}'")
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 2
    assert all(r.data.tags["ferlab.node_id"] not in ("", head["id"]) for r in runs)  # on nodes it added

    deadline = time.time() + 120
    while len(_alive_nodes()) > 1 and time.time() < deadline:
        time.sleep(5)
    assert _alive_nodes() == [head]  # the idle workers are gone

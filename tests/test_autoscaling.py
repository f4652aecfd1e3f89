"""Autoscaling on one machine: Ray's own autoscaler (v2) driving its fake multi-node
provider (each "instance" it launches is a real raylet on this machine). A head without
CPUs cannot run a trial; the study's demand must make the autoscaler add worker nodes,
and idle nodes must go after the study.

`ray.cluster_utils.AutoscalingCluster` would set this up, but the Ray wheel leaves out the
fake provider's defaults file (fake_multi_node/example.yaml) that it and the `fake_multinode`
provider type read. So the fixture starts the head the same way, naming the same provider
class through Ray's `external` provider type, whose defaults are built in. The head listens
on a free port, not Ray's default 6379, and everything joins it by that address, not by
`auto` (which reads whichever head this machine started last)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.servers import free_port, poll_until, wait_exited
from tests.test_launch import launch, launched_runs

FAKE_PROVIDER = "ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"
CLUSTER_MARKER = "FERLAB_FAKE_CLUSTER"


def _fake_cluster_config(head_id: str, gcs_address: str) -> dict:
    return {
        "cluster_name": "ferlab-fake", "max_workers": 2, "idle_timeout_minutes": 0.1, "upscaling_speed": 1.0,
        "provider": {"type": "external", "module": FAKE_PROVIDER, "launch_multiple": True, "head_node_id": head_id,
                     "disable_launch_config_check": True, "disable_node_updaters": True, "use_node_id_as_ip": True,
                     "gcs_address": gcs_address},  # where the nodes it starts join
        "auth": {"ssh_user": "nobody"},
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 0}, "node_config": {}, "max_workers": 0},
            "cpu_worker": {"resources": {"CPU": 1}, "node_config": {}, "min_workers": 0, "max_workers": 2}},
        "head_node_type": "ray.head.default",
        "file_mounts": {}, "cluster_synced_files": [], "file_mounts_sync_continuously": False, "rsync_exclude": [],
        "rsync_filter": [], "initialization_commands": [], "setup_commands": [], "head_setup_commands": [],
        "worker_setup_commands": [], "head_start_ray_commands": [], "worker_start_ray_commands": []}


@pytest.fixture
def autoscaling_cluster(tmp_path_factory):
    """Yields the head's address."""
    from ray._private.services import get_node_ip_address
    from ray.autoscaler._private.fake_multi_node.node_provider import FAKE_HEAD_NODE_ID

    address = f"{get_node_ip_address()}:{free_port()}"
    config = tmp_path_factory.mktemp("autoscaler") / "fake_cluster.json"
    config.write_text(json.dumps(_fake_cluster_config(FAKE_HEAD_NODE_ID, address)))
    token = uuid.uuid4().hex
    env = {**os.environ, "RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1", "RAY_enable_autoscaler_v2": "1",
           "RAY_CLOUD_INSTANCE_ID": FAKE_HEAD_NODE_ID, "RAY_OVERRIDE_NODE_ID_FOR_TESTING": FAKE_HEAD_NODE_ID,
           CLUSTER_MARKER: token}
    try:
        subprocess.run(["ray", "start", "--head", f"--port={address.rsplit(':', 1)[1]}", "--num-cpus=0",
                        f"--autoscaling-config={config}"], env=env, check=True, capture_output=True)
        yield address
    finally:
        _stop_processes_marked(f"{CLUSTER_MARKER}={token}")
        # `ray start` names its head in the machine's "current cluster" file, which a driver
        # started without an address would read: a head that is gone leaves no name there
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.exists() and current.read_text().strip() == address:
            current.unlink()


def _stop_processes_marked(marker: str) -> None:
    """Kill every process whose environment holds `marker`: the head's, the nodes the
    autoscaler started (they inherit it) and their workers, waiting on each one's exit. Not
    `ray stop`, which kills every Ray on the machine, the launches of tests running beside
    this one included."""
    needle = marker.encode() + b"\0"
    for _ in range(20):  # a raylet may start a worker while its siblings are killed: look again
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if needle in environ.read_bytes() and int(environ.parent.name) != os.getpid():
                    found.append(int(environ.parent.name))
            except OSError:  # gone, or not ours to read
                continue
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_exited(found, timeout=30)
    raise AssertionError(f"processes of the fake cluster still alive: {found}")


def _alive_nodes(address: str) -> list[dict]:
    """The cluster's live nodes, asked by a fresh driver (the head is in Ray's token mode,
    whose token `ray start` keeps in ~/.ray)."""
    code = (f"import json, ray; ray.init(address={address!r}, logging_level='ERROR'); "
            "print(json.dumps([{'id': n['NodeID'], 'cpu': n['Resources'].get('CPU', 0)} "
            "for n in ray.nodes() if n['Alive']]))")
    for _ in range(3):  # a connect can fail while the autoscaler is removing a node: ask again
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "RAY_AUTH_MODE": "token"})
        # Ray may print a line of its own after ours while a node goes away: take the list
        listed = [line for line in out.stdout.splitlines() if line.startswith("[")]
        if out.returncode == 0 and listed:
            return json.loads(listed[-1])
    raise AssertionError(f"could not list the cluster's nodes:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def test_the_autoscaler_adds_nodes_for_the_trials_and_removes_them_when_idle(autoscaling_cluster, tmp_path):
    address = autoscaling_cluster
    (head,) = _alive_nodes(address)
    assert head["cpu"] == 0  # the head alone, no CPU for a trial
    out = launch("cyclegan_toy", "--set", "gan_steps=120", "--set", "report_every=40", "--set", "seed=[0, 1]",
                 "--address", address, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "the trials wait for the cluster's autoscaler" in out.stdout  # no node up fits; not refused
    client, _, runs = launched_runs(tmp_path)
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 2
    assert all(r.data.tags["ferlab.node_id"] not in ("", head["id"]) for r in runs)  # on nodes it added

    # Ray's autoscaler removes idle nodes on its own schedule, and tells no hook of ours
    assert poll_until(lambda: _alive_nodes(address) == [head], 120, "the idle worker nodes removed", every_s=5)

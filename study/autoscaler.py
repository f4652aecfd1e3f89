"""Whether a Ray cluster can ever hold one trial: a node up now, or a node type its
autoscaler may add. Ray has no public API for the autoscaler's state (Ray 2.60), so this
reads its private ones; when a Ray version answers otherwise, the launch says it could not
read the state rather than that there is no autoscaler."""

import json

import ray

from study.spec import StudyError


class AutoscalerStateError(Exception):
    """Ray's autoscaler state could not be read (a Ray without the private API, or an
    answer of another shape)."""


# What reading a private API of another Ray version raises: a missing attribute or module,
# an answer of another shape or type, a GCS call that failed.
_UNREADABLE = (AttributeError, ImportError, KeyError, TypeError, ValueError, RuntimeError, ConnectionError,
               ray.exceptions.RayError)


def check_feasible(cpus: float, gpus: float) -> None:
    """Fail at once when no node of the cluster — up now, or one its autoscaler may add —
    can ever hold one trial, instead of leaving every trial PENDING. An autoscaler whose
    node types Ray does not publish (the cluster launcher's, Ray 2.60) gets the benefit of
    the doubt, with a note: only it knows what it can add."""
    need = {"CPU": cpus, "GPU": gpus}
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    if _holds(nodes, need):
        return
    have = "; ".join(f"{n.get('CPU', 0):g} CPU, {n.get('GPU', 0):g} GPU" for n in nodes) or "none"
    needs = f"each trial needs {cpus:g} CPU and {gpus:g} GPU"
    try:
        scalable = autoscaler_node_types()
        if _holds(scalable, need):
            return
        running = not scalable and autoscaler_running()
    except AutoscalerStateError as err:
        raise StudyError(f"{needs}, but no node of this Ray cluster has that (nodes: {have}), and Ray "
                         f"{ray.__version__}'s autoscaler state could not be read: {err}. If the cluster's "
                         "autoscaler can add such a node, start the trials with a Ray this code knows (see "
                         "pyproject.toml); else lower --cpus-per-trial / --gpus-per-trial, or add such a node."
                         ) from None
    if running:
        print(f"note: {needs} and no node up has that (nodes: {have}); the trials wait for the cluster's "
              "autoscaler to add one (`ray status` lists demands it cannot meet)")
        return
    extra = ("its autoscaler's node types cannot either: " + "; ".join(map(str, scalable))) if scalable else \
        "and it has no autoscaler that could add one"
    raise StudyError(f"{needs}, but no node of this Ray cluster has that (nodes: {have}), {extra}. Lower "
                     "--cpus-per-trial / --gpus-per-trial, or add such a node.")


def _holds(nodes: list[dict], need: dict) -> bool:
    return any(all(node.get(k, 0) >= v for k, v in need.items() if v) for node in nodes)


def autoscaler_node_types() -> list[dict]:
    """The resources of each node type the cluster's autoscaler may add, where Ray
    publishes them in the GCS (KubeRay's autoscaler v2); [] where it publishes none."""
    try:
        config = ray._private.state.state.get_cluster_config()  # no public API yet (Ray 2.60)
        if config is None:
            return []
        return [dict(group.resources) for group in config.node_group_configs if group.max_count != 0]
    except _UNREADABLE as err:
        raise AutoscalerStateError(f"its cluster config ({type(err).__name__}: {err})") from err


def autoscaler_running() -> bool:
    """Whether an autoscaler that can add nodes reports to this cluster's GCS. Every head
    runs a monitor; without a cluster config it is v1's read-only one, which names each
    node type after a node (`node_<id>`). v2 reports a version only where it runs."""
    try:
        from ray.autoscaler.v2.sdk import get_cluster_status
        from ray.experimental.internal_kv import _internal_kv_get

        if get_cluster_status(ray.get_runtime_context().gcs_address).stats.autoscaler_version not in ("", "0"):
            return True
        status = _internal_kv_get(b"__autoscaling_status")
        if status is None:
            return False
        report = json.loads(status).get("autoscaler_report") or {}
        return any(not name.startswith("node_") for name in (report.get("node_type_mapping") or {}).values())
    except _UNREADABLE as err:
        raise AutoscalerStateError(f"its status ({type(err).__name__}: {err})") from err

"""The KubeRay manifest in study/clusters/ passes three checks, and a manifest that
Kubernetes or Ray would reject fails at least one:

- each document against the schema of the resource it declares: Kubernetes' own (v1.37,
  strict: unknown fields are errors) for the PersistentVolumeClaim and for every pod
  template, and for the RayCluster's own fields a schema written from KubeRay's v1 API
  reference (tests/schemas/raycluster_v1.json; the CRD cannot be fetched offline);
- the RayCluster through Ray's own KubeRay code: the autoscaler config Ray derives from it
  (ray.autoscaler._private.kuberay), which Ray then validates itself;
- what this project needs of it: autoscaling on, a GPU group from 0 pods, no trials on the
  head, the shared volume on every pod, the project's Ray version.

Not checked here: that a cluster schedules it (no Kubernetes API server runs here)."""

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import ray
import yaml
from jsonschema import ValidationError
from ray.autoscaler._private.kuberay.autoscaling_config import _derive_autoscaling_config_from_ray_cr

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "study" / "clusters" / "kuberay.yaml"
RAYCLUSTER_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "raycluster_v1.json").read_text())
KUBERNETES = "1.37.0"


def _documents() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def _groups(cluster: dict) -> list[dict]:
    return [cluster["spec"]["headGroupSpec"], *cluster["spec"].get("workerGroupSpecs", [])]


def validate_manifest(docs: dict[str, dict]) -> dict:
    """Every check a document must pass; returns the autoscaler config Ray derives."""
    for kind, doc in docs.items():
        if kind != "RayCluster":
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    cluster = docs["RayCluster"]
    jsonschema.validate(cluster, RAYCLUSTER_SCHEMA)
    for group in _groups(cluster):
        pod_template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"},
                        "template": group["template"]}
        kubernetes_validate.validate(pod_template, KUBERNETES, strict=True)
    as_served = copy.deepcopy(cluster)
    as_served["metadata"].setdefault("namespace", "default")  # the API server fills it in
    return _derive_autoscaling_config_from_ray_cr(as_served)


def test_the_manifest_passes_kubernetes_kuberay_and_ray_and_scales_gpus_from_zero():
    docs = _documents()
    assert set(docs) == {"PersistentVolumeClaim", "RayCluster"}
    autoscaling = validate_manifest(docs)

    cluster = docs["RayCluster"]["spec"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["rayVersion"] == ray.__version__
    assert autoscaling["idle_timeout_minutes"] == 10
    types = autoscaling["available_node_types"]
    assert types["headgroup"]["resources"].get("CPU", 0) == 0  # no trials on the head
    assert types["gpu"]["min_workers"] == 0 and types["gpu"]["max_workers"] >= 1
    assert types["gpu"]["resources"]["GPU"] == 1 and types["gpu"]["resources"]["CPU"] >= 1
    claim = docs["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for group in _groups(docs["RayCluster"]):
        pod = group["template"]["spec"]
        assert {"name": "shared", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}} in pod["volumes"]
        assert {"name": "shared", "mountPath": "/shared"} in pod["containers"][0]["volumeMounts"]
    dockerfile = (ROOT / "study" / "clusters" / "Dockerfile").read_text()
    assert f"rayproject/ray:{ray.__version__}-" in dockerfile


def test_every_ray_process_gets_token_mode_and_the_token_from_one_secret():
    cluster = _documents()["RayCluster"]
    auth = [{"name": "RAY_AUTH_MODE", "value": "token"},
            {"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {"name": "ferlab-ray-auth", "key": "auth_token"}}}]
    assert cluster["spec"]["autoscalerOptions"]["env"] == auth  # the autoscaler talks to the GCS too
    for group in _groups(cluster):
        assert all(auth[0] in c["env"] and auth[1] in c["env"] for c in group["template"]["spec"]["containers"])


def _break(docs: dict, how: str) -> None:
    cluster = docs["RayCluster"]["spec"]
    gpu = cluster["workerGroupSpecs"][0]
    container = gpu["template"]["spec"]["containers"][0]
    if how == "misspelled_raycluster_field":
        cluster["enableInTreeAutoscalling"] = cluster.pop("enableInTreeAutoscaling")
    elif how == "replicas_as_text":
        gpu["minReplicas"] = "0"
    elif how == "unknown_upscaling_mode":
        cluster["autoscalerOptions"]["upscalingMode"] = "Fast"
    elif how == "misspelled_container_field":
        container["resourcs"] = container.pop("resources")
    elif how == "cpu_quantity_a_list":
        container["resources"]["limits"]["cpu"] = ["7"]
    elif how == "claim_without_access_modes_type":
        docs["PersistentVolumeClaim"]["spec"]["accessModes"] = "ReadWriteMany"
    elif how == "worker_without_cpu":  # Ray cannot size the node type: its derivation refuses
        for side in ("requests", "limits"):
            container["resources"][side].pop("cpu")
    elif how == "no_group_name":
        gpu.pop("groupName")


@pytest.mark.parametrize("how", ["misspelled_raycluster_field", "replicas_as_text", "unknown_upscaling_mode",
                                 "misspelled_container_field", "cpu_quantity_a_list",
                                 "claim_without_access_modes_type", "worker_without_cpu", "no_group_name"])
def test_a_manifest_kubernetes_or_ray_would_reject_fails(how):
    docs = _documents()
    validate_manifest(copy.deepcopy(docs))  # the unbroken manifest passes
    _break(docs, how)
    with pytest.raises((ValidationError, kubernetes_validate.ValidationError, ValueError, KeyError)):
        validate_manifest(docs)

"""The cluster-launcher configs in study/clusters/ pass Ray's own validation (what `ray up`
runs before it touches a cloud: defaults filled in, then Ray's JSON schema), and a config
Ray would reject fails here. Provider-specific `node_config` contents (instance types,
images) are checked by the cloud API at `ray up`, which cannot run here."""

import copy
from pathlib import Path

import pytest
import yaml
from jsonschema import ValidationError
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTERS = Path(__file__).resolve().parent.parent / "study" / "clusters"
LAUNCHER = ["aws.yaml", "gcp.yaml"]


def ray_validates(config: dict) -> dict:
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_config_passes_rays_validation_and_scales_gpus_from_zero(name):
    config = yaml.safe_load((CLUSTERS / name).read_text())
    prepared = ray_validates(config)
    assert prepared["provider"]["type"] == name.removesuffix(".yaml")
    head = prepared["available_node_types"][prepared["head_node_type"]]
    assert head["resources"] == {"CPU": 0}  # no trials on the head
    workers = {k: v for k, v in prepared["available_node_types"].items() if k != prepared["head_node_type"]}
    (gpu,) = workers.values()
    assert gpu["min_workers"] == 0 and gpu["max_workers"] >= 1
    node = gpu["node_config"]
    assert node.get("InstanceType", "").startswith(("g", "p")) or node["guestAccelerators"][0]["acceleratorCount"] >= 1
    assert prepared["idle_timeout_minutes"] > 0
    assert any("pip install -e ." in command for command in prepared["setup_commands"])
    assert "--autoscaling-config" in " ".join(prepared["head_start_ray_commands"])


@pytest.mark.parametrize("name", LAUNCHER)
@pytest.mark.parametrize("break_it", ["misspelled_key", "head_not_a_type", "workers_over_max"])
def test_a_config_ray_would_reject_fails(name, break_it):
    config = yaml.safe_load((CLUSTERS / name).read_text())
    if break_it == "misspelled_key":
        config["available_node_types"]["gpu_worker"]["min_worker"] = 0
    elif break_it == "head_not_a_type":
        config["head_node_type"] = "no_such_type"
    else:
        config["available_node_types"]["gpu_worker"]["min_workers"] = config["max_workers"] + 1
    with pytest.raises((ValidationError, ValueError)):
        ray_validates(config)


@pytest.mark.parametrize("name", LAUNCHER)
def test_every_node_starts_ray_in_token_mode_with_the_launching_machines_token(name):
    """`ray start` on a worker does not turn token mode on by itself, even with a token
    file: without RAY_AUTH_MODE=token it is refused by a token-mode head."""
    prepared = ray_validates(yaml.safe_load((CLUSTERS / name).read_text()))
    assert prepared["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    starts = [c for c in prepared["head_start_ray_commands"] + prepared["worker_start_ray_commands"] if "ray start" in c]
    assert len(starts) == 2 and all(c.startswith("RAY_AUTH_MODE=token ray start ") for c in starts)

"""A Ray whose private autoscaler API answers otherwise than 2.60's (a later release) is
simulated by patching that API: no other Ray version can run here. The paths 2.60 takes
are tested against real clusters in test_cluster.py and test_autoscaling.py."""

import pytest
import ray

from study import autoscaler
from study.spec import StudyError


@pytest.fixture
def two_cpu_node(monkeypatch):
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"CPU": 2.0}},
                                               {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}])


def test_an_unreadable_autoscaler_state_is_said_not_taken_for_no_autoscaler(two_cpu_node, monkeypatch):
    def moved():
        raise AttributeError("'GlobalState' object has no attribute 'get_cluster_config'")

    monkeypatch.setattr(ray._private.state.state, "get_cluster_config", moved)
    autoscaler.check_feasible(2, 0)  # a node up holds a trial: the autoscaler is never asked
    with pytest.raises(StudyError) as err:
        autoscaler.check_feasible(1, 1)
    assert str(err.value) == (
        f"each trial needs 1 CPU and 1 GPU, but no node of this Ray cluster has that (nodes: 2 CPU, 0 GPU), and Ray "
        f"{ray.__version__}'s autoscaler state could not be read: its cluster config (AttributeError: 'GlobalState' "
        "object has no attribute 'get_cluster_config'). If the cluster's autoscaler can add such a node, start the "
        "trials with a Ray this code knows (see pyproject.toml); else lower --cpus-per-trial / --gpus-per-trial, or "
        "add such a node.")
    assert "no autoscaler" not in str(err.value)


def test_a_status_of_another_shape_is_unreadable_too(two_cpu_node, monkeypatch):
    monkeypatch.setattr(ray._private.state.state, "get_cluster_config", lambda: None)  # no node types published
    monkeypatch.setattr(ray, "get_runtime_context", lambda: object())  # no gcs_address: another Ray's context
    with pytest.raises(StudyError, match=r"could not be read: its status \(AttributeError: "):
        autoscaler.check_feasible(1, 1)

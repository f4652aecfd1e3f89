"""Session-wide test settings: parsed-data caches and Ray/MLflow state stay in a
temporary folder, never in the user's home; and how pytest-xdist shares the tests out."""

import os

import pytest

# Modules that start a Ray cluster of their own (`ray.cluster_utils.Cluster`, `ray start`)
# run one after the other in one test process: each writes the address that
# `--address auto` finds, and the fake autoscaler's head needs Ray's default port.
RAY_CLUSTER_MODULES = {"tests.test_cluster", "tests.test_autoscaling"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """One xdist work unit per test module (its module-scoped launch runs once, in one
    process), the Ray-cluster modules together in one."""
    for item in items:
        module = item.module.__name__
        group = "ray-clusters" if module in RAY_CLUSTER_MODULES else module
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    if "FERLAB_CACHE_DIR" not in os.environ:
        os.environ["FERLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("ferlab-cache"))
    yield

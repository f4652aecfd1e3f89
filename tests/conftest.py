"""Session-wide test settings: parsed-data caches, Ray's auth token and Ray/MLflow state
stay in a temporary folder, never in the user's home; and how pytest-xdist shares the tests out."""

import os
import secrets
import shutil
from pathlib import Path

import pytest

from tests.servers import postgres_bin

# One compute thread per process (unless the environment says otherwise). The suite runs two
# test processes, and their launches run trials beside them: every core is busy already,
# and a second OpenMP or BLAS thread in a process only spin-waits for a core, burning CPU
# the other processes need. Set before torch or numpy is imported; the launches, Ray's
# workers and every other subprocess inherit it.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Modules that start a Ray cluster of their own (`ray.cluster_utils.Cluster`, `ray start`)
# run one after the other in one test process: each writes the machine's "current cluster"
# file, which a Ray driver started without an address reads.
RAY_CLUSTER_MODULES = {"tests.test_cluster", "tests.test_autoscaling", "tests.test_token_auth"}


# The longest work units, longest first (measured with `--durations`), so that neither
# process is left with a long one at the end while the other idles. The rest follow in
# file order. A stale list only costs time.
LONGEST_FIRST = ["tests.test_cyclegan_launch", "ray-clusters", "tests.test_fesr_launch", "tests.test_launch",
                 "tests.test_cloud_storage", "tests.test_tracking_server", "tests.test_fill", "tests.test_bench",
                 "tests.test_tracking_concurrency", "tests.test_synthetic_ratio", "tests.test_cyclegan",
                 "tests.test_dcgan_svm", "tests.test_tracking_cli", "tests.test_toy"]


# FERLAB_REQUIRE=postgres,chromium,datasets: the parts whose absence fails the run instead of
# skipping the tests that need them, so a CI image that lost one does not stay green.
DATASETS = Path(os.environ.get("FERLAB_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
REQUIRABLE = {
    "postgres": lambda: None if postgres_bin() else "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin "
                                                     "or on PATH)",
    "chromium": lambda: None if shutil.which("chromium") or shutil.which("chromium-browser")
                        else "no chromium or chromium-browser on PATH",
    "datasets": lambda: ", ".join(f"{DATASETS / name} is missing" for name in ("fer2013", "ckplus48")
                                  if not (DATASETS / name).is_dir()) or None,
}


def pytest_configure(config):
    wanted = [part.strip() for part in os.environ.get("FERLAB_REQUIRE", "").split(",") if part.strip()]
    unknown = [part for part in wanted if part not in REQUIRABLE]
    if unknown:
        pytest.exit(f"FERLAB_REQUIRE names unknown part(s) {', '.join(unknown)}; known: {', '.join(REQUIRABLE)}",
                    returncode=4)
    for part in wanted:
        if (missing := REQUIRABLE[part]()) is not None:
            pytest.exit(f"FERLAB_REQUIRE names {part}, but {missing}", returncode=4)


def _work_unit(item) -> str:
    module = item.module.__name__
    return "ray-clusters" if module in RAY_CLUSTER_MODULES else module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """One xdist work unit per test module (its module-scoped launch runs once, in one
    process), the Ray-cluster modules together in one; the longest units first."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_work_unit(item)))
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_work_unit(item), len(rank)))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    if "FERLAB_CACHE_DIR" not in os.environ:
        os.environ["FERLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("ferlab-cache"))
    _ray_token_of_our_own(tmp_path_factory)
    yield


def _ray_token_of_our_own(tmp_path_factory) -> None:
    """One Ray auth token file for every Ray this test process starts (and the launches,
    heads and nodes it starts, which inherit the variable). Without it a local Ray that finds
    no token writes one to ~/.ray/auth_token: the user's home, and on a fresh machine the test
    processes' first Rays write theirs over each other's, so a cluster that read one token
    refuses the calls of nodes started after another was written."""
    if "RAY_AUTH_TOKEN" in os.environ or "RAY_AUTH_TOKEN_PATH" in os.environ:
        return
    path = tmp_path_factory.mktemp("ray-auth") / "auth_token"
    path.write_text(secrets.token_hex(32))
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(path)

"""The MLflow store of a launch: opened once, its experiment made (or joined), and the
parent run that holds what reproduces the launch (commit, diff, package versions)."""

import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Param
from mlflow.exceptions import MlflowException

from study import sqlite_lock

PACKAGES = ("torch", "torchvision", "ray", "mlflow", "optuna", "numpy", "pandas", "scikit-learn", "albumentations")
REPO = Path(__file__).resolve().parents[2]

# MLflow 3's UI opens an experiment on its GenAI trace views unless the experiment says
# it holds model training runs; ours then open on the runs table.
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"


def artifacts_beside(tracking_uri: str) -> str | None:
    """`mlartifacts/` beside an SQLite store (as a file URI), where its artifacts go; None
    for other stores, whose server decides."""
    path = sqlite_lock.sqlite_path(tracking_uri)
    return None if path is None else (path.parent / "mlartifacts").resolve().as_uri()


def open_store(tracking_uri: str) -> MlflowClient:
    """A client of the store, opened once (an SQLite store's tables made) under
    `sqlite_lock.opening`: two launches may start together in one folder."""
    with sqlite_lock.opening(tracking_uri):
        client = MlflowClient(tracking_uri)
        client.search_experiments(max_results=1)
    return client


def ensure_experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """The experiment `name`, made if missing. Two launches that start together can both
    find it missing; the one whose create comes second joins the experiment the other made."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name, artifact_location=artifacts_beside(tracking_uri),
                                            tags={KIND_TAG: KIND})
        except MlflowException as e:
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            found = client.get_experiment_by_name(name)
    if not found.tags.get(KIND_TAG):
        client.set_experiment_tag(found.experiment_id, KIND_TAG, KIND)
    return found.experiment_id


def reproducibility_info() -> tuple[dict[str, str], str]:
    """Tags that say what reproduces a run (git commit, dirty flag, package versions) and
    the uncommitted diff (empty when clean or outside git)."""
    def git(*args):
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""
    sha = git("rev-parse", "HEAD") or "unknown"
    diff = git("diff", "HEAD") if sha != "unknown" else ""
    tags = {"ferlab.git_sha": sha, "ferlab.git_dirty": str(bool(diff)).lower(), "ferlab.python": platform.python_version()}
    for package in PACKAGES:
        try:
            tags[f"ferlab.version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return tags, diff


def start_parent(client: MlflowClient, experiment_id: str, name: str, tags: dict[str, str], params: dict,
                 diff: str) -> str:
    """`tags` should include reproducibility_info()'s; `diff` is logged as an artifact."""
    run = client.create_run(experiment_id, run_name=name, tags={**tags, "ferlab.role": "parent"})
    run_id = run.info.run_id
    client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    if diff:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "git_diff.patch").write_text(diff)
            client.log_artifact(run_id, str(Path(tmp) / "git_diff.patch"))
    return run_id


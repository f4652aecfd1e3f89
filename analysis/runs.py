"""MLflow → pandas: one row per trial run of a study.

The launcher writes one *parent* run per launch (tag ``ferlab.role=parent``) and one
*child* run per trial (``ferlab.role=trial``, ``mlflow.parentRunId=<parent>``) into
the experiment named after the study. ``load_runs`` turns the children of the chosen
parent(s) into a DataFrame with these columns:

- ``run_id``, ``parent_run_id``, ``run_name``, ``status``, ``start_time`` (ms epoch);
  ``parent_run_id`` is the launch a run belongs to: for a run of a ``--fill-missing``
  launch (parent tagged ``ferlab.fills``), the launch it completes; ``launch_run_id``
  is the parent it ran under. Choosing a launch or one of its fills loads them all;
- every ``ferlab.*`` tag without its prefix: ``study``, ``role``, ``trial_id``,
  ``variant``, ``dataset``, ``scale``, ``procedural`` (bool), ``seed``, ``fold``
  (int where the tag parses as one);
- every param prefixed ``param.`` and kept as the string MLflow stores
  (``param.net == "simple"``, ``param.seed == "0"``): the prefix keeps params apart
  from the tags of the same name (seed, fold), and strings avoid guessing types;
- every metric under its own key (``test/acc_at_best_val``), at its latest value.
  Per-epoch histories are not loaded: tables use the final summary metrics.

Both sources of runs make the frame the same way: ``load_runs`` reads an MLflow store,
``analysis.exported.load_exports`` reads exported files; each turns a run into a plain
record (``run_record``: id, name, status, start time, tags, params, metrics) and hands
the records to ``runs_frame``, which alone turns records into rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd

from analysis import ReportError

PARENT_TAG = "mlflow.parentRunId"
TAG_PREFIX = "ferlab."
PARAM_PREFIX = "param."
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_INT_TAGS = ("seed", "fold")
# Columns every frame has, even an empty one, so callers can group without checks.
BASE_COLUMNS = ["run_id", "parent_run_id", "run_name", "status", "start_time",
                "study", "role", "trial_id", "variant", "dataset", "scale",
                "procedural", "seed", "fold"]


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The URI to read: the argument, else ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///mlflow.db`` in the working directory.

    A sqlite URI whose file does not exist is an error: opening it would silently
    create an empty store and the user would see "unknown experiment" instead of
    "wrong path".
    """
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.exists():
            raise ReportError(f"no MLflow store at {path.resolve()} (tracking URI {uri}); "
                              "pass --tracking-uri or set MLFLOW_TRACKING_URI")
    return uri


def _client(tracking_uri: str | None):
    from mlflow import MlflowClient  # imported here: mlflow takes seconds to import

    return MlflowClient(tracking_uri=resolve_tracking_uri(tracking_uri))


def _search_all(client, experiment_id: str, filter_string: str,
                order_by: list[str] | None = None) -> list:
    """Every page of ``client.search_runs`` (it returns at most 1000 per page)."""
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string,
                                  max_results=1000, order_by=order_by, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _experiment(client, study: str):
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        known = sorted(e.name for e in client.search_experiments() if e.name != "Default")
        raise ReportError(f"no MLflow experiment named {study!r} at {client.tracking_uri}; "
                          f"experiments there: {', '.join(known) or '(none)'}")
    return experiment


def _parents(client, experiment) -> pd.DataFrame:
    return parents_frame(parent_records(client, experiment))


def parent_records(client, experiment) -> list[dict]:
    """The records (``run_record``) of the study's parent runs, newest first."""
    return [run_record(r) for r in _search_all(client, experiment.experiment_id,
                                               f"tags.`{TAG_PREFIX}role` = 'parent'",
                                               order_by=["attributes.start_time DESC"])]


def parents_frame(records: list[dict]) -> pd.DataFrame:
    """Parent runs' records as rows: run_id, start_time, status and the ferlab tags
    without prefix (``fills`` among them)."""
    rows = [{"run_id": r["run_id"], "start_time": r["start_time"], "status": r["status"],
             **_ferlab_tags(r["tags"])} for r in records]
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "start_time", "status"])


def _choose_parents(parents: pd.DataFrame, study: str, parent: str) -> list[str]:
    """Resolve ``parent`` ("latest", "all" or a run id) to parent run ids.

    The parent's own status does not matter: the launcher renders the report at the
    end of a launch, before it closes its parent run.
    """
    if parents.empty:
        raise ReportError(f"experiment {study!r} has no parent run (tag {TAG_PREFIX}role=parent)")
    if parent == "all":
        return list(parents["run_id"])
    if parent == "latest":
        # Newest first; run_id breaks ties between launches started in the same ms.
        parent = parents.sort_values(["start_time", "run_id"], ascending=False)["run_id"].iloc[0]
    if parent in set(parents["run_id"]):
        root = _root_of(parents)[parent]
        return [root] + [p for p, r in _root_of(parents).items() if r == root and p != root]
    listing = "; ".join(f"{r.run_id} (started {pd.to_datetime(r.start_time, unit='ms')}, "
                        f"{r.status})" for r in parents.itertuples())
    raise ReportError(f"no parent run {parent!r} in experiment {study!r}; "
                      f"use 'latest', 'all' or one of: {listing}")


def _root_of(parents: pd.DataFrame) -> dict[str, str]:
    """Parent run id → the launch it belongs to: itself, or for a `--fill-missing`
    launch (tag ferlab.fills) the launch it completes."""
    fills = parents["fills"] if "fills" in parents else pd.Series(None, index=parents.index)
    return {r: (f if isinstance(f, str) and f else r) for r, f in zip(parents["run_id"], fills)}


def _ferlab_tags(tags: dict[str, str]) -> dict:
    out = {}
    for key, value in tags.items():
        if not key.startswith(TAG_PREFIX):
            continue
        name = key[len(TAG_PREFIX):]
        if name == "procedural":
            value = value.strip().lower() == "true"
        elif name in _INT_TAGS:
            try:
                value = int(value)
            except ValueError:
                pass
        out[name] = value
    return out


def run_record(run) -> dict:
    """An MLflow run as plain data: what an export stores of a run and what its row is
    made from. Metrics are the latest values MLflow keeps (``run.data.metrics``)."""
    return {"run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
            "start_time": run.info.start_time, "end_time": run.info.end_time,
            "tags": dict(run.data.tags), "params": dict(run.data.params),
            "metrics": dict(run.data.metrics)}


def run_row(record: dict) -> dict:
    """One DataFrame row of a run's record (the columns are in this module's docstring)."""
    tags = record["tags"]
    row = {"run_id": record["run_id"], "parent_run_id": tags.get(PARENT_TAG),
           "run_name": record["run_name"], "status": record["status"],
           "start_time": record["start_time"]}
    row.update(_ferlab_tags(tags))
    row.update({PARAM_PREFIX + k: v for k, v in record["params"].items()})
    row.update(record["metrics"])
    return row


def runs_frame(launches: list[tuple[str, list[dict]]], root_of: dict[str, str],
               statuses: Iterable[str] | None = ("FINISHED",)) -> pd.DataFrame:
    """The frame of ``load_runs`` from records: ``launches`` holds (parent run id, its
    child runs' records) per chosen parent; ``root_of`` maps a parent to the launch it
    belongs to (``_root_of``). Children not tagged as trials are left out."""
    rows = []
    for parent_id, children in launches:
        # A fill's runs belong to the launch they complete: they pair with its runs.
        rows.extend({**run_row(r), "parent_run_id": root_of[parent_id], "launch_run_id": parent_id}
                    for r in children if r["tags"].get(TAG_PREFIX + "role", "trial") == "trial")
    frame = pd.DataFrame(rows)
    for column in BASE_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    if statuses is not None:
        frame = frame[frame["status"].isin(list(statuses))]
    return frame.sort_values(["start_time", "run_id"]).reset_index(drop=True)


def children_of(client, experiment, parent_id: str) -> list[dict]:
    """The records of every run nested under ``parent_id`` (tag mlflow.parentRunId)."""
    return [run_record(r) for r in _search_all(client, experiment.experiment_id,
                                               f"tags.`{PARENT_TAG}` = '{parent_id}'")]


def load_runs(study: str, tracking_uri: str | None = None, parent: str = "latest",
              statuses: Iterable[str] | None = ("FINISHED",)) -> pd.DataFrame:
    """One row per child run of the chosen parent(s) of experiment ``study``.

    ``parent``: "latest" (the newest parent run), "all", or a parent run id.
    ``statuses``: which run statuses to keep; only FINISHED runs count in tables,
    ``None`` keeps every run (the report uses that to say how many it dropped).
    Raises ``ReportError`` when the experiment or parent does not exist, listing
    what does. The columns are described in this module's docstring.
    """
    client = _client(tracking_uri)
    experiment = _experiment(client, study)
    parents = _parents(client, experiment)
    chosen = _choose_parents(parents, study, parent)
    launches = [(parent_id, children_of(client, experiment, parent_id)) for parent_id in chosen]
    return runs_frame(launches, _root_of(parents), statuses)

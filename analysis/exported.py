"""Exported launches read back (`python -m analysis.export` writes them): one file's
document, checked to be one this version reads, and the runs of several files as one
frame, as the report reads them from an MLflow store."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

from analysis import ReportError
from analysis.runs import _root_of, parents_frame, runs_frame

FORMAT, VERSION = "ferlab-runs", 1
SUFFIX = ".json.gz"


def read_export(path: str | Path) -> dict:
    """An export's document, checked to be one this version reads."""
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise ReportError(f"no export file {path}") from None
    except (OSError, json.JSONDecodeError, EOFError) as err:
        raise ReportError(f"{path} is not a gzipped JSON export ({err})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ReportError(f"{path} is not a {FORMAT} export (python -m analysis.export writes them)")
    if document.get("version") != VERSION:
        raise ReportError(f"{path} is {FORMAT} version {document.get('version')}; this ferlab reads version {VERSION}")
    return document


def load_exports(study: str, paths: list[str | Path], statuses=("FINISHED",)) -> pd.DataFrame:
    """The runs of one or more exports of ``study`` as ``load_runs`` makes them from the
    store: every launch in every file, their runs side by side (a study split into
    launches by folds or seeds). A run (or launch) found twice is refused: two exports
    of one launch would count its runs twice."""
    documents = [(Path(p), read_export(p)) for p in paths]
    seen: dict[str, Path] = {}
    launches, parents = [], []
    for path, document in documents:
        if document["study"] != study:
            raise ReportError(f"{path} holds runs of study {document['study']!r}, not {study!r}")
        for launch in document["launches"]:
            for record in [launch["parent"], *launch["runs"]]:
                if record["run_id"] in seen:
                    raise ReportError(f"run {record['run_id']} is in both {seen[record['run_id']]} and {path}: "
                                      "each launch must be exported once; pass each file once")
                seen[record["run_id"]] = path
            parents.append(launch["parent"])
            launches.append((launch["parent"]["run_id"], launch["runs"]))
    return runs_frame(launches, _root_of(parents_frame(parents)), statuses)

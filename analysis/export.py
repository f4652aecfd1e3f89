"""A launch's runs in one file that travels with the repository, and the runs read back.

    python -m analysis.export <study> [--tracking-uri URI] [--parent latest|all|RUN_ID]
                                      [--out FILE] [--force] [--no-samples] [--samples-cap-kb N]

writes ``results/<study>/<launch name>.json.gz`` (or ``--out``): gzipped JSON, format
``ferlab-runs`` version 1::

    {"format": "ferlab-runs", "version": 1, "study": ..., "exported_at": "<UTC ISO time>",
     "parent": "<the --parent asked for>",
     "launches": [{"parent": RECORD + {"git_diff": ...}, "runs": [RECORD, ...]}, ...],
     "samples": {"dir": "<name>_samples", "files": [...], "skipped": [...]}}

One entry in ``launches`` per parent run chosen (a launch and its ``--fill-missing``
fills, as ``--parent`` chooses them in ``analysis.report``). A RECORD is
``analysis.runs.run_record``: run id, name, status, start and end time (ms epoch), tags,
params and each metric's latest value, which is everything ``load_runs`` makes its rows
from, so ``analysis.exported.load_exports`` builds the same DataFrame and the same tables. The parent's
tags hold the launch's options, scale, dataset, deviations and commit (``ferlab.git_sha``,
``ferlab.git_dirty``); its uncommitted diff rides along as ``git_diff`` when under 200 kB.

Not exported: per-step metric histories (no table reads them: every layout reads the
summary metrics, ``selection/at_fraction`` among them), the tags ``mlflow.user`` and
``mlflow.source.*`` (who and where, not what), models, checkpoints, predictions and
feature artifacts (``analysis.manifold``'s t-SNE plots need MLflow). Sample grids
(PNG artifacts named ``*samples*`` or ``fesgan_*``; of an epoch series only the last) of
the first finished run of each variant (lowest seed, then fold) are copied to
``<name>_samples/<variant>/`` beside the file, up to ``--samples-cap-kb`` in all; the
file lists what was copied and what the cap left out.

Metric values NaN and ±inf are written as JSON's common extension (``NaN``,
``Infinity``), which Python reads back. An existing output is kept unless ``--force``;
the file and the grids' folder each appear whole or not at all (the `atomic` package). Errors that the
user can fix exit with status 2 and one line.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import atomic
from analysis import ReportError
from analysis.exported import FORMAT, SUFFIX, VERSION, read_export
from analysis.runs import (TAG_PREFIX, _choose_parents, _client, _experiment, _root_of,
                           children_of, parent_records, parents_frame, run_row)

DROPPED_TAGS = re.compile(r"^mlflow\.(user|source\..*)$")
SAMPLE_GRID = re.compile(r"^(?:.*samples.*|fesgan_.*)\.png$")
EPOCH = re.compile(r"_epoch\d+")  # dcgan_samples_epoch004.png: one series, keep its last
DEFAULT_SAMPLES_CAP_KB = 2048
GIT_DIFF_CAP = 200_000


def export_launch(study: str, tracking_uri: str | None = None, parent: str = "latest",
                  out: str | Path | None = None, force: bool = False, samples: bool = True,
                  samples_cap_kb: int = DEFAULT_SAMPLES_CAP_KB) -> Path:
    """Write the chosen launch(es) of ``study`` to ``out`` (default
    ``results/<study>/<launch name>.json.gz``); returns the path. Raises ``ReportError``."""
    from analysis.layouts import get_layout

    get_layout(study)  # an unknown study fails before MLflow is opened
    client = _client(tracking_uri)
    experiment = _experiment(client, study)
    records = parent_records(client, experiment)
    frame = parents_frame(records)
    chosen = _choose_parents(frame, study, parent)
    by_id = {r["run_id"]: r for r in records}
    launches = [{"parent": _parent_entry(client, by_id[p]),
                 "runs": [_trimmed(r) for r in children_of(client, experiment, p)]} for p in chosen]
    trials = [r for launch in launches for r in launch["runs"]
              if r["tags"].get(TAG_PREFIX + "role", "trial") == "trial"]
    if not trials:
        raise ReportError(f"no trial runs under parent run(s) {', '.join(chosen)} of study {study!r}: "
                          "nothing to export")
    out = Path(out) if out is not None else _default_out(study, launches, _root_of(frame))
    samples_dir = out.parent / (out.name.removesuffix(SUFFIX) + "_samples")
    if not force and (out.exists() or samples_dir.exists()):
        raise ReportError(f"{out if out.exists() else samples_dir} exists; pass --force to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    if samples:  # the grids first: the export names them
        with atomic.atomic_folder(samples_dir) as grids:
            listing = _sample_grids(client, trials, grids, samples_cap_kb * 1024)
        if not listing["files"]:
            samples_dir.rmdir()
    else:
        listing = {"files": [], "skipped": ["not asked for (--no-samples)"]}
        if samples_dir.exists():  # --force over an export that had grids
            shutil.rmtree(samples_dir)
    document = {"format": FORMAT, "version": VERSION, "study": study,
                "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "parent": parent,
                "launches": launches, "samples": {"dir": samples_dir.name, **listing}}
    atomic.write_bytes(out, _gzip(json.dumps(document, separators=(",", ":")).encode()))
    return out


def _trimmed(record: dict) -> dict:
    return {**record, "tags": {k: v for k, v in record["tags"].items() if not DROPPED_TAGS.match(k)}}


def _parent_entry(client, record: dict) -> dict:
    """The parent's record, and the uncommitted diff its launch ran with (when small)."""
    from mlflow.exceptions import MlflowException

    entry = _trimmed(record)
    if record["tags"].get(TAG_PREFIX + "git_dirty") == "true":
        with tempfile.TemporaryDirectory(prefix="ferlab-export-") as tmp:
            try:
                diff = Path(client.download_artifacts(record["run_id"], "git_diff.patch", tmp)).read_text()
            except (MlflowException, OSError) as err:  # an artifact store out of reach: the file says so
                diff = f"(not exported: {type(err).__name__})"
        entry["git_diff"] = diff if len(diff) <= GIT_DIFF_CAP else f"(not exported: {len(diff)} characters)"
    return entry


def _default_out(study: str, launches: list[dict], root_of: dict[str, str]) -> Path:
    roots = {root_of[launch["parent"]["run_id"]] for launch in launches}
    if len(roots) != 1:
        raise ReportError(f"{len(roots)} launches chosen: name the file with --out")
    (root,) = roots
    name = next(launch["parent"]["run_name"] for launch in launches if launch["parent"]["run_id"] == root)
    return Path("results") / study / f"{name or root}{SUFFIX}"


def _gzip(data: bytes) -> bytes:
    """gzip without the time stamp in its header: the same content gives the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


def _sample_grids(client, trials: list[dict], into: Path, cap_bytes: int) -> dict:
    from mlflow.exceptions import MlflowException

    try:
        return _copy_sample_grids(client, trials, into, cap_bytes)
    except (MlflowException, OSError) as err:
        raise ReportError(f"cannot copy the runs' sample grids ({type(err).__name__}: {err}); "
                          "--no-samples exports without them") from None


def _copy_sample_grids(client, trials: list[dict], into: Path, cap_bytes: int) -> dict:
    """Each variant's sample grids from its first finished run that has any, up to
    ``cap_bytes`` in all: {"files": [...], "skipped": [...]}."""
    rows = pd.DataFrame([run_row(r) for r in trials])
    finished = rows[rows["status"] == "FINISHED"]
    if "variant" not in finished:
        finished = finished.assign(variant=finished["run_name"])
    files, skipped, used, total = [], [], set(), 0
    for variant, sub in finished.groupby(finished["variant"].astype(str), sort=True):
        order = [c for c in ("seed", "fold", "run_id") if c in sub]
        for run_id in sub.sort_values(order)["run_id"]:
            names = _sample_names(client, run_id)
            if not names:
                continue
            folder = re.sub(r"[^A-Za-z0-9._+-]+", "_", variant)
            folder = folder if folder not in used else f"{folder}-{run_id[:8]}"
            used.add(folder)
            (into / folder).mkdir(parents=True)
            for name in names:
                local = Path(client.download_artifacts(run_id, name, str(into / folder)))
                size = local.stat().st_size
                if total + size > cap_bytes:
                    local.unlink()
                    skipped.append(f"{folder}/{name} ({size} bytes: over the {cap_bytes // 1024} kB cap)")
                    continue
                total += size
                files.append({"path": f"{folder}/{name}", "run_id": run_id, "variant": variant, "bytes": size})
            break
    return {"files": files, "skipped": skipped}


def _sample_names(client, run_id: str) -> list[str]:
    names = sorted(a.path for a in client.list_artifacts(run_id) if not a.is_dir and SAMPLE_GRID.match(a.path))
    last = {EPOCH.sub("", n): n for n in names}  # sorted: the last of each series wins
    return sorted(last.values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.export",
                                     description="Export a launch's MLflow runs to one file under results/<study>/.")
    parser.add_argument("study", help="study name = MLflow experiment name")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--parent", default="latest",
                        help="which launch: 'latest' (default), 'all', or a parent run id")
    parser.add_argument("--out", default=None, help="the file (default results/<study>/<launch name>.json.gz)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file and its samples")
    parser.add_argument("--no-samples", action="store_true", help="copy no sample grids")
    parser.add_argument("--samples-cap-kb", type=int, default=DEFAULT_SAMPLES_CAP_KB,
                        help=f"most kB of sample grids to copy (default {DEFAULT_SAMPLES_CAP_KB})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per sample grid otherwise
    try:
        path = export_launch(args.study, args.tracking_uri, args.parent, args.out, args.force,
                             samples=not args.no_samples, samples_cap_kb=args.samples_cap_kb)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    document = read_export(path)
    runs = sum(len(launch["runs"]) for launch in document["launches"])
    samples = document["samples"]
    print(f"Exported {runs} runs of {len(document['launches'])} parent run(s) to {path} "
          f"({path.stat().st_size / 1024:.0f} kB); {len(samples['files'])} sample grids in "
          f"{path.parent / samples['dir'] if samples['files'] else '(none)'}")
    for line in samples["skipped"]:
        print(f"  sample grid left out: {line}")
    print(f"Tables from it: python -m analysis.report {args.study} --runs {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m trainables.data info <dataset>`: what a dataset holds, before anyone
trains on it: images per split and class, subjects, and cross-split duplicates.
The last line is always `total: N images, S subjects` (S = 0 without subject ids).
"""

from __future__ import annotations

import argparse
import ast
import sys

import numpy as np

from trainables.data.core import EMOTIONS, USAGES, DataError, FaceData
from trainables.data.duplicates import NEAR_DISTANCE, find_cross_split_duplicates, summary_lines
from trainables.data.registry import list_datasets, load_dataset


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        options = dict(_option(o) for o in args.option)
        data = load_dataset(args.dataset, args.data_root, cache_dir=args.cache_dir, **options)
        lines = describe(data, args.max_distance)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def describe(data: FaceData, max_distance: int = NEAR_DISTANCE) -> list[str]:
    lines = [f"dataset: {data.name} (source sha256 {data.content_hash[:16]}...)"]
    if data.procedural:
        lines.append("procedural demo data: drawn by a generator, not real faces")
    lines += data.notes
    lines += class_table(data)
    if data.usage is None:
        lines.append("cross-split duplicates: n/a (no official split)")
    else:
        lines += summary_lines(find_cross_split_duplicates(data, max_distance))
    n_subjects = data.n_subjects()
    lines.append(f"subjects: {n_subjects}" if n_subjects else "no subject ids")
    lines.append(f"total: {len(data)} images, {n_subjects} subjects")
    return lines


def class_table(data: FaceData) -> list[str]:
    """Images per split (rows) and class (columns), with totals."""
    classes = [EMOTIONS.index(c) for c in data.classes()]
    if data.usage is None:
        rows = [("all", np.ones(len(data), bool))]
    else:
        rows = [(u, data.usage == u) for u in USAGES if (data.usage == u).any()]
        rows.append(("all", np.ones(len(data), bool)))
    header = ["split"] + [EMOTIONS[c] for c in classes] + ["total"]
    table = [header]
    for name, mask in rows:
        counts = np.bincount(data.labels[mask], minlength=len(EMOTIONS))
        table.append([name] + [str(counts[c]) for c in classes] + [str(mask.sum())])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        for row in table
    ]


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise DataError(f"--option needs KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainables.data", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="images per split and class, subjects, duplicates")
    info.add_argument("dataset", help=f"one of: {', '.join(list_datasets())}")
    info.add_argument("--data-root", default=None, help="dataset folder or file")
    info.add_argument(
        "--cache-dir", default=None,
        help="parsed-data cache (default $FERLAB_CACHE_DIR, else ~/.cache/ferlab)",
    )
    info.add_argument(
        "--max-distance", type=int, default=NEAR_DISTANCE,
        help=f"pHash Hamming distance for near duplicates (default {NEAR_DISTANCE})",
    )
    info.add_argument(
        "--option", "-o", action="append", default=[], metavar="KEY=VALUE",
        help="loader option, e.g. -o n_images=500 (values parsed as Python literals)",
    )
    return p

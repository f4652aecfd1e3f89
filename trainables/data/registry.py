"""Datasets by name: a small explicit dict of loader functions, one module each.

A loader is `load(data_root, *, cache_dir=None, **options) -> FaceData`; it rejects
options it does not know, and raises DataError for anything it cannot use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from trainables.data import fer2013, imagefolder, synthfaces
from trainables.data.core import DataError, FaceData

DATASETS: dict[str, Callable[..., FaceData]] = {
    "fer2013": fer2013.load,
    "ckplus": imagefolder.load_ckplus,
    "imagefolder": imagefolder.load,
    "synthfaces": synthfaces.load,
}


# Datasets whose data carry an official train/validation/test split (FER2013's Usage
# column); the others are split into folds. Known without loading, for `--dry-run`.
OFFICIAL_SPLIT = frozenset({"fer2013"})


def list_datasets() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(DATASETS)


def load_dataset(
    name: str, data_root: str | Path | None = None, *,
    cache_dir: str | Path | None = None, **options,
) -> FaceData:
    """Load dataset `name` from `data_root` (ignored by synthfaces). Parsed arrays are
    cached under `cache_dir` (else $FERLAB_CACHE_DIR, else ~/.cache/ferlab)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    return DATASETS[name](data_root, cache_dir=cache_dir, **options)

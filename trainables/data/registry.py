"""Datasets by name: a small explicit dict of loader functions, one module each.

A loader is `load(data_root, *, cache_dir=None, **options) -> FaceData`; it rejects
options it does not know, and raises DataError for anything it cannot use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from trainables.data import fer2013, imagefolder, presets, synthfaces
from trainables.data.core import DataError, FaceData

DATASETS: dict[str, Callable[..., FaceData]] = {
    "fer2013": fer2013.load,
    "ckplus": imagefolder.load_ckplus,
    "imagefolder": imagefolder.load,
    "jaffe": presets.load_jaffe,
    "kdef": presets.load_kdef,
    "rafd": presets.load_rafd,
    "synthfaces": synthfaces.load,
}


# Datasets whose data carry an official train/validation/test split (FER2013's Usage
# column); the others are split into folds. Known without loading, for `--dry-run`.
OFFICIAL_SPLIT = frozenset({"fer2013"})
# Datasets whose loader always gives subject ids, so 'auto' splits them into
# subject-independent folds (imagefolder does only with a subject_regex).
SUBJECT_IDS = frozenset({"ckplus", "jaffe", "kdef", "rafd", "synthfaces"})


def split_protocol(name: str) -> str:
    """How the 'auto' protocol splits dataset `name`, known without loading it."""
    if name in OFFICIAL_SPLIT:
        return "the official train/validation/test split"
    if name in SUBJECT_IDS:
        return "subject-independent k-fold (subject ids from the data)"
    return "subject-independent k-fold when subject_regex gives subject ids, else stratified k-fold"


def list_datasets() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(DATASETS)


# Loaders that give a dataset's labels, subjects and hash for less than its images cost
# (images of the right shape, not the data's): a launch's driver needs no faces.
WITHOUT_IMAGES: dict[str, Callable[..., FaceData]] = {"synthfaces": synthfaces.load_labels}


def load_dataset(
    name: str, data_root: str | Path | None = None, *,
    cache_dir: str | Path | None = None, images: bool = True, **options,
) -> FaceData:
    """Load dataset `name` from `data_root` (ignored by synthfaces). Parsed arrays are
    cached under `cache_dir` (else $FERLAB_CACHE_DIR, else ~/.cache/ferlab). With
    `images=False` the images may be stand-ins where the loader has a cheaper way."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    loader = DATASETS[name] if images else WITHOUT_IMAGES.get(name, DATASETS[name])
    return loader(data_root, cache_dir=cache_dir, **options)

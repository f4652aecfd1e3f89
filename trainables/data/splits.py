"""Train / val / test index splits: the official one, stratified k-fold, and
subject-independent k-fold. All are deterministic for a seed.

Subject-independent splits matter for CK+: its three frames per sequence are
near-duplicates, so any split that puts one subject on both sides of train/test
measures identity memorisation, not expression recognition.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from trainables.data.core import DataError, FaceData

PROTOCOLS = ("official", "kfold", "subject_kfold")


@dataclass(frozen=True, eq=False)
class Splits:
    """int64 index arrays into a FaceData, sorted and pairwise disjoint."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __post_init__(self):
        for name in ("train", "val", "test"):
            object.__setattr__(self, name, np.sort(np.asarray(getattr(self, name), np.int64)))
        pairs = ((self.train, self.val), (self.train, self.test), (self.val, self.test))
        if any(np.intersect1d(a, b).size for a, b in pairs):
            raise DataError("train, val and test share indices")


def make_splits(
    data: FaceData, protocol: str, *, seed: int, fold: int = 0, n_folds: int = 10,
    val_fraction: float = 0.1, class_fraction: float | None = None,
) -> Splits:
    """Split `data` by `protocol` (one of PROTOCOLS); see the module docstring.

    `val_fraction` is the share of the non-test part carved out as validation
    (stratified; by subject for subject_kfold). `class_fraction` subsamples each
    class of train to that fraction (Zhu et al. train on 20 % of each class).
    """
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown split protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if not 0 <= val_fraction < 1:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    if protocol == "official":
        train, val, test = _official(data, val_fraction, seed)
    else:
        if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
            raise DataError(f"n_folds must be an integer >= 2, got {n_folds!r}")
        if not isinstance(fold, (int, np.integer)) or not 0 <= fold < n_folds:
            raise DataError(
                f"fold must be in 0..{n_folds - 1} for n_folds={n_folds}, got {fold!r}"
            )
        if protocol == "kfold":
            test = stratified_kfold(data.labels, n_folds, seed)[fold]
            rest = np.setdiff1d(np.arange(len(data)), test)
            train, val = _carve_stratified(data.labels, rest, val_fraction, seed)
        else:
            if data.subjects is None:
                raise DataError(f"{data.name} has no subject ids; subject_kfold needs them")
            test = subject_kfold(data.subjects, data.labels, n_folds, seed)[fold]
            rest = np.setdiff1d(np.arange(len(data)), test)
            train, val = _carve_subjects(data.subjects, data.labels, rest, val_fraction, seed)
    if class_fraction is not None:
        train = sample_class_fraction(data.labels, train, class_fraction, seed)
    splits = Splits(train, val, test)
    if protocol == "subject_kfold":
        check_subject_disjoint(data.subjects, splits)
    return splits


def stratified_kfold(labels, n_folds: int, seed: int) -> list[np.ndarray]:
    """Test-index arrays of a shuffled stratified k-fold; they partition the data."""
    labels = np.asarray(labels)
    if len(labels) < n_folds:
        raise DataError(f"cannot make {n_folds} folds of {len(labels)} images")
    kf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class")
        return [np.sort(te).astype(np.int64) for _, te in kf.split(np.zeros(len(labels)), labels)]


def subject_kfold(subjects, labels, n_folds: int, seed: int) -> list[np.ndarray]:
    """Test-index arrays of a shuffled stratified group k-fold: each subject's images
    fall in exactly one fold, and class proportions are kept as far as groups allow."""
    subjects, labels = np.asarray(subjects), np.asarray(labels)
    n_subjects = len(np.unique(subjects))
    if n_subjects < n_folds:
        raise DataError(f"cannot make {n_folds} subject-disjoint folds from {n_subjects} subjects")
    kf = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class")
        folds = [te for _, te in kf.split(np.zeros(len(labels)), labels, subjects)]
    return [np.sort(te).astype(np.int64) for te in folds]


def sample_class_fraction(labels, idx, fraction: float, seed: int) -> np.ndarray:
    """Sorted subset of `idx` keeping round(fraction × count) of each class (at least
    one), chosen at random but deterministically for `seed`."""
    if not 0 < fraction <= 1:
        raise DataError(f"class_fraction must be in (0, 1], got {fraction}")
    labels, idx = np.asarray(labels), np.asarray(idx, np.int64)
    rng = _rng(seed, "class_fraction")
    keep = []
    for c in np.unique(labels[idx]):
        members = idx[labels[idx] == c]
        k = max(1, int(round(fraction * len(members))))
        keep.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(keep)) if keep else idx[:0]


def check_subject_disjoint(subjects, splits: Splits) -> None:
    """Raise if any subject has images in more than one of train / val / test."""
    subjects = np.asarray(subjects)
    train, val, test = (set(subjects[getattr(splits, k)]) for k in ("train", "val", "test"))
    shared = (train & val) | (train & test) | (val & test)
    if shared:
        raise RuntimeError(f"subjects in more than one split: {sorted(shared)[:10]}")


def _official(data: FaceData, val_fraction: float, seed: int):
    if data.usage is None:
        raise DataError(
            f"{data.name} has no official split; use protocol 'kfold' or 'subject_kfold'"
        )
    train, val, test = (np.flatnonzero(data.usage == u) for u in ("train", "val", "test"))
    if len(val) == 0:
        train, val = _carve_stratified(data.labels, train, val_fraction, seed)
    return train, val, test


def _carve_stratified(labels, idx, fraction, seed):
    """(rest, val): round(fraction × count) of each class of idx goes to val."""
    rng = _rng(seed, "val")
    val = []
    for c in np.unique(labels[idx]):
        members = rng.permutation(idx[labels[idx] == c])
        val.append(members[: int(round(fraction * len(members)))])
    val = np.concatenate(val) if val else idx[:0]
    return np.setdiff1d(idx, val), val


def _carve_subjects(subjects, labels, idx, fraction, seed):
    """(rest, val) with val made of whole subjects: one fold of a stratified group
    k-fold over idx with k = round(1 / fraction), so val is about `fraction` of idx."""
    if fraction == 0:
        return idx, idx[:0]
    n_subjects = len(np.unique(subjects[idx]))
    k = min(max(2, int(round(1 / fraction))), n_subjects)
    if k < 2:
        raise DataError(f"only {n_subjects} subject(s) outside the test fold; cannot carve val")
    seed_val = int(_rng(seed, "val").integers(2**31))
    val = subject_kfold(subjects[idx], labels[idx], k, seed_val)[0]
    return np.delete(idx, val), idx[val]


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(purpose.encode())])

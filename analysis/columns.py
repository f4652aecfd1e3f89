"""The columns a table aggregates: which run metric, under which paper metric, at which
scale; the overall and the per-class ones. Tables report the test metrics at the epoch
chosen on validation (``AT_BEST``), never the best test."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")
AT_BEST = "_at_best_val"


@dataclass(frozen=True)
class Column:
    label: str  # header of our column
    metric: str  # run column aggregated, e.g. "test/acc_at_best_val"
    ref_metric: str | None = None  # Reference.metric the papers' numbers are filed under
    scale: float = 100.0  # shown as mean × scale: 100 for rates in %, 1 for raw values (FID)
    rate: bool = True  # bounded in [0, 1] (accuracy, F1, AUC): its interval stays inside (SSIM is not)


def overall_columns() -> list[Column]:
    return [Column("overall acc", f"test/acc{AT_BEST}", "acc"),
            Column("macro-F1", f"test/macro_f1{AT_BEST}", "macro_f1")]


def classes_in(runs: pd.DataFrame, prefix: str = "test/acc_") -> list[str]:
    """The classes with a ``<prefix><class>_at_best_val`` metric, in canonical order."""
    return [c for c in CLASSES if f"{prefix}{c}{AT_BEST}" in runs.columns]


def class_columns(runs: pd.DataFrame, one_vs_rest: bool = False) -> list[Column]:
    """Per-class accuracy columns (or one-vs-rest accuracy) for the classes present."""
    kind = "ovr_acc" if one_vs_rest else "acc"
    return [Column(f"{kind.replace('_', ' ')} {c}", f"test/{kind}_{c}{AT_BEST}", f"{kind}_{c}")
            for c in classes_in(runs, f"test/{kind}_")]

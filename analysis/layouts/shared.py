"""What several studies' layouts share: the check that runs carry a study's columns, the
synthesis gates of the CycleGAN arms, the note on evaluation images left out as copies of
training images, and the note on how FESR's data differs from ours."""

from __future__ import annotations

import pandas as pd

from analysis import ReportError
from analysis.gates import Gate


def require_columns(runs: pd.DataFrame, columns: list[str], study: str) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ReportError(f"the {study} tables need run column(s) {missing}, which these runs lack: "
                          f"are they runs of a {study} launch?")


def dropped_note(runs: pd.DataFrame) -> str | None:
    """The footnote saying how many validation and test images the runs left out for a
    pixel-identical copy in their training split (`data/n_dropped_val`, `data/n_dropped_test`,
    logged where the study drops them: its arms repeat training images), or None."""
    counts = []
    for split, label in (("val", "validation"), ("test", "test")):
        found = sorted({int(v) for v in runs.get(f"data/n_dropped_{split}", pd.Series(dtype=float)).dropna()})
        if found:
            counts.append(f"{found[0] if len(found) == 1 else f'{found[0]}–{found[-1]}'} {label}")
    if not counts:
        return None
    return (f"Left out of evaluation for a pixel-identical copy in the training split: {' and '.join(counts)} images "
            "per run (an arm that repeats training images has memorised them; a declared deviation from the "
            "official split).")


FESR_DATA_NOTE = ("FESR's CK+ numbers are on 128×128 Dlib-aligned faces with a frozen Light CNN-29 trunk; "
                  "ours on the dataset and size in the line above, with R's first layers trained from scratch "
                  "(Light CNN cannot be downloaded here).")

# A CycleGAN arm's gate: the target classes its generated images must be read as
# (None: every target the arm's runs logged).
CYCLEGAN_GATES = {"+disgust": Gate(("disgust",)), "+sad": Gate(("sad",)), "+all": Gate(), "dag": Gate()}

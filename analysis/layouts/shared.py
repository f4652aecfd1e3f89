"""What several studies' layouts share: the check that runs carry a study's columns, the
synthesis gates of the CycleGAN arms, and the note on how FESR's data differs from ours."""

from __future__ import annotations

import pandas as pd

from analysis import ReportError
from analysis.verdicts import Gate


def require_columns(runs: pd.DataFrame, columns: list[str], study: str) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ReportError(f"the {study} tables need run column(s) {missing}, which these runs lack: "
                          f"are they runs of a {study} launch?")


FESR_DATA_NOTE = ("FESR's CK+ numbers are on 128×128 Dlib-aligned faces with a frozen Light CNN-29 trunk; "
                  "ours on the dataset and size in the line above, with R's first layers trained from scratch "
                  "(Light CNN cannot be downloaded here).")

# A CycleGAN arm's gate: the target classes its generated images must be read as
# (None: every target the arm's runs logged).
CYCLEGAN_GATES = {"+disgust": Gate(("disgust",)), "+sad": Gate(("sad",)), "+all": Gate(), "dag": Gate()}

"""The classical_augmentation study's table: none vs classical augmentation, paired on seed."""

from __future__ import annotations

import pandas as pd

from analysis.cells import metric_table
from analysis.columns import overall_columns
from analysis.pairing import Paired
from analysis.layouts.registry import register_layout
from analysis.tables import Table


@register_layout("classical_augmentation", "none vs classical augmentation by net, with "
                                           "the paired difference classical − none")
def classical_augmentation(runs: pd.DataFrame) -> list[Table]:
    return [metric_table(
        runs, name="classical_augmentation",
        title="Classical augmentation: test accuracy at the best-validation epoch (%)",
        group_by=["param.net", "param.augment"], columns=overall_columns(),
        paired=Paired(arm="param.augment", control="none"))]

"""The baseline study's table: the three classifiers beside Birenbaum's simple classifier."""

from __future__ import annotations

import pandas as pd

from analysis import references
from analysis.cells import class_columns, metric_table, overall_columns
from analysis.layouts.registry import register_layout
from analysis.tables import Table


@register_layout("baseline", "test accuracy, macro-F1 and per-class accuracy by net, "
                             "beside Birenbaum's simple classifier")
def baseline(runs: pd.DataFrame) -> list[Table]:
    refs = {("simple",): references.select(paper="birenbaum", row="baseline")}
    return [metric_table(
        runs, name="baseline",
        title="Baseline: test accuracy at the best-validation epoch, by net (%)",
        group_by=["param.net"], columns=overall_columns() + class_columns(runs),
        references=refs)]

"""The baseline study's table: the three classifiers beside Birenbaum's simple classifier;
with a cross-dataset launch (`--cross-dataset`), each net's rows on the other dataset's
held-out images of the shared classes, blind and fine-tuned (Zhu et al.'s Table 2
"FER+X" rows)."""

from __future__ import annotations

import pandas as pd

from analysis import references
from analysis.cells import metric_table
from analysis.columns import AT_BEST, class_columns, overall_columns
from analysis.pairing import BUDGET
from analysis.layouts.registry import register_layout
from analysis.tables import Table

TESTED_ON = "param.tested_on"
CROSS = "param.cross_dataset"
# run-column prefix of each cross arm's metrics, renamed to test/ for its rows
CROSS_ARMS = {"blind": "blind/", "fine-tuned": "finetuned/test/"}


@register_layout("baseline", "test accuracy, macro-F1 and per-class accuracy by net, "
                             "beside Birenbaum's simple classifier; cross-dataset rows where tested on another")
def baseline(runs: pd.DataFrame) -> list[Table]:
    crossed = CROSS in runs and runs[CROSS].notna().any()
    rows = cross_rows(runs) if crossed else runs
    own = own_label(runs)
    group_by = ["param.net", TESTED_ON] if crossed else ["param.net"]
    key = ("simple", own) if crossed else ("simple",)
    table = metric_table(
        rows, name="baseline",
        title="Baseline: test accuracy at the best-validation epoch, by net (%)"
              + (" and test set" if crossed else ""),
        group_by=group_by, columns=overall_columns() + class_columns(rows),
        references={key: references.select(paper="birenbaum", row="baseline")})
    if crossed:
        table.footnotes.append(cross_note(runs))
    return [table]


def own_label(runs: pd.DataFrame) -> str:
    found = sorted(runs["dataset"].dropna().astype(str).unique()) if "dataset" in runs else []
    return f"{'/'.join(found) or 'own'} test"


def cross_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """Each run once per test set: its own test split, and each cross arm it logged with
    that arm's metrics (and budget) under the test/ keys the columns read."""
    parts = [runs.assign(**{TESTED_ON: own_label(runs)})]
    for arm, prefix in CROSS_ARMS.items():
        if not any(c.startswith(prefix) for c in runs.columns):
            continue
        renamed = {c: "test/" + c[len(prefix):] for c in runs.columns if c.startswith(prefix) and c.endswith(AT_BEST)}
        side = runs.drop(columns=[c for c in runs.columns if c.startswith("test/")]).rename(columns=renamed)
        if arm == "fine-tuned" and f"finetuned/{BUDGET}" in runs:
            side[BUDGET] = runs[f"finetuned/{BUDGET}"]
        side = side[side[CROSS].notna()]
        parts.append(side.assign(**{TESTED_ON: side[CROSS].astype(str) + f" ({arm})"}))
    return pd.concat(parts, ignore_index=True)


def cross_note(runs: pd.DataFrame) -> str:
    sets = ", ".join(sorted(runs[CROSS].dropna().astype(str).unique()))
    steps = sorted(runs["param.cross_steps"].dropna().astype(str).unique()) if "param.cross_steps" in runs else []
    return (f"Cross-dataset rows: trained on {own_label(runs)[:-5]}, tested on {sets}'s held-out images of the "
            "classes both datasets share (its official test split, else subject-independent fold cross_fold of "
            "cross_n_folds); 'blind': the net of the epoch chosen on its own validation split, predicting among the "
            f"shared classes; 'fine-tuned': that net fine-tuned {'/'.join(steps) or '?'} steps on {sets}'s training "
            "split, epoch chosen on its validation split, never its test split. Both rows measure the same images. "
            "Zhu et al.'s Table 2 'FER+JAFFE' baseline (93.87 %) is their fine-tuned row, on 20 % of JAFFE.")

"""A verdict per claim, flags for runs that cannot support one, and the synthesis gate.

A paper's claimed effect (``references.Claim``: FESR_JL beats BASELINE by 3.71 points, …)
is judged on the paired Δ of our table: ``reproduced`` when the (corrected) 95 % interval
excludes 0 in the claimed direction and the Holm-adjusted p-value is below 0.05,
``contradicted`` when it excludes 0 the other way, otherwise ``inconclusive (MDE x pts)``:
the effect we could have detected at 80 % power. A claim about a GAN arm is judged only
when the arm's synthetic images pass the quality gate below; a failed synthesis says
nothing about the paper's method.

Flags: a run is ``collapsed`` when ≥ 90 % of its test predictions fall in one class, and
``still improving`` when its chosen epoch (or iteration) lies in the last 10 % of its
budget (``selection/at_fraction`` > 0.9): a longer run might have chosen later.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats import PairedTest

ALPHA = 0.05
COLLAPSE_SHARE = 0.9  # share of test predictions in the most-predicted class
STILL_IMPROVING = 0.9  # chosen epoch / budget above this
TOP_SHARE = "test/top_pred_share_at_best_val"
AT_FRACTION = "selection/at_fraction"


@dataclass(frozen=True)
class Gate:
    """Where an arm's synthesis-quality numbers are: the share of its synthetic images the
    real-data judge calls the intended expression, and the judge's recall on real images.
    Passed when the share is at least halfway from chance to the judge's real recall:
    well above chance, and judged by an instrument shown to work on real faces."""

    agreement: str
    real_recall: str
    chance: str | None = None  # a metric holding 1/K; None: 1 / the number of classes in the runs

    def check(self, arm_runs: pd.DataFrame) -> tuple[bool | None, str]:
        agreement, recall = _mean_of(arm_runs, self.agreement), _mean_of(arm_runs, self.real_recall)
        if math.isnan(agreement):
            return None, "no synthesis-quality numbers logged"
        if self.chance and self.chance in arm_runs:
            chance = float(arm_runs[self.chance].mean())
        else:
            k = sum(c.startswith("test/acc_") and c.endswith("_at_best_val") for c in arm_runs.columns)
            chance = 1 / max(k, 2)
        threshold = chance + 0.5 * (recall - chance) if not math.isnan(recall) else 2 * chance
        passed = agreement >= threshold
        return passed, (f"judged as intended {100 * agreement:.1f} % against a gate of {100 * threshold:.1f} % "
                        f"(chance {100 * chance:.1f} %, the judge's recall on real images {100 * recall:.1f} %)")


def _mean_of(runs: pd.DataFrame, pattern: str) -> float:
    """The mean over runs and over every column matching ``pattern`` (``synth/*/agreement``:
    all targets of a multi-class arm)."""
    values = runs[[c for c in runs.columns if fnmatch.fnmatchcase(c, pattern)]].to_numpy(dtype=float)
    return float(np.nanmean(values)) if values.size and not np.isnan(values).all() else math.nan


def claim_verdict(test: PairedTest, p_holm: float, direction: int, mde: float,
                  gate: tuple[bool | None, str] | None = None) -> str:
    """reproduced / contradicted / inconclusive (…) for a claimed effect of sign
    ``direction`` (+1: the arm is better) from its paired test."""
    if gate is not None and gate[0] is False:
        return "inconclusive (synthesis failed the quality gate)"
    diff = test.diff
    if diff.n < 2 or math.isnan(diff.half_width):
        return f"inconclusive (n={diff.n} pairs: no interval)"
    excludes = diff.low > 0 or diff.high < 0
    if excludes and p_holm < ALPHA:
        return "reproduced" if diff.mean * direction > 0 else "contradicted"
    return f"inconclusive (MDE {100 * mde:.2f} pts)"


def flag_text(runs: pd.DataFrame) -> str:
    """"collapsed (k/n)", "still improving (k/n)", both, or "" for a group of runs."""
    flags = []
    for metric, limit, name in ((TOP_SHARE, COLLAPSE_SHARE, "collapsed"),
                                (AT_FRACTION, STILL_IMPROVING, "still improving")):
        if metric in runs:
            values = runs[metric].dropna()
            hit = int((values >= limit).sum() if name == "collapsed" else (values > limit).sum())
            if hit:
                flags.append(f"{name} ({hit}/{len(values)})")
    return ", ".join(flags)

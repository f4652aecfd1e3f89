"""A verdict per claim, and flags for runs that cannot support one (the synthesis gate a
GAN arm must pass first is analysis.gates).

A paper's claimed effect (``paper_claims.Claim``: FESR_JL beats BASELINE by 3.71 points on
CK+, …) is judged only on a launch of the paper's own dataset and protocol, and only on
its paired Δ's interval at the claim's Holm-adjusted level, by sign and size:

- ``reproduced``: the interval excludes 0 on the paper's side and reaches the paper's
  effect (contains it or lies above it);
- ``smaller than claimed``: it excludes 0 on the paper's side but lies below the effect;
- ``contradicted``: it excludes the paper's effect and does not exclude 0 on the
  paper's side (no effect of the paper's size, or the opposite sign);
- ``inconclusive (MDE x pts)``: it contains both 0 and the paper's effect; MDE is the
  effect this design detects with 80 % power at the family's level.

The family is the launch's claims (``judge_claims``: every claim a setting's tables test,
each comparison once). A claim's interval is taken at level 1 − α·p/p_Holm: it excludes 0
exactly when Holm rejects, and lies between Holm's own step level and Bonferroni's.

No verdict (``not judged: …``) where the runs are not the paper's data and protocol, where
a GAN arm's synthesis fails its gate or logged no gate numbers, where either side
collapsed, or below 5 pairs or at zero spread.

Flags: a run is ``collapsed`` when ≥ 90 % of its test predictions fall in one class, and
``still improving`` when its chosen epoch (or iteration) lies in the last 10 % of its
budget (``selection/at_fraction`` > 0.9): a longer run might have chosen later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from analysis.gates import ALPHA, GateResult
from analysis.paper_claims import Claim
from analysis.stats import (Interval, PairedTest, holm, interval_at, minimal_detectable_effect,
                            pairs_needed)
from analysis.tables import Table, fmt_ci

MIN_PAIRS = 5
COLLAPSE_SHARE = 0.9  # share of test predictions in the most-predicted class
STILL_IMPROVING = 0.9  # chosen epoch / budget above this
TOP_SHARE = "test/top_pred_share_at_best_val"
AT_FRACTION = "selection/at_fraction"
NOT_JUDGED = "not judged"


# --- flags -------------------------------------------------------------------------------

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


def collapsed(runs: pd.DataFrame) -> str | None:
    """"k/n runs" when any run predicted one class for ≥ 90 % of its test set, else None."""
    if TOP_SHARE not in runs:
        return None
    values = runs[TOP_SHARE].dropna()
    hit = int((values >= COLLAPSE_SHARE).sum())
    return f"{hit}/{len(values)} runs" if hit else None


# --- claims --------------------------------------------------------------------------------

@dataclass
class ClaimTest:
    """A claim met by one paired comparison of a table, kept until the launch's claims are
    judged together. ``blocked``: why it gets no verdict (None: it is tested)."""

    claim: Claim
    where: str  # the row, as the table names it
    row: int
    test: PairedTest
    scale: float
    blocked: str | None = None
    gate: GateResult | None = None
    family: int = 0
    verdict: str = ""
    interval: Interval | None = None
    mde: float = math.nan
    needed: int | None = None
    notes: list[str] = field(default_factory=list)
    data: str = ""  # our dataset(s), as the summary names them
    procedural: bool = False

    @property
    def key(self) -> tuple:
        c = self.claim
        return (c.paper, c.source, c.arm, c.control, c.metric, self.where)


def blocked_reason(claim: Claim, test: PairedTest, ground: str | None, gate: GateResult | None,
                   arm_collapsed: str | None, control_collapsed: str | None) -> str | None:
    """Why a comparison gets no verdict on ``claim``, first reason first; None when none."""
    if ground is not None:
        return f"{NOT_JUDGED}: {ground}"
    if claim.gan:
        if gate is None or gate.passed is None:
            return f"{NOT_JUDGED}: no synthesis-quality numbers"
        if gate.passed is False:
            return f"{NOT_JUDGED}: synthesis failed the gate"
    for side, found in ((claim.arm, arm_collapsed), (claim.control, control_collapsed)):
        if found:
            return f"{NOT_JUDGED}: {side} collapsed ({found})"
    if test.diff.n < MIN_PAIRS:
        return f"{NOT_JUDGED}: {test.diff.n} pairs (a verdict needs ≥ {MIN_PAIRS})"
    if not test.sd > 0:
        return f"{NOT_JUDGED}: {test.diff.n} pairs, no spread"
    return None


def verdict(interval: Interval, effect: float | None, sign: int, mde_points: float) -> str:
    """The verdict of an interval of arm − control (fractions) on a claim of ``effect``
    points (None: direction only) in direction ``sign``."""
    low, high = sorted((sign * interval.low, sign * interval.high))  # the paper's side positive
    excludes_zero = low > 0
    if effect is None:
        if excludes_zero:
            return "reproduced"
        if high < 0:
            return "contradicted"
    else:
        size = abs(effect) / 100.0
        if excludes_zero:
            return "reproduced" if high >= size else "smaller than claimed"
        if high < size:
            return "contradicted"
    return f"inconclusive (MDE {mde_points:.2f} pts)"


def judge_claims(found: Sequence[ClaimTest], alpha: float = ALPHA) -> list[ClaimTest]:
    """Judge a launch's claims as one family: each comparison once (the first table that
    meets it), Holm across those with a test, the verdict from each one's interval at its
    adjusted level, MDE and pairs-needed at the family's strictest level α/m."""
    unique: dict[tuple, ClaimTest] = {}
    for c in found:
        unique.setdefault(c.key, c)
    tested = [c for c in unique.values() if c.blocked is None]
    m = len(tested)
    adjusted = holm([c.test.p for c in tested])
    for c, p_holm in zip(tested, adjusted):
        level = alpha * c.test.p / p_holm if p_holm > 0 else alpha / m
        c.family, c.interval = m, interval_at(c.test, level)
        c.mde = minimal_detectable_effect(c.test.sd, c.test.diff.n, c.test.ratio, alpha=alpha / m)
        if c.claim.effect is not None:
            c.needed = pairs_needed(abs(c.claim.effect) / 100.0, c.test.sd, c.test.ratio, alpha=alpha / m)
        c.verdict = verdict(c.interval, c.claim.effect, c.claim.sign, c.scale * c.mde)
        c.notes.append(f"Holm-adjusted p = {p_holm:.3g} among {m} claim(s); interval at "
                       f"{100 * (1 - level):.2f} %")
    for c in unique.values():
        if c.blocked is not None:
            c.verdict = c.blocked
    for c in found:  # a comparison met again in a later table reads the same verdict
        c.verdict = unique[c.key].verdict
    return list(unique.values())


def apply_verdicts(tables: Sequence[Table]) -> None:
    """Judge the claims the tables met as one family (analysis.verdicts.judge_claims), write
    each verdict into its row's ``verdict`` cell and a line per claim into its table's
    ``verdicts``. Claims on procedural data get one summary note instead of lines."""
    found = [c for t in tables for c in t.claim_tests]
    judged = {id(c) for c in judge_claims(found)}
    for table in tables:
        for c in table.claim_tests:
            if "verdict" not in table.cells:
                table.cells["verdict"] = ""
            cell = table.cells.at[c.row, "verdict"]
            table.cells.at[c.row, "verdict"] = "; ".join(filter(None, [cell, c.verdict]))
            if id(c) not in judged:
                continue
            if c.procedural:
                table.summary_notes.append(PROCEDURAL_CLAIMS)
                continue
            table.verdicts.append(_claim_line(c))


PROCEDURAL_CLAIMS = ("Procedural demo data (synthfaces): no paper's claim is judged on it; a verdict needs the "
                     "paper's own dataset and protocol.")


def _claim_line(c: ClaimTest) -> str:
    claim, diff = c.claim, c.test.diff
    claimed = ("no number for the control" if claim.effect is None
               else f"{claim.arm} − {claim.control} = {claim.effect:+.2f} points")
    line = (f"{claim.label} ({claim.source}, {claim.dataset}): {claim.statement} ({claimed}). Ours on {c.data}, "
            f"{c.where}: {fmt_ci(diff, scale=c.scale, signed=True)} points → {c.verdict}")
    if c.interval is not None:
        line += (f" ({fmt_ci(c.interval, scale=c.scale, signed=True)} at the claim's level; "
                 f"{'; '.join(c.notes)})")
    if c.gate is not None and claim.gan:
        line += f"; {c.gate.text}"
    if c.interval is not None and claim.effect is not None:
        line += (f"; {c.needed} pairs would detect the paper's effect" if c.needed else
                 "; no number of pairs of this design would detect the paper's effect")
    return line + "."

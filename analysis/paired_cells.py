"""A row's Δ cells (arm − control, matched on parent run, seed and fold), what each Δ's
footnote says of it, and the claims each comparison meets, kept for the launch's verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from analysis.columns import Column
from analysis.gates import GateResult, comparison_gate
from analysis.paper_claims import Claim
from analysis.pairing import Paired, _check_budgets, paired_values, resampling_ratio, row_label, split_across_launches
from analysis.stats import Interval, paired_test
from analysis.tables import fmt_ci
from analysis.verdicts import ClaimTest, blocked_reason, collapsed


@dataclass
class TableContext:
    """What every row's paired cells need from their table."""

    runs: pd.DataFrame
    group_by: list[str]
    columns: Sequence[Column]
    paired: Paired | None
    confidence: float
    claims: Sequence[Claim]
    row_gates: dict[tuple, GateResult]
    datasets: list[str]
    procedural: bool
    tests: set = field(default_factory=set)
    claim_tests: list[ClaimTest] = field(default_factory=list)


def effect_reading(diff: Interval, gate: GateResult | None, claimed: bool) -> str:
    """What a descriptive Δ's footnote says of it; never an effect where the synthesis
    failed its gate, and a claim's comparison defers to its verdict."""
    if gate is not None and gate.passed is False:
        return "synthesis failed the gate: not read as an effect"
    if claimed:
        return "a paper's claim: its verdict is in the verdicts below"
    if diff.n < 2:
        return f"n={diff.n} pairs: no CI"
    if not diff.excludes_zero():
        return "95 % CI includes 0: no effect shown"
    return "95 % CI excludes 0 (descriptive: unadjusted for the table's other comparisons)"


def add_paired(ctx: TableContext, row, base, key, stats, effects, row_at: int) -> None:
    """Fill the Δ cells of one row: this arm minus the control with the same other keys;
    each claim the comparison meets is kept for the launch's verdicts."""
    paired, group_by, runs = ctx.paired, ctx.group_by, ctx.runs
    arm_at = group_by.index(paired.arm)
    if key[arm_at] == paired.control:
        for col in ctx.columns:
            row[f"Δ {col.label} vs {paired.control}"] = "(control)"
        return
    others = [(g, k) for j, (g, k) in enumerate(zip(group_by, key)) if j != arm_at]
    mask = pd.Series(True, index=runs.index)
    for g, k in others:
        mask &= runs[g].astype(str) == k
    if paired.shared_control:
        mask = (mask & (runs[paired.arm].astype(str) == key[arm_at])) | (runs[paired.arm].astype(str) == paired.control)
    both = runs[mask].assign(_arm=runs[paired.arm].astype(str))
    where = row_label(group_by, key)
    _check_budgets(both, key[arm_at], paired, where, effects)
    control_key = key[:arm_at] + (paired.control,) + key[arm_at + 1:]
    gate = comparison_gate(ctx.row_gates.get(key), ctx.row_gates.get(control_key))
    sides = {value: both[both["_arm"] == value] for value in (key[arm_at], paired.control)}
    if split_across_launches(both, key[arm_at], paired.control, list(paired.keys)):
        effects.append(f"{where} − {paired.control}: no Δ: the arm and its control ran in different launches, and "
                       "pairs are matched within a launch (one commit, scale and cache). Launch every arm of a "
                       "comparison together, splitting by seeds or folds instead.")
    for col in ctx.columns:
        pairs = paired_values(both, key[arm_at], paired.control, col.metric, list(paired.keys))
        test = paired_test(pairs["diff"], resampling_ratio(pairs), ctx.confidence)
        label = f"Δ {col.label} vs {paired.control}"
        failed = gate is not None and gate.passed is False
        row[label] = fmt_ci(test.diff, scale=col.scale, signed=True) + (" (gate failed)" if failed else "")
        stats.append({**base, "column": label, "metric": col.metric, "kind": "paired_diff",
                      **test.diff._asdict(), "low": test.diff.low, "high": test.diff.high, "p": test.p,
                      "test": test.test})
        if math.isnan(test.diff.mean):
            continue
        ctx.tests.add(test.test)
        met = [c for c in ctx.claims if (c.arm, c.control, c.metric) == (key[arm_at], paired.control, col.metric)]
        for claim in met:
            blocked = blocked_reason(claim, test, claim.ground.mismatch(both), gate,
                                     collapsed(sides[claim.arm]), collapsed(sides[claim.control]))
            ctx.claim_tests.append(ClaimTest(claim, where, row_at, test, col.scale, blocked, gate,
                                             data=", ".join(ctx.datasets) or "unknown data",
                                             procedural=ctx.procedural))
        p_text = "" if math.isnan(test.p) else f" ({test.test}, p = {test.p:.3g})"
        effects.append(f"{where} − {paired.control}, {col.label}: {fmt_ci(test.diff, scale=col.scale, signed=True)} "
                       f"points{p_text}: {effect_reading(test.diff, gate, bool(met))}.")

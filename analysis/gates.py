"""The synthesis gate: whether a GAN arm's images show the classes they are meant to,
read by a judge trained on real images, before any claim about that arm is judged.

Per row and per target class, the judge's agreement with the intended class
must beat chance (1/K of the judge's classes) by a one-sided binomial test, Holm-adjusted
across the table's gated rows and targets, **and** reach half-way from chance to the
judge's recall on real images of that class; a judge no better than chance on real images
fails every row ("the judge cannot read this data").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from analysis.stats import agreement_p, holm

ALPHA = 0.05  # the family-wise level of the gate's tests and of the claims' verdicts

GATE_PREFIX = "gate/"
GATE_CLASSES = "gate/classes"


@dataclass(frozen=True)
class Gate:
    """Which target classes of an arm's synthetic images must pass the gate: the names
    under ``gate/<target>/...`` (trainables.core.judge.gate_numbers), or None for every
    target the runs logged (an arm that draws every class)."""

    targets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TargetGate:
    """One target's pooled gate numbers over a row's runs."""

    target: str
    agreeing: int
    judged: int
    real_recall: float
    chance: float
    p: float

    @property
    def agreement(self) -> float:
        return self.agreeing / self.judged

    @property
    def halfway(self) -> float:
        return self.chance + 0.5 * (self.real_recall - self.chance)


def target_numbers(runs: pd.DataFrame, gate: Gate) -> list[TargetGate] | None:
    """Each target's numbers pooled over ``runs`` (images judged and agreeing summed, the
    judge's real recall averaged); None when a target has no numbers at all."""
    logged = sorted({c.split("/")[1] for c in runs.columns
                     if c.startswith(GATE_PREFIX) and c.endswith("/agreement")})
    targets = list(gate.targets) if gate.targets is not None else logged
    if not targets or GATE_CLASSES not in runs or runs[GATE_CLASSES].isna().all():
        return None
    chance = 1.0 / float(runs[GATE_CLASSES].max())
    found = []
    for t in targets:
        share, n = runs.get(f"gate/{t}/agreement"), runs.get(f"gate/{t}/n")
        if share is None or n is None:
            return None
        ok = share.notna() & n.notna()
        if not ok.any():
            return None
        judged = int(n[ok].sum())
        agreeing = int(np.round((share[ok] * n[ok]).to_numpy(dtype=float)).sum())
        recall = runs.get(f"gate/{t}/real_recall")
        real = float(recall.mean()) if recall is not None and recall.notna().any() else math.nan
        found.append(TargetGate(t, agreeing, judged, real, chance, agreement_p(agreeing, judged, chance)))
    return found


@dataclass(frozen=True)
class GateResult:
    passed: bool | None  # None: no numbers
    text: str


NO_GATE_NUMBERS = GateResult(None, "no synthesis-quality numbers")


def judge_gates(rows: dict[object, list[TargetGate] | None]) -> dict[object, GateResult]:
    """Each gated row's result: its targets' binomial p-values Holm-adjusted together with
    every other gated row's of the table, each target held to chance and to half-way."""
    flat = [(key, t) for key, targets in rows.items() for t in (targets or [])]
    adjusted = dict(zip([(key, t.target) for key, t in flat], holm([t.p for _, t in flat])))
    out = {}
    for key, targets in rows.items():
        if not targets:
            out[key] = NO_GATE_NUMBERS
            continue
        failed, parts = [], []
        for t in targets:
            p_holm = adjusted[(key, t.target)]
            readable = t.real_recall > t.chance
            ok = readable and p_holm < ALPHA and t.agreement >= t.halfway
            text = (f"{t.target}: judged as intended {100 * t.agreement:.1f} % of {t.judged} "
                    f"(chance {100 * t.chance:.1f} %, half-way {100 * t.halfway:.1f} %, the judge's recall on "
                    f"real images {100 * t.real_recall:.1f} %; binomial p = {t.p:.3g}, Holm {p_holm:.3g})")
            if not readable:
                text += ": the judge cannot read this data"
            parts.append(text)
            if not ok:
                failed.append(t.target)
        verdict = f"failed for {', '.join(failed)}" if failed else "passed"
        out[key] = GateResult(not failed, f"synthesis gate {verdict}: " + "; ".join(parts))
    return out


def judge_row_gates(groups, group_by: list[str], paired, gates: Mapping[str, Gate]
               ) -> dict[tuple, GateResult]:
    """The synthesis gate of every row whose arm value has one, Holm across them."""
    if not gates:
        return {}
    at = group_by.index(paired.arm) if paired is not None and paired.arm in group_by else None
    numbers = {}
    for key, sub in groups:
        key = tuple(str(k) for k in key)
        arm = key[at] if at is not None else (sub[paired.arm].astype(str).iloc[0] if paired else None)
        if arm in gates:
            numbers[key] = target_numbers(sub, gates[arm])
    return judge_gates(numbers)


def comparison_gate(arm: GateResult | None, control: GateResult | None) -> GateResult | None:
    """The gate of a comparison: failed when either side's synthesis failed its gate (a GAN
    arm against another), else the arm's own result."""
    failed = [g for g in (arm, control) if g is not None and g.passed is False]
    if failed:
        return GateResult(False, "; ".join(g.text for g in failed))
    return arm if arm is not None else control

"""The synthesis gate: whether a GAN arm's images show the classes they are meant to,
read by a judge trained on real images, before any claim about that arm is judged.

Per row and per target class, the judge's agreement with the intended class
must beat a floor by a one-sided binomial test, Holm-adjusted across the table's gated
rows and targets, **and** reach half-way from the floor to the judge's recall on real
images of that class; a judge whose real recall is not above the floor fails every row
("the judge cannot read this data").

The floor is chance (1/K of the judge's classes), or, where the runs log it, the share of
images that carry the GAN's artifacts but not the target that the judge calls the target,
if higher: a judge that reads blur and noise as one class (FER2013's judge calls blurred
faces sad) would otherwise pass any GAN aimed at it. A CycleGAN logs it from its cycle's
reconstructions F(G(x)) of the reference faces, which pass through the same nets and are
meant to show the reference class (`gate/<target>/artifact_rate`); a generator that draws
every class (StarGAN, FESGAN) from its faces meant to show another class
(`gate/<target>/off_target_rate`, trainables.core.judge.gate_numbers).
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
    p: float  # against the floor
    artifact_rate: float = math.nan  # a CycleGAN's reconstructions read as the target; nan: not logged
    off_target_rate: float = math.nan  # faces meant to show another class read as the target; nan: not logged

    @property
    def agreement(self) -> float:
        return self.agreeing / self.judged

    @property
    def floor(self) -> float:
        return floor_of(self.chance, self.artifact_rate, self.off_target_rate)

    @property
    def halfway(self) -> float:
        return self.floor + 0.5 * (self.real_recall - self.floor)


def floor_of(chance: float, *artifact_rates: float) -> float:
    """Chance, or the judge's highest rate on the GAN's artifacts without the target where higher."""
    return max([chance, *(r for r in artifact_rates if not math.isnan(r))])


def _mean(runs: pd.DataFrame, column: str) -> float:
    values = runs.get(column)
    return float(values.mean()) if values is not None and values.notna().any() else math.nan


def target_numbers(runs: pd.DataFrame, gate: Gate) -> list[TargetGate] | None:
    """Each target's numbers pooled over ``runs`` (images judged and agreeing summed, the
    judge's real recall and the artifact rate averaged); None when a target has no numbers
    at all."""
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
        real = _mean(runs, f"gate/{t}/real_recall")
        artifacts, off_target = _mean(runs, f"gate/{t}/artifact_rate"), _mean(runs, f"gate/{t}/off_target_rate")
        p = agreement_p(agreeing, judged, floor_of(chance, artifacts, off_target))
        found.append(TargetGate(t, agreeing, judged, real, chance, p, artifacts, off_target))
    return found


@dataclass(frozen=True)
class GateResult:
    passed: bool | None  # None: no numbers
    text: str


NO_GATE_NUMBERS = GateResult(None, "no synthesis-quality numbers")


def judge_gates(rows: dict[object, list[TargetGate] | None]) -> dict[object, GateResult]:
    """Each gated row's result: its targets' binomial p-values Holm-adjusted together with
    every other gated row's of the table, each target held to its floor and to half-way."""
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
            readable = t.real_recall > t.floor
            ok = readable and p_holm < ALPHA and t.agreement >= t.halfway
            nulls = ((t.artifact_rate, "the GAN's artifacts without the target (its cycle's reconstructions)"),
                     (t.off_target_rate, "the GAN's faces meant to show another class"))
            artifacts = "".join(f", {faces} read as {t.target} {100 * rate:.1f} %"
                                for rate, faces in nulls if not math.isnan(rate))
            text = (f"{t.target}: judged as intended {100 * t.agreement:.1f} % of {t.judged} "
                    f"(chance {100 * t.chance:.1f} %{artifacts}, half-way {100 * t.halfway:.1f} %, the judge's "
                    f"recall on real images {100 * t.real_recall:.1f} %; binomial p = {t.p:.3g}, Holm {p_holm:.3g})")
            if not readable:
                text += (": the judge cannot read this data" if t.real_recall <= t.chance else
                         f": the judge reads the GAN's artifacts as {t.target} at least as often as real {t.target} "
                         "faces, so it cannot tell the expression from them")
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

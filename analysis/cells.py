"""Build a ``Table`` from runs: group, aggregate with CIs, put the papers beside us.

``metric_table`` is the one builder layouts call. Rows are the groups of some run
columns (``param.net``), columns are metrics aggregated over the group's runs as
``mean ± half-width (n=K)`` in %; each column that has paper numbers gets a paper
column right after it, filled only in the rows the paper reports; ``Paired`` adds
``Δ`` columns (arm − control, matched on parent run, seed and fold). Every paper
number gets a footnote comparing it with our interval, every paper a citation.

Where runs log ``budget/steps`` (the optimizer steps of the classifier they evaluate),
every row prints its budget, and an arm is paired with a control of another budget only
where the layout declares why (``Paired.unequal_budget``): otherwise the table refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import pandas as pd

from analysis import ReportError
from analysis.references import Claim, Reference, comparable
from analysis.runs import PARAM_PREFIX
from analysis.stats import (CORRECTED_T, Interval, PairedTest, holm, mean_ci, minimal_detectable_effect,
                            paired_test, pairs_needed, rate_ci)
from analysis.tables import PROCEDURAL_WARNING, Table, compare_to_ci, fmt_ci
from analysis.verdicts import Gate, claim_verdict, flag_text

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")
# Tables report the test metrics at the epoch chosen on validation, never the best test.
AT_BEST = "_at_best_val"
MIN_EFFECT_POINTS, MIN_EFFECT_PAIRS = 1.5, 5  # STYLE.md, evaluation hygiene


@dataclass(frozen=True)
class Column:
    label: str  # header of our column
    metric: str  # run column aggregated, e.g. "test/acc_at_best_val"
    ref_metric: str | None = None  # Reference.metric the papers' numbers are filed under
    scale: float = 100.0  # shown as mean × scale: 100 for rates in %, 1 for raw values (FID)
    rate: bool = True  # bounded in [0, 1] (accuracy, F1, AUC): its interval stays inside (SSIM is not)


BUDGET = "budget/steps"
BUDGET_LABEL = "budget (steps)"


@dataclass(frozen=True)
class Paired:
    arm: str  # run column naming the ablation arm, e.g. "param.augment"
    control: str  # the arm's control value, e.g. "none"
    keys: tuple[str, ...] = ("parent_run_id", "seed", "fold")
    # why arms of different step budgets may be compared (a paper's own fixed-epochs rule);
    # None: such a pair is refused
    unequal_budget: str | None = None
    # the control does not depend on the row's other group values (StudySpec.shared_control):
    # it is matched on `keys` alone
    shared_control: bool = False


class BudgetMismatch(ReportError):
    """An arm and its control trained for different numbers of optimizer steps."""


def overall_columns() -> list[Column]:
    return [Column("overall acc", f"test/acc{AT_BEST}", "acc"),
            Column("macro-F1", f"test/macro_f1{AT_BEST}", "macro_f1")]


def classes_in(runs: pd.DataFrame, prefix: str = "test/acc_") -> list[str]:
    """The classes with a ``<prefix><class>_at_best_val`` metric, in canonical order."""
    return [c for c in CLASSES if f"{prefix}{c}{AT_BEST}" in runs.columns]


def class_columns(runs: pd.DataFrame, one_vs_rest: bool = False) -> list[Column]:
    """Per-class accuracy columns (or one-vs-rest accuracy) for the classes present."""
    kind = "ovr_acc" if one_vs_rest else "acc"
    return [Column(f"{kind.replace('_', ' ')} {c}", f"test/{kind}_{c}{AT_BEST}", f"{kind}_{c}")
            for c in classes_in(runs, f"test/{kind}_")]


def _label(column: str) -> str:
    return column[len(PARAM_PREFIX):] if column.startswith(PARAM_PREFIX) else column


def _ordered_groups(runs: pd.DataFrame, group_by: list[str], paired: Paired | None):
    groups = list(runs.groupby(group_by, sort=True, dropna=False))
    if paired is not None:  # control first inside each group, so Δ rows follow it
        i = group_by.index(paired.arm)
        rank = [_rank(runs[g]) for g in group_by]
        groups.sort(key=lambda g: tuple((k != paired.control, rank[j](k)) if j == i else rank[j](k)
                                        for j, k in enumerate(g[0])))
    return groups


def _rank(column: pd.Series):
    """Sort key of a group value: a categorical column's own order (a layout's row
    order, e.g. k = 1, 2, …, 20), else the value as text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        order = {c: n for n, c in enumerate(column.cat.categories)}
        return lambda k: (order.get(k, len(order)), str(k))
    return lambda k: (0, str(k))


def _where(group_by: list[str], key: tuple) -> str:
    return ", ".join(f"{_label(g)}={k}" for g, k in zip(group_by, key))


def _effect_verdict(diff: Interval, p_holm: float) -> str:
    if diff.n < 2:
        return f"n={diff.n} pairs: no CI"
    if not diff.excludes_zero():
        return "95 % CI includes 0: no effect shown"
    if not p_holm < 0.05:
        return "95 % CI excludes 0, but not after Holm's correction for this table's comparisons"
    points = abs(diff.mean) * 100.0
    if points < MIN_EFFECT_POINTS and diff.n < MIN_EFFECT_PAIRS:
        return (f"95 % CI excludes 0, but an effect under {MIN_EFFECT_POINTS} points needs "
                f"≥ {MIN_EFFECT_PAIRS} paired seeds (STYLE.md): not called an effect")
    return "95 % CI excludes 0: an effect"


@dataclass
class _Comparison:
    """One Δ cell's paired test, kept until the table's p-values are Holm-adjusted."""

    row: int
    where: str
    column: Column
    arm: str
    test: PairedTest
    stats_at: int


def _ours(values, col: Column, confidence: float) -> Interval:
    """A rate's interval stays in [0, 1] (logit scale); other metrics get Student-t."""
    return rate_ci(values, confidence) if col.rate and col.scale == 100.0 else mean_ci(values, confidence)


def _citations(used: list[Reference]) -> list[str]:
    seen, notes = set(), []
    for r in used:
        key = (r.paper, r.source, r.dataset, r.protocol)
        if key not in seen:
            seen.add(key)
            notes.append(f"{r.label}: {r.citation}; {r.source}; their data: {r.dataset}; "
                         f"{r.protocol}.")
    return notes


def metric_table(runs: pd.DataFrame, *, name: str, title: str, group_by: list[str],
                 columns: Sequence[Column],
                 references: Mapping[tuple, Sequence[Reference]] | None = None,
                 paired: Paired | None = None, confidence: float = 0.95,
                 claims: Sequence[Claim] = (), gates: Mapping[str, Gate] | None = None) -> Table:
    """One table: a row per group of ``group_by`` values, our aggregated ``columns``,
    the papers' numbers beside them, and paired Δ columns when ``paired`` is given.

    ``references`` maps a row key (tuple of ``group_by`` values, as strings) to the
    records shown in that row; a record lands in the column whose ``ref_metric``
    equals its ``metric``, judged against our interval only on its own dataset.
    ``claims``: the papers' claimed effects among the paired comparisons, each given a
    verdict; ``gates``: the synthesis gate of each GAN arm value. Rows whose runs
    collapsed or were still improving are flagged. ``runs`` must be FINISHED runs of
    one setting.
    """
    missing = [g for g in group_by if g not in runs.columns]
    if missing:
        raise ReportError(f"table {name!r} groups by {missing}, which no run has; run "
                          f"columns: {', '.join(c for c in runs.columns if '/' not in c)}")
    references = references or {}
    ref_metrics = {r.metric for refs in references.values() for r in refs}
    procedural = bool(runs["procedural"].fillna(False).astype(bool).any())
    datasets = sorted(runs["dataset"].dropna().astype(str).unique()) if "dataset" in runs else []
    rows, stats, used, verdicts, effects, comparisons, flags = [], [], [], [], [], [], []
    for key, sub in _ordered_groups(runs, group_by, paired):
        key = tuple(str(k) for k in key)
        row = {_label(g): k for g, k in zip(group_by, key)}
        base = dict(row)
        if BUDGET in runs:
            row[BUDGET_LABEL] = budget_text(sub)
        flagged = flag_text(sub)
        row["flags"] = flagged
        if flagged:
            flags.append(f"{_where(group_by, key)}: {flagged}")
        for col in columns:
            ours = _ours(sub[col.metric] if col.metric in sub else [], col, confidence)
            row[col.label] = fmt_ci(ours, scale=col.scale)
            stats.append({**base, "column": col.label, "metric": col.metric, "kind": "ours",
                          **ours._asdict(), "low": ours.low, "high": ours.high})
            if col.ref_metric not in ref_metrics:
                continue
            refs = [r for r in references.get(key, []) if r.metric == col.ref_metric]
            ours_data = _data_judged(sub, col, datasets)
            same = {r: comparable(r.dataset, ours_data, procedural) for r in refs}
            # Several records in one cell (two test splits, two datasets): name each one's row.
            row[f"{col.label} (paper)"] = "; ".join(
                f"{r.label}{f' ({r.row})' if len(refs) > 1 else ''}: {r.value:.2f}" if same[r]
                else f"{r.label}, {r.dataset}: not comparable" for r in refs)
            for r in refs:
                used.append(r)
                note = f" ({r.notes})" if r.notes else ""
                judged = (compare_to_ci(r.value, ours) if same[r] else
                          f"their data ({r.dataset}) is not ours ({ours_data or ', '.join(datasets) or 'unknown'}"
                          f"{', procedural' if procedural else ''}): not comparable, no verdict")
                verdicts.append(f"{r.label}, '{r.row}', {r.column} = {r.value:.2f}{note}, "
                                f"beside {_where(group_by, key)}: {judged}.")
                stats.append({**base, "column": col.label, "metric": col.metric,
                              "kind": "paper", "mean": r.value / 100.0, "paper": r.label,
                              "source": r.source})
        if paired is not None:
            comparisons += _add_paired(row, base, key, runs, group_by, columns, paired, confidence,
                                       stats, effects, len(rows))
        rows.append(row)
    claim_lines = _judge(comparisons, rows, stats, effects, runs, paired, claims, gates or {}, datasets)
    cells = pd.DataFrame(rows).fillna("")
    if not flags:
        cells = cells.drop(columns="flags")
    footnotes = _citations(used) + verdicts + effects
    if paired is not None:
        tests = sorted({c.test.test for c in comparisons})
        footnotes.append(f"Δ = the row's {_label(paired.arm)} − {_label(paired.arm)} {paired.control}, in percentage "
                         f"points, mean ± 95 % CI half-width over runs paired on "
                         f"{', '.join(paired.keys)}; n = number of pairs. Test: {'; '.join(tests) or 'none'}"
                         + (" (the pairs share training data across folds: the variance of the mean difference "
                            "is inflated by n_test/n_train of the actual splits)" if CORRECTED_T in tests else "")
                         + (f"; p-values Holm-adjusted across this table's {len(comparisons)} comparisons"
                            if len(comparisons) > 1 else "") + ". MDE: the smallest true Δ the test detects with "
                         "80 % power at this n and the observed paired SD.")
    if flags:
        footnotes.append("Flags: collapsed = ≥ 90 % of a run's test predictions in one class; still improving = "
                         "the chosen epoch (or iteration) in the last 10 % of the budget.")
    if procedural:
        footnotes.append(f"Ours is {PROCEDURAL_WARNING}.")
    stats_frame = pd.DataFrame(stats)
    if "n" in stats_frame:  # paper rows have no n; keep the others integer
        stats_frame["n"] = stats_frame["n"].astype("Int64")
    return Table(name=name, title=title, context="", cells=cells, footnotes=footnotes,
                 stats=stats_frame, verdicts=claim_lines, flags=flags)


def _data_judged(sub: pd.DataFrame, col: Column, datasets: list[str]) -> str | None:
    """The dataset our number in this column was measured on: the blind set for blind
    metrics, else the launch's dataset (None when the rows mix several)."""
    if col.metric.startswith("blind/") and "param.cross_dataset" in sub:
        found = sub["param.cross_dataset"].dropna().astype(str).unique()
    else:
        found = datasets
    return found[0] if len(found) == 1 else None


def _add_paired(row, base, key, runs, group_by, columns, paired, confidence, stats, effects,
                row_at: int) -> list[_Comparison]:
    """Fill the Δ cells of one row: this arm minus the control with the same other keys;
    returns each cell's test for the table's Holm adjustment and verdicts."""
    arm_at = group_by.index(paired.arm)
    if key[arm_at] == paired.control:
        for col in columns:
            row[f"Δ {col.label} vs {paired.control}"] = "(control)"
        return []
    others = [(g, k) for j, (g, k) in enumerate(zip(group_by, key)) if j != arm_at]
    mask = pd.Series(True, index=runs.index)
    for g, k in others:
        mask &= runs[g].astype(str) == k
    if paired.shared_control:
        mask = (mask & (runs[paired.arm].astype(str) == key[arm_at])) | (runs[paired.arm].astype(str) == paired.control)
    both = runs[mask].assign(_arm=runs[paired.arm].astype(str))
    _check_budgets(both, key[arm_at], paired, _where(group_by, key), effects)
    found = []
    for col in columns:
        pairs = paired_values(both, key[arm_at], paired.control, col.metric, list(paired.keys))
        test = paired_test(pairs["diff"], test_train_ratio(pairs), confidence)
        label = f"Δ {col.label} vs {paired.control}"
        row[label] = fmt_ci(test.diff, scale=col.scale, signed=True)
        stats.append({**base, "column": label, "metric": col.metric, "kind": "paired_diff",
                      **test.diff._asdict(), "low": test.diff.low, "high": test.diff.high, "p": test.p,
                      "test": test.test})
        if not math.isnan(test.diff.mean):
            found.append(_Comparison(row_at, _where(group_by, key), col, key[arm_at], test, len(stats) - 1))
    return found


def paired_values(both: pd.DataFrame, arm: str, control: str, metric: str, keys: list[str]) -> pd.DataFrame:
    """The arm's and the control's runs matched on ``keys``: their difference in
    ``metric``, and each pair's folds and split sizes (for the design's test)."""
    if metric not in both:
        return pd.DataFrame({"diff": []})
    sides = []
    for value in (arm, control):
        side = both[both["_arm"] == value]
        if side.set_index(keys).index.has_duplicates:
            raise ValueError(f"duplicate pairing keys {keys} among the runs of {value!r}")
        sides.append(side.set_index(keys))
    joined = sides[0].join(sides[1], how="inner", lsuffix="", rsuffix="_control")
    joined = joined.dropna(subset=[metric, f"{metric}_control"])
    out = pd.DataFrame({"diff": joined[metric].astype(float) - joined[f"{metric}_control"].astype(float)})
    for column in ("data/n_train", "data/n_test"):
        if column in joined:
            out[column] = joined[column].astype(float)
    if "fold" in joined.index.names:
        out["fold"] = joined.index.get_level_values("fold")
    return out


def test_train_ratio(pairs: pd.DataFrame) -> float | None:
    """n_test / n_train of the design when the pairs span several cross-validation folds
    (their training sets overlap), else None: independent seeds on one fixed split."""
    if "fold" not in pairs or pairs["fold"].nunique() < 2:
        return None
    if "data/n_train" in pairs and "data/n_test" in pairs and pairs["data/n_train"].notna().any():
        return float(pairs["data/n_test"].mean() / pairs["data/n_train"].mean())
    k = pairs["fold"].nunique()  # no split sizes logged: a k-fold split's test/train ratio
    return 1 / (k - 1)


def _gate(runs: pd.DataFrame, paired: Paired, arms: tuple[str, ...], gates: Mapping[str, Gate]):
    """The synthesis gate of a comparison: failed when either side's synthetic images
    failed theirs (a GAN arm paired with another GAN arm), else the arm's own result."""
    results = [(arm, gates[arm].check(runs[runs[paired.arm].astype(str) == arm])) for arm in arms if arm in gates]
    failed = [f"{arm}: {text}" for arm, (passed, text) in results if passed is False]
    if failed:
        return False, "; ".join(failed)
    return results[0][1] if results else None


def _judge(comparisons: list[_Comparison], rows: list[dict], stats: list[dict], effects: list[str],
           runs: pd.DataFrame, paired: Paired | None, claims: Sequence[Claim], gates: Mapping[str, Gate],
           datasets: list[str]) -> list[str]:
    """Holm-adjust the table's p-values, write each comparison's footnote (with its MDE),
    and give each claimed effect its verdict (in the row's `verdict` cell); returns the
    verdict lines for the launch's summary."""
    adjusted = holm([c.test.p for c in comparisons])
    lines = []
    for c, p_holm in zip(comparisons, adjusted):
        diff, scale = c.test.diff, c.column.scale
        mde = minimal_detectable_effect(c.test.sd, diff.n, c.test.ratio)
        stats[c.stats_at].update(p_holm=p_holm, mde=mde)
        p_text = "" if math.isnan(c.test.p) else (
            f" ({c.test.test}, p = {c.test.p:.3g}" + (f", Holm-adjusted p = {p_holm:.3g}" if len(comparisons) > 1 else "")
            + (f"; MDE {scale * mde:.2f} points" if not math.isnan(mde) else "") + ")")
        effects.append(f"{c.where} − {paired.control}, {c.column.label}: {fmt_ci(diff, scale=scale, signed=True)} "
                       f"points{p_text}: {_effect_verdict(diff, p_holm)}.")
        for claim in claims:
            if (claim.arm, claim.control, claim.metric) != (c.arm, paired.control, c.column.metric):
                continue
            gate = _gate(runs, paired, (c.arm, paired.control), gates) if claim.gan else None
            verdict = claim_verdict(c.test, p_holm, claim.sign, mde, gate)
            rows[c.row]["verdict"] = "; ".join(filter(None, [rows[c.row].get("verdict"), verdict]))
            need = (pairs_needed(abs(claim.effect) / 100, c.test.sd, c.test.ratio)
                    if diff.n >= 2 and claim.effect is not None else None)
            claimed = ("no number for the control" if claim.effect is None
                       else f"{claim.arm} − {claim.control} = {claim.effect:+.2f} points")
            lines.append(f"{claim.label} ({claim.source}, {claim.dataset}): {claim.statement} "
                         f"({claimed}). Ours on "
                         f"{', '.join(datasets) or 'unknown data'}: {fmt_ci(diff, scale=scale, signed=True)} points "
                         f"→ {verdict}" + (f"; synthesis: {gate[1]}" if gate else "")
                         + (f"; {need} pairs would detect the paper's effect" if need else
                            "; no number of pairs of this design would detect the paper's effect"
                            if diff.n >= 2 and claim.effect is not None else "") + ".")
    return lines


def budget_text(runs: pd.DataFrame) -> str:
    """The optimizer-step budget(s) of a group of runs, e.g. "400" or "400, 800"."""
    found = sorted({int(v) for v in runs[BUDGET].dropna()}) if BUDGET in runs else []
    return ", ".join(map(str, found)) or "—"


def _check_budgets(both: pd.DataFrame, arm: str, paired: Paired, where: str, notes: list[str]) -> None:
    """Refuse (or, where the layout declares why, footnote) an arm whose step budget is
    not its control's: a Δ between them would mix the arm's effect with more training."""
    if BUDGET not in both:
        return
    budgets = {value: sorted({int(v) for v in both.loc[both["_arm"] == value, BUDGET].dropna()})
               for value in (arm, paired.control)}
    if not budgets[arm] or not budgets[paired.control]:  # one side has no runs (or logged none): no Δ to guard
        return
    if budgets[arm] == budgets[paired.control] and len(budgets[arm]) == 1:
        return
    text = (f"{where} trained for {budgets[arm]} optimizer steps, its control "
            f"{_label(paired.arm)}={paired.control} for {budgets[paired.control]}")
    if paired.unequal_budget is None:
        raise BudgetMismatch(f"{text}: a Δ between them would mix the arm's effect with a different training "
                             "budget. Give every arm of the comparison the same `steps`, or declare why they "
                             "differ (Paired.unequal_budget).")
    notes.append(f"Unequal budgets, declared: {text}; {paired.unequal_budget}.")

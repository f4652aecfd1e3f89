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
from typing import Mapping, Sequence

import pandas as pd
from scipy import stats as _st

from analysis.paper_claims import Claim
from analysis.references import Reference, comparable
from analysis import ReportError
from analysis.columns import Column
from analysis.paired_cells import TableContext, add_paired
from analysis.pairing import BUDGET, BUDGET_LABEL, Paired, budget_text, column_label, row_label
from analysis.stats import CORRECTED_T, Interval, mean_ci, rate_ci
from analysis.tables import PROCEDURAL_WARNING, Table, compare_to_ci, fmt_ci
from analysis.gates import Gate, judge_row_gates
from analysis.verdicts import flag_text

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


def _ours(values, col: Column, confidence: float) -> Interval:
    """A rate's interval is clipped to [0, 1] (and marked); other metrics get Student-t."""
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
    ``gates``: the synthesis gate of each GAN arm value, checked per row. ``claims``: the
    papers' claimed effects among the paired comparisons; each one met is kept in
    ``Table.claim_tests`` until ``apply_verdicts`` judges a launch's claims together.
    Rows whose runs collapsed or were still improving are flagged. ``runs`` must be
    FINISHED runs of one setting.
    """
    missing = [g for g in group_by if g not in runs.columns]
    if missing:
        raise ReportError(f"table {name!r} groups by {missing}, which no run has; run "
                          f"columns: {', '.join(c for c in runs.columns if '/' not in c)}")
    references = references or {}
    ref_metrics = {r.metric for refs in references.values() for r in refs}
    procedural = bool(runs["procedural"].fillna(False).astype(bool).any())
    datasets = sorted(runs["dataset"].dropna().astype(str).unique()) if "dataset" in runs else []
    groups = _ordered_groups(runs, group_by, paired)
    row_gates = judge_row_gates(groups, group_by, paired, gates or {})
    rows, stats, used, verdicts, effects, flags = [], [], [], [], [], []
    context = TableContext(runs, group_by, columns, paired, confidence, claims, row_gates, datasets, procedural)
    for key, sub in groups:
        key = tuple(str(k) for k in key)
        row = {column_label(g): k for g, k in zip(group_by, key)}
        base = dict(row)
        if BUDGET in runs:
            row[BUDGET_LABEL] = budget_text(sub)
        flagged = flag_text(sub)
        row["flags"] = flagged
        if flagged:
            flags.append(f"{row_label(group_by, key)}: {flagged}")
        if key in row_gates:
            effects.append(f"{row_label(group_by, key)}: {row_gates[key].text}.")
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
                judged = (compare_to_paper(r, ours) if same[r] else
                          f"their data ({r.dataset}) is not ours ({ours_data or ', '.join(datasets) or 'unknown'}"
                          f"{', procedural' if procedural else ''}): not comparable, no verdict")
                verdicts.append(f"{r.label}, '{r.row}', {r.column} = {r.value:.2f}{note}, "
                                f"beside {row_label(group_by, key)}: {judged}.")
                stats.append({**base, "column": col.label, "metric": col.metric,
                              "kind": "paper", "mean": r.value / 100.0, "paper": r.label,
                              "source": r.source})
        if paired is not None:
            add_paired(context, row, base, key, stats, effects, len(rows))
        rows.append(row)
    cells = pd.DataFrame(rows).fillna("")
    if not flags:
        cells = cells.drop(columns="flags")
    footnotes = _citations(used) + verdicts + effects
    if paired is not None:
        tests = sorted(context.tests)
        arm = column_label(paired.arm)
        footnotes.append(f"Δ = the row's {arm} − {arm} {paired.control}, in percentage "
                         f"points, mean ± 95 % CI half-width over runs paired on "
                         f"{', '.join(paired.keys)}; n = number of pairs. Test: {'; '.join(tests) or 'none'}"
                         + (" (the pairs' training sets overlap, across folds or seeds that redraw them: the "
                            "variance of the mean difference is inflated by n_test/n_train of the real training "
                            "images)" if CORRECTED_T in tests else "")
                         + ". Δ p-values are descriptive, unadjusted; a paper's claim is judged once, in the "
                           "launch's family of claims (see the verdicts).")
    if flags:
        footnotes.append("Flags: collapsed = ≥ 90 % of a run's test predictions in one class; still improving = "
                         "the chosen epoch (or iteration) in the last 10 % of the budget.")
    if procedural:
        footnotes.append(f"Ours is {PROCEDURAL_WARNING}.")
    stats_frame = pd.DataFrame(stats)
    if "n" in stats_frame:  # paper rows have no n; keep the others integer
        stats_frame["n"] = stats_frame["n"].astype("Int64")
    return Table(name=name, title=title, context="", cells=cells, footnotes=footnotes,
                 stats=stats_frame, verdicts=[], flags=flags, claim_tests=context.claim_tests)


def compare_to_paper(ref: Reference, ours: Interval, scale: float = 100.0) -> str:
    """A paper's number beside our interval: with the paper's own spread where it gives the
    counts behind it (a binomial interval, and the difference's Welch interval from both
    spreads), else against our interval alone, saying the paper reports none."""
    if ref.counts is None or ours.n < 2 or math.isnan(ours.half_width):
        return compare_to_ci(ref.value, ours, scale) + "; the paper reports no spread"
    correct, total = ref.counts
    theirs = correct / total
    their_se = math.sqrt(theirs * (1 - theirs) / total)
    our_se = ours.half_width / float(_st.t.ppf(0.975, ours.n - 1))
    diff = ours.mean - theirs
    # Welch–Satterthwaite: ours has n − 1 degrees of freedom, the paper's binomial count many
    df = (our_se ** 2 + their_se ** 2) ** 2 / (our_se ** 4 / (ours.n - 1)) if our_se > 0 else math.inf
    half = float(_st.t.ppf(0.975, df)) * math.sqrt(our_se ** 2 + their_se ** 2)
    inside = abs(diff) <= half
    return (f"theirs {100 * theirs:.2f} ± {196 * their_se:.2f} (binomial, {correct}/{total}); ours − theirs "
            f"{scale * diff:+.2f} ± {scale * half:.2f} points: "
            + ("consistent with our data" if inside else "not reproduced on our data"))


def _data_judged(sub: pd.DataFrame, col: Column, datasets: list[str]) -> str | None:
    """The dataset our number in this column was measured on: the blind set for blind
    metrics, else the launch's dataset (None when the rows mix several)."""
    if col.metric.startswith("blind/") and "param.cross_dataset" in sub:
        found = sub["param.cross_dataset"].dropna().astype(str).unique()
    else:
        found = datasets
    return found[0] if len(found) == 1 else None

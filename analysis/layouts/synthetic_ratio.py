"""The synthetic-ratio study's tables and figures (Picha et al. 2023), one set per budget
family (`param.budget`: "epochs", their fixed-epochs protocol; "steps", equal optimizer
steps for every training set): Table 2 with the blind cross-database accuracy beside it
(and Fig. 8 drawn from it), the best k and whether accuracy falls beyond it, and the
per-class precision/recall/F1 (Fig. 10) and confusion matrix (Fig. 9) of the best k on
the blind set. The best k is chosen on real validation accuracy, never on the blind or
test sets, which are reported once at it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import ReportError, paper_claims, references
from analysis.cells import metric_table
from analysis.columns import AT_BEST, Column
from analysis.pairing import Paired
from analysis.layouts.registry import register_layout
from analysis.plots import save_figure
from analysis.stats import rate_ci
from analysis.tables import Table, fmt_ci
from analysis.gates import Gate

TRAIN_SET = "param.train_set"
FAMILY = "param.budget"
BLIND = f"blind/acc{AT_BEST}"
VAL = "val/acc_best"  # real validation accuracy at the chosen epoch: chooses the epoch, and here k
EKMAN = ("angry", "disgust", "fear", "happy", "sad", "surprise")
_RATIO = re.compile(r"^real\+(\d+)x$")

# family -> (what it means, why its arms may be paired across unequal step budgets)
FAMILIES = {
    "epochs": ("Picha et al.'s fixed epochs: a larger training set gets more optimizer steps",
               "Picha et al.'s protocol: fixed epochs, so a larger training set gets more optimizer steps"),
    "steps": ("equal optimizer steps for every training set", None),
    "unrecorded": ("launched before the budget axis: fixed epochs, raised by min_steps for small training sets",
                   "launched before the budget axis, when epochs were raised by min_steps for small training sets "
                   "and fixed otherwise"),
}


def ratio_of(train_set: str) -> int | None:
    """Synthetic units added to the real faces: 0 for 'real', k for 'real+kx', None for
    'synthetic' (no real faces at all)."""
    if train_set == "real":
        return 0
    match = _RATIO.match(train_set)
    return int(match.group(1)) if match else None


def _ordered(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows in the paper's order: real only, synthetic only, then real + k× by k."""
    present = runs[TRAIN_SET].astype(str).unique().tolist()
    order = sorted(present, key=lambda s: (ratio_of(s) is not None, ratio_of(s) or 0, s))
    if "real" in order:
        order.remove("real")
        order.insert(0, "real")
    return runs.assign(**{TRAIN_SET: pd.Categorical(runs[TRAIN_SET].astype(str), categories=order, ordered=True)})


def _paper_refs(train_set: str) -> list:
    k = ratio_of(train_set)
    if train_set == "real":
        rows = ["real only (experiment 1)", "real only (RFEs)"]
    elif train_set == "synthetic":
        rows = ["synthetic only (experiment 2)", "synthetic only (GFEs)"]
    elif k:
        rows = ["RFEs + GFEs" if k == 1 else f"RFEs + {k}x GFEs"]
    else:
        rows = []
    return [r for row in rows for r in references.select(paper="picha2023", row=row)]


def families(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The runs of each budget family, "epochs" first; runs without `param.budget` (launched
    before the axis) are "unrecorded"."""
    family = runs[FAMILY] if FAMILY in runs else pd.Series(None, index=runs.index, dtype=object)
    family = family.where(family.notna(), "unrecorded").astype(str)
    unknown = sorted(set(family) - set(FAMILIES))
    if unknown:
        raise ReportError(f"unknown budget famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; known: "
                          f"{', '.join(FAMILIES)}")
    return {f: runs[family == f] for f in FAMILIES if (family == f).any()}


def _family_title(family: str) -> str:
    return f"budget family '{family}' ({FAMILIES[family][0]})"


def _paired(family: str, control: str) -> Paired:
    return Paired(arm=TRAIN_SET, control=control, unequal_budget=FAMILIES[family][1])


def best_train_set(runs: pd.DataFrame) -> str:
    """The real(+k×) row with the highest mean real validation accuracy (`val/acc_best`:
    held-out real subjects, at each run's chosen epoch; the smaller k on a tie). It reads
    no test or blind column, so the blind set reports that k once, unselected on."""
    if VAL not in runs:
        raise ReportError(f"no run logged {VAL}, the real validation accuracy the best k is chosen on")
    chosen_on = runs[[TRAIN_SET, VAL]]
    means = chosen_on.groupby(chosen_on[TRAIN_SET].astype(str))[VAL].mean().dropna()
    means = means[[ratio_of(s) is not None for s in means.index]]
    if means.empty:
        raise ReportError(f"no real or real+k× run logged a validation accuracy ({VAL})")
    top = means.max()
    return min((s for s, v in means.items() if v == top), key=ratio_of)


def ratio_table(runs: pd.DataFrame, family: str) -> Table:
    runs = _ordered(runs)
    keys = runs[TRAIN_SET].astype(str).unique()
    control = "real" if "real" in set(keys) else None
    table = metric_table(
        runs, name=f"synthetic_ratio_{family}",
        title=f"Synthetic ratio (their Table 2 and Fig. 8), {_family_title(family)}: accuracy by training set, "
              "at the epoch chosen on real validation (%)",
        group_by=[TRAIN_SET],
        columns=[Column("train acc", f"train/acc{AT_BEST}", "train_acc"),
                 Column("val acc (real; chooses the epoch and k)", VAL),
                 Column("test acc (held-out real subjects)", f"test/acc{AT_BEST}", "acc"),
                 Column("blind acc (cross-database)", BLIND, "blind_acc"),
                 Column("blind macro-F1", f"blind/macro_f1{AT_BEST}")],
        references={(k,): _paper_refs(k) for k in keys},
        paired=None if control is None else _paired(family, control),
        claims=paper_claims.claims(paper="picha2023"), gates=stargan_gates(keys))
    blind_sets = sorted(runs["param.cross_dataset"].dropna().astype(str).unique()) if "param.cross_dataset" in runs \
        else []
    table.footnotes[:0] = [
        f"Budget family '{family}': {FAMILIES[family][0]}; the 'budget (steps)' column gives each row's optimizer "
        "steps.",
        f"Blind set: {', '.join(blind_sets) or 'unknown'} (its official test split where it has one, else all its "
        "images; the six Ekman classes). Theirs: MMI. Test: the held-out real subjects; their Table 2's test split "
        "also holds generated identities.",
        "One synthetic unit = as many new identities as the real training split has subjects, each in all six "
        "expressions; 'synthetic' = one unit and no real faces."]
    table.plot = fig8_plot
    return table


def stargan_gates(train_sets) -> dict[str, Gate]:
    """Every training set holding StarGAN's faces is gated on all six expressions."""
    return {k: Gate() for k in train_sets if k == "synthetic" or (ratio_of(k) or 0) > 0}


def fig8_plot(table: Table, path: str | Path) -> Path | None:
    """Blind accuracy vs k with the 95 % CI band; real only at k = 0, synthetic only as a
    dashed line; the paper's points in black."""
    stats = table.stats
    if stats.empty:
        return None
    ours = stats[(stats["kind"] == "ours") & (stats["metric"] == BLIND)].copy()
    label = TRAIN_SET[len("param."):]
    ours["k"] = ours[label].astype(str).map(ratio_of)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    line = ours[ours["k"].notna()].sort_values("k")
    hw = line["half_width"].fillna(0)
    ax.plot(line["k"], line["mean"] * 100, "o-", label="ours: real + k× synthetic")
    ax.fill_between(line["k"].astype(float), (line["mean"] - hw) * 100, (line["mean"] + hw) * 100, alpha=0.25,
                    label="95 % CI")
    synth = ours[ours[label].astype(str) == "synthetic"]
    if not synth.empty:
        s = synth.iloc[0]
        ax.axhline(s["mean"] * 100, color="tab:orange", ls="--", label="ours: synthetic only")
        if not np.isnan(s["half_width"]):
            ax.axhspan((s["mean"] - s["half_width"]) * 100, (s["mean"] + s["half_width"]) * 100, color="tab:orange",
                       alpha=0.12)
    for r in references.select(paper="picha2023", metric="blind_acc", dataset="MMI (cross-database)"):
        if r.row == "synthetic only (GFEs)":
            ax.axhline(r.value, color="black", ls=":", lw=1, label=f"Picha et al. synthetic only (MMI): {r.value}")
        elif r.row == "real only (RFEs)":
            ax.plot(0, r.value, "kx", ms=8, label="Picha et al. (MMI)")
        elif r.row.startswith("RFEs +"):
            ax.plot(int(re.search(r"(\d+)x", r.row).group(1)), r.value, "kx", ms=8)
    ax.set_xlabel("k (synthetic units added to the real training faces; 0 = real only)")
    ax.set_ylabel("blind cross-database accuracy (%)")
    ax.set_title("Fig. 8: blind cross-database accuracy vs k, mean and 95 % CI over seeds\n"
                 + textwrap.fill(table.context, 130), fontsize=7)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def peak_table(runs: pd.DataFrame, family: str) -> Table:
    """The best k (chosen on validation) and every larger k paired against it on the blind
    set: does blind accuracy fall beyond it?"""
    best = best_train_set(runs)
    k_best = ratio_of(best)
    beyond = runs[[ratio_of(str(s)) is not None and ratio_of(str(s)) >= k_best for s in runs[TRAIN_SET]]]
    table = metric_table(
        _ordered(beyond), name=f"synthetic_ratio_{family}_peak",
        title=f"Synthetic ratio, {_family_title(family)}: the best k (chosen on validation) is {best}; blind "
              "accuracy there and at every larger k, paired against it (%)",
        group_by=[TRAIN_SET], columns=[Column("blind acc (cross-database)", BLIND, "blind_acc")],
        paired=_paired(family, best), gates=stargan_gates(beyond[TRAIN_SET].astype(str).unique()))
    falls = []
    for _, row in table.stats[table.stats["kind"] == "paired_diff"].iterrows():
        if row["n"] >= 2 and row["high"] < 0:
            falls.append(f"{row[TRAIN_SET[len('param.'):]]} ({100 * row['mean']:+.2f} points, CI "
                         f"[{100 * row['low']:.2f}, {100 * row['high']:.2f}])")
    larger = sorted({str(s) for s in beyond[TRAIN_SET]} - {best}, key=ratio_of)
    if not larger:
        verdict = f"{best} is the largest k run: nothing beyond it to compare."
    elif falls:
        verdict = f"Blind accuracy falls beyond {best}: lower with a 95 % CI below 0 at " + "; ".join(falls) + "."
    else:
        verdict = (f"No k beyond {best} is lower with a 95 % CI that excludes 0: a fall beyond the best k is not "
                   "shown on our data.")
    blind_at_best = fmt_ci(rate_ci(runs.loc[runs[TRAIN_SET].astype(str) == best, BLIND]))
    table.footnotes[:0] = [
        f"Best k (chosen on validation): {best}, the real(+k×) row with the highest mean real validation accuracy "
        f"({VAL}); no test or blind number enters the choice. Its blind accuracy: {blind_at_best} %.",
        verdict, "Picha et al. (MMI): best at 5× (58.3 %), falling beyond it (Section 4.3); "
                 "real only 45 %, synthetic only 47 % (Fig. 8). Their best k was read off the blind set."]
    return table


def per_class_table(runs: pd.DataFrame, family: str) -> Table:
    """Blind per-class precision / recall / F1 for real only, synthetic only and the best k
    (chosen on validation; their Figs. 5, 7 and 10), mean ± 95 % CI over seeds."""
    best = best_train_set(runs)
    shown = list(dict.fromkeys(s for s in ("real", "synthetic", best) if (runs[TRAIN_SET].astype(str) == s).any()))
    rows, stats = [], []
    for train_set in shown:
        sub = runs[runs[TRAIN_SET].astype(str) == train_set]
        for c in EKMAN:
            row = {"train set": train_set + (" (best k, chosen on validation)" if train_set == best else ""),
                   "class": c}
            for name, key in (("precision", "precision"), ("recall", "recall"), ("F1", "f1")):
                metric = f"blind/{key}_{c}{AT_BEST}"
                ci = rate_ci(sub[metric] if metric in sub else [])
                row[name] = fmt_ci(ci)
                stats.append({"train_set": train_set, "class": c, "measure": name, **ci._asdict()})
            rows.append(row)
    table = Table(name=f"synthetic_ratio_{family}_per_class",
                  title=f"Synthetic ratio (their Figs. 5, 7, 10), {_family_title(family)}: blind-set precision, "
                        "recall and F1 per class (%)",
                  context="", cells=pd.DataFrame(rows), stats=pd.DataFrame(stats),
                  footnotes=["Precision is 0 for a class the model never predicts (scikit-learn's zero_division=0)."])
    table.plot = prf_plot
    return table


def prf_plot(table: Table, path: str | Path) -> Path | None:
    stats = table.stats
    if stats.empty:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(stats["train_set"]))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.5 * len(sets), 3.6), squeeze=False, sharey=True)
    x = np.arange(len(EKMAN))
    for ax, train_set in zip(axes[0], sets):
        sub = stats[stats["train_set"] == train_set]
        for i, measure in enumerate(("precision", "recall", "F1")):
            m = sub[sub["measure"] == measure].set_index("class").reindex(EKMAN)
            ax.bar(x + (i - 1) * 0.27, m["mean"] * 100, 0.27, yerr=(m["half_width"] * 100).fillna(0), capsize=2,
                   label=measure)
        ax.set_xticks(x, EKMAN, rotation=30, fontsize=8)
        ax.set_title(train_set, fontsize=9)
        ax.set_ylim(0, 100)
    axes[0][0].set_ylabel("blind set (%)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{table.title}\n" + textwrap.fill(table.context, 150), fontsize=7)
    return save_figure(fig, path)


def confusion_table(runs: pd.DataFrame, family: str) -> Table:
    """The blind confusion matrix of the best k (chosen on validation), counts summed over
    its seeds (their Fig. 9)."""
    best = best_train_set(runs)
    sub = runs[runs[TRAIN_SET].astype(str) == best]
    cells = {}
    for a in EKMAN:
        cells[a] = {b: int(sub[f"blind/cm_{a}_{b}"].sum()) if f"blind/cm_{a}_{b}" in sub else 0 for b in EKMAN}
    matrix = pd.DataFrame(cells).T.reindex(index=list(EKMAN), columns=list(EKMAN))
    shown = matrix.reset_index().rename(columns={"index": "true \\ predicted"})
    table = Table(name=f"synthetic_ratio_{family}_confusion",
                  title=f"Synthetic ratio (their Fig. 9), {_family_title(family)}: blind-set confusion matrix of the "
                        f"best k (chosen on validation: {best}), counts summed over {len(sub)} seeds",
                  context="", cells=shown, stats=matrix.stack().rename("count").reset_index()
                  .rename(columns={"level_0": "true", "level_1": "predicted"}))
    table.plot = confusion_plot
    return table


def confusion_plot(table: Table, path: str | Path) -> Path | None:
    stats = table.stats
    if stats.empty:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = stats.pivot(index="true", columns="predicted", values="count").reindex(index=EKMAN, columns=EKMAN)
    share = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0) * 100
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(share.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=100)
    for i in range(len(EKMAN)):
        for j in range(len(EKMAN)):
            ax.text(j, i, f"{int(matrix.iat[i, j])}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(EKMAN)), EKMAN, rotation=30, fontsize=8)
    ax.set_yticks(range(len(EKMAN)), EKMAN, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, label="% of the true class")
    ax.set_title(textwrap.fill(f"{table.title}. {table.context}", 90), fontsize=6)
    return save_figure(fig, path)


@register_layout("synthetic_ratio", "Picha et al. Table 2 / Fig. 8: accuracy by synthetic ratio on held-out and "
                                   "blind cross-database faces, the best k, its per-class P/R/F1 and confusion "
                                   "matrix")
def synthetic_ratio_tables(runs: pd.DataFrame) -> list[Table]:
    if TRAIN_SET not in runs:
        raise ReportError("synthetic_ratio runs need the param 'train_set'")
    tables = []
    for family, sub in families(runs).items():
        tables.append(ratio_table(sub, family))
        if all(m in sub and sub[m].notna().any() for m in (BLIND, VAL)):
            tables += [peak_table(sub, family), per_class_table(sub, family), confusion_table(sub, family)]
    return tables

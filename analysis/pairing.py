"""How a table pairs an arm's runs with its control's: matched on parent run, seed and fold
(``Paired``), the design's train/test ratio for the corrected test, and the refusal of a
pair whose optimizer-step budgets differ unless the layout says why."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import ReportError
from analysis.runs import PARAM_PREFIX

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


def column_label(column: str) -> str:
    return column[len(PARAM_PREFIX):] if column.startswith(PARAM_PREFIX) else column


def paired_values(both: pd.DataFrame, arm: str, control: str, metric: str, keys: list[str]) -> pd.DataFrame:
    """The arm's and the control's runs matched on ``keys``: their difference in
    ``metric``, and each pair's folds, split sizes and design (for the design's test)."""
    if metric not in both:
        return pd.DataFrame({"diff": []})
    sides = []
    for value in (arm, control):
        side = both[both["_arm"] == value]
        if side.set_index(keys).index.has_duplicates:
            raise ValueError(f"duplicate pairing keys {keys} among the runs of {value!r}")
        sides.append(side.set_index(keys))
    joined = sides[0].merge(sides[1], how="inner", left_index=True, right_index=True, suffixes=("", "_control"))
    joined = joined.dropna(subset=[metric, f"{metric}_control"])
    out = pd.DataFrame({"diff": joined[metric].astype(float) - joined[f"{metric}_control"].astype(float)})
    for column in (N_TRAIN_REAL, "data/n_train", "data/n_test", RESAMPLED, "param.n_folds"):
        if column in joined:
            values = pd.to_numeric(joined[column], errors="coerce")
            if f"{column}_control" in joined:  # both sides share the split; the control's fills a gap
                values = values.fillna(pd.to_numeric(joined[f"{column}_control"], errors="coerce"))
                if column == "data/n_train":  # a GAN arm counts its synthetic images: the smaller is real
                    values = values.combine(pd.to_numeric(joined[f"{column}_control"], errors="coerce"), min)
            out[column] = values
    if "fold" in joined.index.names:
        out["fold"] = joined.index.get_level_values("fold")
    return out


def split_across_launches(both: pd.DataFrame, arm: str, control: str, keys: list[str]) -> bool:
    """Whether the arm and its control both have runs, none matched on ``keys``, but some
    would be on the same keys without the parent run: they ran in different launches.
    Pairs stay within a launch (one commit, scale and cache), so such a row has no Δ."""
    if "parent_run_id" not in keys:
        return False
    mine, theirs = (both[both["_arm"] == value] for value in (arm, control))
    if mine.empty or theirs.empty:
        return False
    return not _any_match(mine, theirs, keys) and _any_match(mine, theirs, [k for k in keys if k != "parent_run_id"])


def _any_match(a: pd.DataFrame, b: pd.DataFrame, on: list[str]) -> bool:
    return not a[on].drop_duplicates().merge(b[on].drop_duplicates(), on=on).empty


N_TRAIN_REAL = "data/n_train_real"
RESAMPLED = "data/resampled"


def resampling_ratio(pairs: pd.DataFrame) -> float | None:
    """n_test / n_train of the design when the pairs' training sets overlap, else None
    (independent seeds on one fixed split: the plain paired t). They overlap where the
    trials say their split is redrawn by the seed (``data/resampled``: k-fold, a class
    fraction) or, for runs that predate that record, where the pairs span several folds.
    n_train counts real training images (``data/n_train_real``; older runs: the smaller
    side's ``data/n_train``); without counts, a k-fold split's 1/(k − 1)."""
    if pairs.empty:
        return None
    if RESAMPLED in pairs and pairs[RESAMPLED].notna().any():
        overlap = bool((pairs[RESAMPLED] > 0).any())
    else:
        overlap = "fold" in pairs and pairs["fold"].nunique() >= 2
    if not overlap:
        return None
    n_train = N_TRAIN_REAL if N_TRAIN_REAL in pairs and pairs[N_TRAIN_REAL].notna().any() else "data/n_train"
    if n_train in pairs and "data/n_test" in pairs and pairs[n_train].notna().any():
        return float(pairs["data/n_test"].mean() / pairs[n_train].mean())
    folds = pairs["param.n_folds"].dropna() if "param.n_folds" in pairs else pd.Series(dtype=float)
    k = int(folds.iloc[0]) if len(folds) else pairs["fold"].nunique() if "fold" in pairs else 0
    return 1 / (k - 1) if k >= 2 else None


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
    if not budgets[arm] and not budgets[paired.control]:
        return
    has_runs = all((both["_arm"] == value).any() for value in (arm, paired.control))
    if not has_runs:  # one side has no runs: no Δ to guard
        return
    if (not budgets[arm] or not budgets[paired.control]) and paired.unequal_budget is None:
        silent = arm if not budgets[arm] else paired.control
        raise BudgetMismatch(f"{where}: the runs of {column_label(paired.arm)}={silent} logged no {BUDGET}, so the "
                             "comparison cannot show that both sides trained for the same number of optimizer "
                             "steps. Log the budget in every trial of the comparison.")
    if budgets[arm] == budgets[paired.control] and len(budgets[arm]) == 1:
        return
    text = (f"{where} trained for {budgets[arm]} optimizer steps, its control "
            f"{column_label(paired.arm)}={paired.control} for {budgets[paired.control]}")
    if paired.unequal_budget is None:
        raise BudgetMismatch(f"{text}: a Δ between them would mix the arm's effect with a different training "
                             "budget. Give every arm of the comparison the same `steps`, or declare why they "
                             "differ (Paired.unequal_budget).")
    notes.append(f"Unequal budgets, declared: {text}; {paired.unequal_budget}.")


def row_label(group_by: list[str], key: tuple) -> str:
    return ", ".join(f"{column_label(g)}={k}" for g, k in zip(group_by, key))

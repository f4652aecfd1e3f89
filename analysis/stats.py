"""Confidence intervals for tables: Student-t over seeds/folds, and paired differences.

Why Student-t: a table cell aggregates a handful of runs (3–10 seeds × folds), where
the normal approximation's 1.96 understates the interval badly (t_{0.975, 2} = 4.30).
Why paired: an ablation arm and its control trained on the same seed and fold share
the split and the initialisation, so the per-pair differences cancel most of the
seed-to-seed variance that two independent intervals would double-count.

All functions are unit-free: pass fractions and get fractions back; the tables scale
to % themselves.
"""

from __future__ import annotations

import math
from typing import Iterable, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as _st


class Interval(NamedTuple):
    """``mean ± half_width`` from ``n`` values; half_width is NaN when n < 2."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool | None:
        """Whether ``value`` lies in the closed interval; None when there is none."""
        if math.isnan(self.half_width):
            return None
        return self.low <= value <= self.high

    def excludes_zero(self) -> bool | None:
        inside = self.contains(0.0)
        return None if inside is None else not inside


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Mean and Student-t half-width of the two-sided ``confidence`` interval.

    NaNs are dropped (a run that did not log the metric is not a zero). Returns
    ``(nan, nan, 0)`` for no values and ``(x, nan, 1)`` for one: one run has no
    spread to estimate, and a table must say so rather than show ± 0.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.asarray(list(values), dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, 1)
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    t = float(_st.t.ppf(0.5 + confidence / 2.0, df=n - 1))
    return Interval(mean, t * sem, n)


def paired_diff_ci(a: pd.Series, b: pd.Series, confidence: float = 0.95) -> Interval:
    """Interval of the mean of ``a − b`` over the pairs matched by index.

    ``a`` (the ablation arm) and ``b`` (its control) are indexed by the pairing key,
    e.g. a MultiIndex (seed, fold) or (parent_run_id, seed, fold); only keys present
    in both, with a value in both, count, and ``n`` is the number of pairs. A key that
    appears twice on one side is an error: there is no honest way to pair it.
    """
    for name, side in (("a", a), ("b", b)):
        if side.index.has_duplicates:
            dup = side.index[side.index.duplicated()].unique().tolist()
            raise ValueError(f"paired_diff_ci: duplicate pairing keys in {name}: {dup}")
    if a.empty or b.empty:
        return Interval(math.nan, math.nan, 0)
    joined = pd.concat({"a": a, "b": b}, axis=1, join="inner").dropna()
    return mean_ci(joined["a"] - joined["b"], confidence)


def paired_frame_diff(frame: pd.DataFrame, arm_column: str, arm: str, control: str,
                      metric: str, keys: list[str], confidence: float = 0.95) -> Interval:
    """``paired_diff_ci`` on a runs DataFrame: rows with ``arm_column == arm`` minus
    rows with ``arm_column == control``, matched on the ``keys`` columns."""
    def side(value: str) -> pd.Series:
        rows = frame[frame[arm_column] == value]
        if metric not in rows.columns:
            return pd.Series(dtype=float)
        return rows.set_index(keys)[metric].astype(float)

    return paired_diff_ci(side(arm), side(control), confidence)


def paired_t_p_value(diff: Interval, confidence: float = 0.95) -> float:
    """Two-sided p-value of the paired t-test that the mean difference is 0, from the
    interval of the differences (its half-width is t_crit · sem); NaN below 2 pairs."""
    if diff.n < 2 or math.isnan(diff.half_width):
        return math.nan
    if diff.half_width == 0:
        return 0.0 if diff.mean != 0 else 1.0
    sem = diff.half_width / float(_st.t.ppf(0.5 + confidence / 2.0, df=diff.n - 1))
    return float(2 * _st.t.sf(abs(diff.mean) / sem, df=diff.n - 1))

"""Confidence intervals for tables: Student-t over seeds/folds, and paired differences.

Why Student-t: a table cell aggregates a handful of runs (3–10 seeds × folds), where
the normal approximation's 1.96 understates the interval badly (t_{0.975, 2} = 4.30).
Why paired: an ablation arm and its control trained on the same seed and fold share
the split and the initialisation, so the per-pair differences cancel most of the
seed-to-seed variance that two independent intervals would double-count.

Why corrected: pairs over cross-validation folds share most of their training data, so
their differences are correlated and the plain paired t-test is anti-conservative. The
corrected resampled t-test (Nadeau & Bengio 2003) inflates the variance of the mean
difference from s²/n to (1/n + n_test/n_train)·s², with the ratio taken from the actual
splits; pairs over independent seeds on one fixed split keep the plain paired t.

Why a clipped interval for rates: a Student-t interval of a few accuracies near 0 or 1 (or
far apart) runs past [0, 1]. It is clipped to [0, 1] and marked so, rather than moved to
another scale: a logit interval mapped back can exclude its own mean (ten folds at 100 %
but one collapsed at 25 % gave "91.50 [94.11, 99.79]") and its bounds depend on the
constant that moves 0 and 1 inside the logit's domain. The clipped interval always holds
the mean, and a collapsed fold widens it.

All functions are unit-free: pass fractions and get fractions back; the tables scale
to % themselves. scipy supplies every distribution.
"""

from __future__ import annotations

import math
from typing import Iterable, NamedTuple

import numpy as np
from scipy import stats as _st
from scipy.optimize import brentq


class Interval(NamedTuple):
    """``mean ± half_width`` from ``n`` values; half_width is NaN when n < 2. An
    asymmetric interval (a rate's, from the logit scale) gives its ``bounds``."""

    mean: float
    half_width: float
    n: int
    bounds: tuple[float, float] | None = None
    clipped: bool = False  # a bound was cut at the metric's range (a rate's 0 or 1)

    @property
    def low(self) -> float:
        return self.bounds[0] if self.bounds else self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.bounds[1] if self.bounds else self.mean + self.half_width

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


# --- rates, corrected tests, multiplicity and power -------------------------------------

def rate_ci(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Mean of rates in [0, 1] with the Student-t interval clipped to [0, 1]; ``clipped``
    says whether a bound was cut (the table marks it). The interval always contains the
    mean."""
    plain = mean_ci(values, confidence)
    if plain.n < 2:
        return plain
    low, high = max(0.0, plain.low), min(1.0, plain.high)
    clipped = low != plain.low or high != plain.high
    return Interval(plain.mean, plain.half_width, plain.n, (low, high) if clipped else None, clipped)


class PairedTest(NamedTuple):
    """A paired comparison: the interval of the mean difference, its two-sided p-value,
    the test's name, and the minimal effect it could detect at 80 % power."""

    diff: Interval
    p: float
    test: str
    sd: float
    ratio: float | None  # n_test / n_train of the design, None for independent pairs


PLAIN_T = "paired t-test"
CORRECTED_T = "corrected resampled t-test (Nadeau & Bengio 2003)"


def paired_test(diffs: Iterable[float], test_train_ratio: float | None = None,
                confidence: float = 0.95) -> PairedTest:
    """The paired differences' interval and p-value: the corrected resampled t-test when
    the pairs share training data (``test_train_ratio`` = n_test / n_train of the splits),
    else the plain paired t-test."""
    d = np.asarray(list(diffs), dtype=float)
    d = d[~np.isnan(d)]
    n = int(d.size)
    name = PLAIN_T if test_train_ratio is None else CORRECTED_T
    if n < 2:
        mean = float(d.mean()) if n else math.nan
        return PairedTest(Interval(mean, math.nan, n), math.nan, name, math.nan, test_train_ratio)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):  # equal differences: summation rounding, not spread
        sd = 0.0
    se = sd * math.sqrt(1 / n + (test_train_ratio or 0.0))
    t_crit = float(_st.t.ppf(0.5 + confidence / 2, df=n - 1))
    if se == 0:
        p = 0.0 if mean != 0 else 1.0
    else:
        p = float(2 * _st.t.sf(abs(mean) / se, df=n - 1))
    return PairedTest(Interval(mean, t_crit * se, n), p, name, sd, test_train_ratio)


def holm(p_values: Iterable[float]) -> list[float]:
    """Holm's step-down adjusted p-values (statsmodels' ``multipletests``), in the input
    order; NaNs stay NaN and do not count as tests."""
    from statsmodels.stats.multitest import multipletests

    p = [float(v) for v in p_values]
    tested = [i for i, v in enumerate(p) if not math.isnan(v)]
    out = [math.nan] * len(p)
    if tested:
        adjusted = multipletests([p[i] for i in tested], method="holm")[1]
        for i, value in zip(tested, adjusted):
            out[i] = float(value)
    return out


def interval_at(test: PairedTest, alpha: float) -> Interval:
    """The test's interval of the mean difference at level 1 − ``alpha`` (its own SE and
    degrees of freedom): the interval a claim is judged by at its adjusted level."""
    diff = test.diff
    if diff.n < 2 or not test.sd >= 0:
        return Interval(diff.mean, math.nan, diff.n)
    se = test.sd * math.sqrt(1 / diff.n + (test.ratio or 0.0))
    return Interval(diff.mean, float(_st.t.ppf(1 - alpha / 2, diff.n - 1)) * se, diff.n)


def agreement_p(agreeing: int, judged: int, chance: float) -> float:
    """One-sided binomial p-value that ``agreeing`` of ``judged`` images called their
    intended class is no better than ``chance`` (scipy's ``binomtest``)."""
    if judged <= 0:
        return math.nan
    return float(_st.binomtest(int(agreeing), int(judged), chance, alternative="greater").pvalue)


def power(effect: float, sd: float, n: int, test_train_ratio: float | None = None, alpha: float = 0.05) -> float:
    """Power of the two-sided (corrected) paired t-test at level ``alpha`` to detect a true
    mean difference ``effect`` with paired SD ``sd`` over ``n`` pairs (noncentral t)."""
    if n < 2 or sd <= 0:
        return math.nan
    se = sd * math.sqrt(1 / n + (test_train_ratio or 0.0))
    df, t_crit, nc = n - 1, float(_st.t.ppf(1 - alpha / 2, n - 1)), abs(effect) / se
    # the wrong-sign tail vanishes for a large nc, where scipy's nct.cdf returns NaN
    return float(_st.nct.sf(t_crit, df, nc) + np.nan_to_num(_st.nct.cdf(-t_crit, df, nc)))


def minimal_detectable_effect(sd: float, n: int, test_train_ratio: float | None = None, alpha: float = 0.05,
                              target: float = 0.8) -> float:
    """The smallest true mean difference the test detects with probability ``target``."""
    if n < 2 or not sd > 0:
        return math.nan
    se = sd * math.sqrt(1 / n + (test_train_ratio or 0.0))
    hi = se * float(_st.t.ppf(1 - alpha / 2, n - 1))
    while power(hi, sd, n, test_train_ratio, alpha) < target:
        hi *= 2
    return float(brentq(lambda e: power(e, sd, n, test_train_ratio, alpha) - target, 0.0, hi))


def pairs_needed(effect: float, sd: float, test_train_ratio: float | None = None, alpha: float = 0.05,
                 target: float = 0.8, n_max: int = 10_000) -> int | None:
    """The fewest pairs that detect ``effect`` with probability ``target``; None when no
    n up to ``n_max`` does (under the correction, more folds of one design cannot shrink
    the variance below ratio·sd²)."""
    if not sd > 0:
        return 2
    if power(effect, sd, n_max, test_train_ratio, alpha) < target:
        return None
    lo, hi = 2, n_max
    while lo < hi:
        mid = (lo + hi) // 2
        if power(effect, sd, mid, test_train_ratio, alpha) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo

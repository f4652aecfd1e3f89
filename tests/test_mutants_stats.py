"""analysis.stats on cases worked by hand: t-quantiles from printed tables, means and
SDs small enough to check on paper. Written to kill the survivors of mutation testing
([tool.mutmut] in pyproject.toml); the expected numbers do not come from the code."""

import math

import pytest

from analysis.stats import (Interval, holm, interval_at, mean_ci, minimal_detectable_effect, paired_test,
                            pairs_needed, power, rate_ci)

T_975_DF2 = 4.302652729749464  # two-sided 95 %, 2 degrees of freedom (any t table)
T_95_DF2 = 2.919985580355516  # two-sided 90 %, 2 degrees of freedom


def test_mean_ci_of_1_2_3():
    # mean 2, sample SD 1, SEM 1/√3
    ci = mean_ci([1.0, 2.0, 3.0])
    assert (ci.mean, ci.n) == (2.0, 3)
    assert ci.half_width == pytest.approx(T_975_DF2 / math.sqrt(3), rel=1e-9)
    assert (ci.low, ci.high) == pytest.approx((2 - T_975_DF2 / math.sqrt(3), 2 + T_975_DF2 / math.sqrt(3)))
    assert mean_ci([1.0, 2.0, 3.0], confidence=0.9).half_width == pytest.approx(T_95_DF2 / math.sqrt(3), rel=1e-9)


def test_mean_ci_drops_nans_and_says_when_there_is_no_spread():
    assert mean_ci([1.0, math.nan, 3.0]).mean == 2.0 and mean_ci([1.0, math.nan, 3.0]).n == 2
    one = mean_ci([0.7, math.nan])
    assert one.mean == 0.7 and one.n == 1 and math.isnan(one.half_width)
    none = mean_ci([])
    assert none.n == 0 and math.isnan(none.mean) and math.isnan(none.half_width)
    assert one.contains(0.7) is None and one.excludes_zero() is None


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5])
def test_mean_ci_rejects_a_confidence_outside_0_1(confidence):
    with pytest.raises(ValueError, match="confidence must be in"):
        mean_ci([1.0, 2.0], confidence)


def test_interval_bounds_are_closed_and_asymmetric_ones_win():
    sym = Interval(1.0, 0.5, 4)
    assert (sym.low, sym.high) == (0.5, 1.5)
    assert sym.contains(0.5) and sym.contains(1.5) and not sym.contains(1.51) and not sym.contains(0.49)
    assert sym.excludes_zero() is True and Interval(0.2, 0.2, 4).excludes_zero() is False
    skew = Interval(0.5, 0.1, 4, (0.2, 0.9))
    assert (skew.low, skew.high) == (0.2, 0.9) and skew.contains(0.85)


def test_rate_ci_clips_the_student_t_interval_at_0_and_1_and_marks_it():
    # 0.5 and 0.9: mean 0.7, s = 0.2828…, SEM 0.2, t(0.975, 1) = 12.7062: 0.7 ± 2.5412 → [0, 1]
    ci = rate_ci([0.5, 0.9, math.nan])
    t1 = 12.706204736174698
    assert ci.mean == pytest.approx(0.7) and ci.n == 2 and ci.half_width == pytest.approx(t1 * 0.2)
    assert ci.bounds == (0.0, 1.0) and ci.clipped
    high_only = rate_ci([0.97, 0.99, 1.0])  # mean 0.98667, s 0.015275, SEM 0.0088192, t(0.975, 2) 4.302653
    assert high_only.low == pytest.approx(0.986667 - 4.302653 * 0.0088192, rel=1e-5) and high_only.high == 1.0
    assert rate_ci([0.4, 0.6]).clipped is False or rate_ci([0.4, 0.6]).bounds == (0.0, 1.0)
    single = rate_ci([0.4])
    assert single.n == 1 and single.bounds is None and not single.clipped
    assert not rate_ci([0.50, 0.52, 0.51]).clipped


def test_paired_test_by_hand():
    plain = paired_test([1.0, 2.0, 3.0, math.nan])
    assert plain.diff.n == 3 and plain.sd == 1.0 and plain.ratio is None
    assert plain.p == pytest.approx(0.07417990022744847, rel=1e-6)
    assert plain.diff.half_width == pytest.approx(T_975_DF2 / math.sqrt(3))
    # corrected: SE = 1·√(1/3 + 2/3) = 1, t = 2 on 2 df, p = 0.1835 (t table)
    corrected = paired_test([1.0, 2.0, 3.0], test_train_ratio=2 / 3)
    assert corrected.diff.half_width == pytest.approx(T_975_DF2) and corrected.p == pytest.approx(0.1835034190722739)
    assert paired_test([2.0, 2.0]).p == 0.0 and paired_test([0.0, 0.0]).p == 1.0
    short = paired_test([0.4])
    assert short.diff.mean == 0.4 and short.diff.n == 1 and math.isnan(short.p) and math.isnan(short.sd)
    assert math.isnan(paired_test([]).diff.mean)


def test_holm_on_three_p_values_by_hand():
    # sorted 0.01, 0.02, 0.04 → ×3, ×2, ×1 = 0.03, 0.04, 0.04 (running max), in input order
    assert holm([0.04, 0.01, math.nan, 0.02]) == pytest.approx([0.04, 0.03, math.nan, 0.04], nan_ok=True)
    assert holm([0.5, 0.6]) == [1.0, 1.0]


def test_power_edges_and_a_normal_approximation():
    assert math.isnan(power(1.0, 1.0, 1)) and math.isnan(power(1.0, 0.0, 5)) and math.isnan(power(1.0, -1.0, 5))
    # n = 2: t_crit(0.975, 1) = 12.706; with zero effect the power is exactly alpha
    assert power(0.0, 1.0, 2) == pytest.approx(0.05, rel=1e-6)
    assert power(0.0, 1.0, 9, alpha=0.1) == pytest.approx(0.1, rel=1e-6)
    # a huge effect is detected almost surely, of either sign
    assert power(-50.0, 1.0, 30) == pytest.approx(1.0) and power(50.0, 1.0, 30) == pytest.approx(1.0)
    # the correction with ratio r shrinks n_eff: SE = sd·√(1/n + r)
    sd_with_the_same_se = math.sqrt(1 / 20 + 0.25) * math.sqrt(20)
    assert power(0.5, 1.0, 20, 0.25) == pytest.approx(power(0.5, sd_with_the_same_se, 20))


def test_minimal_detectable_effect_and_pairs_needed_edges():
    assert math.isnan(minimal_detectable_effect(1.0, 1)) and math.isnan(minimal_detectable_effect(0.0, 5))
    mde = minimal_detectable_effect(1.0, 10)
    assert power(mde, 1.0, 10) == pytest.approx(0.8, abs=1e-6)
    assert power(mde, 1.0, 10, alpha=0.01) < 0.8
    assert minimal_detectable_effect(1.0, 10, target=0.9) > mde
    assert pairs_needed(1.0, 0.0) == 2 and pairs_needed(100.0, 1.0) == 2  # the search starts at 2 pairs
    n = pairs_needed(0.5, 1.0)
    assert power(0.5, 1.0, n) >= 0.8 > power(0.5, 1.0, n - 1)
    assert pairs_needed(0.1, 1.0, test_train_ratio=0.25) is None
    assert pairs_needed(0.5, 1.0, target=0.9) > n and pairs_needed(0.5, 1.0, alpha=0.01) > n


def test_paired_test_uses_the_confidence_it_is_given():
    # differences 1, 2, 3: mean 2, SD 1, SEM 1/√3; t(0.95, 2) = 2.919986 from a printed table (90 % two-sided)
    got = paired_test([1.0, 2.0, 3.0], confidence=0.90)
    assert got.diff.mean == pytest.approx(2.0) and got.diff.n == 3
    assert got.diff.half_width == pytest.approx(2.919986 / math.sqrt(3), rel=1e-5)


def test_interval_at_a_level_uses_the_tests_own_standard_error():
    # differences 1..5 with n_test/n_train 1/4: se = 1.5811·√(1/5 + 1/4) = 1.06066; t(0.95, 4) = 2.131847
    test = paired_test([1.0, 2.0, 3.0, 4.0, 5.0], test_train_ratio=0.25)
    found = interval_at(test, 0.10)
    assert found.mean == pytest.approx(3.0) and found.n == 5
    assert found.half_width == pytest.approx(2.131847 * 1.06066, rel=1e-5)
    assert math.isnan(interval_at(paired_test([1.0]), 0.05).half_width)


def test_agreement_p_is_the_upper_binomial_tail():
    from analysis.stats import agreement_p

    # P(X ≥ 9) for X ~ Binomial(20, 1/4), summed by hand
    tail = sum(math.comb(20, k) * 0.25 ** k * 0.75 ** (20 - k) for k in range(9, 21))
    assert agreement_p(9, 20, 0.25) == pytest.approx(tail, rel=1e-9)
    assert agreement_p(0, 20, 0.25) == pytest.approx(1.0) and math.isnan(agreement_p(0, 0, 0.25))


def test_interval_at_two_pairs_and_no_spread_and_what_one_pair_keeps():
    # differences 1, 3: mean 2, SD √2, se = √2·√(1/2) = 1; t(0.975, 1) = 12.7062 from a printed table
    two = interval_at(paired_test([1.0, 3.0]), 0.05)
    assert two.half_width == pytest.approx(12.7062, rel=1e-5)
    # equal differences: no spread is a zero-width interval, not a missing one
    flat = interval_at(paired_test([2.0, 2.0, 2.0]), 0.05)
    assert (flat.mean, flat.half_width, flat.n) == (pytest.approx(2.0), 0.0, 3)
    one = interval_at(paired_test([0.5]), 0.05)
    assert one.mean == 0.5 and one.n == 1 and math.isnan(one.half_width)


def test_minimal_detectable_effect_from_two_pairs():
    # two pairs are enough for a t-test (1 degree of freedom): the MDE is a number whose power is the target
    mde = minimal_detectable_effect(1.0, 2)
    assert math.isfinite(mde) and power(mde, 1.0, 2) == pytest.approx(0.8, abs=1e-6)


def test_pairs_needed_is_the_first_n_of_a_plain_search_and_alpha_reaches_every_step():
    def first_n(effect, sd, ratio=None, alpha=0.05):  # the definition, searched one n at a time
        return next(n for n in range(2, 10_001) if power(effect, sd, n, ratio, alpha) >= 0.8)

    for effect, ratio, alpha in ((0.3, None, 0.05), (0.5, 0.01, 0.05), (0.4, None, 0.01), (1.0, None, 0.05)):
        assert pairs_needed(effect, 1.0, ratio, alpha=alpha) == first_n(effect, 1.0, ratio, alpha)
    # under the correction the power levels off near Φ(effect/(sd·√ratio) − z): with ratio ¼ and an
    # effect of 1.55 sd that is ≈ 0.87 at α = 5 % but ≈ 0.70 at α = 1 %, so no n reaches 80 % there
    assert pairs_needed(1.55, 1.0, 0.25, alpha=0.05) is not None
    assert pairs_needed(1.55, 1.0, 0.25, alpha=0.01) is None


def test_the_mde_at_a_stricter_alpha_has_the_target_power_at_that_alpha():
    mde = minimal_detectable_effect(1.0, 10, alpha=0.01)
    assert power(mde, 1.0, 10, alpha=0.01) == pytest.approx(0.8, abs=1e-6)
    assert mde > minimal_detectable_effect(1.0, 10)

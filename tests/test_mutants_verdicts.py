"""analysis.verdicts at its edges, on cases worked by hand: the verdict's interval rules where
a bound touches 0 or the paper's effect, the gate's half-way line and pooling, the reasons
for no verdict at their limits, and the flags' limits. Written to kill the survivors of
mutation testing ([tool.mutmut] in pyproject.toml); the expected numbers do not come from
the code."""

import math

import pandas as pd
import pytest
from scipy import stats as st

from analysis import references
from analysis.stats import Interval, paired_test
from analysis.verdicts import (ClaimTest, Gate, GateResult, blocked_reason, collapsed, flag_text, judge_claims,
                               judge_gates, target_numbers, verdict)


def interval(low, high, n=10):
    return Interval((low + high) / 2, (high - low) / 2, n)


def test_verdict_edges_where_a_bound_touches_zero_or_the_effect():
    assert verdict(interval(0.0, 0.05), 3.0, +1, 1.0) == "inconclusive (MDE 1.00 pts)"  # low = 0: 0 not excluded
    assert verdict(interval(0.001, 0.03), 3.0, +1, 1.0) == "reproduced"  # high = the effect: contains it
    assert verdict(interval(0.001, 0.0299), 3.0, +1, 1.0) == "smaller than claimed"
    assert verdict(interval(-0.01, 0.03), 3.0, +1, 1.0) == "inconclusive (MDE 1.00 pts)"  # holds both
    assert verdict(interval(-0.01, 0.0299), 3.0, +1, 1.0) == "contradicted"
    assert verdict(interval(-0.03, -0.001), -3.0, -1, 1.0) == "reproduced"  # a loss: high = −effect
    assert verdict(interval(-0.0299, -0.001), -3.0, -1, 1.0) == "smaller than claimed"
    assert verdict(interval(0.0, 0.0), None, +1, 2.5) == "inconclusive (MDE 2.50 pts)"


def test_the_gate_pools_a_rows_runs_by_counts_and_passes_at_exactly_half_way():
    # two runs: 30 of 40 and 12 of 20 agree → 42 of 60 = 0.7; recall (0.8 + 0.6)/2 = 0.7; chance ¼
    runs = pd.DataFrame({"gate/classes": [4.0, 4.0], "gate/x/agreement": [0.75, 0.6], "gate/x/n": [40.0, 20.0],
                         "gate/x/real_recall": [0.8, 0.6]})
    found = target_numbers(runs, Gate())[0]
    assert (found.agreeing, found.judged) == (42, 60) and found.real_recall == pytest.approx(0.7)
    assert found.chance == 0.25 and found.halfway == pytest.approx(0.475)
    assert found.p == pytest.approx(st.binom.sf(41, 60, 0.25))
    # agreement exactly at half-way passes: chance ½, recall 0.9 → 0.7; 70 of 100
    edge = pd.DataFrame({"gate/classes": [2.0], "gate/x/agreement": [0.7], "gate/x/n": [100.0],
                         "gate/x/real_recall": [0.9]})
    assert judge_gates({"r": target_numbers(edge, Gate())})["r"].passed is True
    # the judge's recall exactly at chance cannot read the data
    blind = edge.assign(**{"gate/x/real_recall": [0.5]})
    assert "cannot read" in judge_gates({"r": target_numbers(blind, Gate())})["r"].text


def test_gate_numbers_missing_in_any_part_mean_none():
    full = {"gate/classes": [7.0], "gate/x/agreement": [0.8], "gate/x/n": [10.0], "gate/x/real_recall": [0.9]}
    assert target_numbers(pd.DataFrame(full), Gate()) is not None
    assert target_numbers(pd.DataFrame(full).drop(columns="gate/classes"), Gate()) is None
    assert target_numbers(pd.DataFrame(full).drop(columns="gate/x/n"), Gate()) is None
    assert target_numbers(pd.DataFrame({**full, "gate/x/agreement": [math.nan]}), Gate()) is None
    assert target_numbers(pd.DataFrame({**full, "gate/classes": [math.nan]}), Gate()) is None


def test_no_verdict_reasons_at_their_limits():
    claim = references.claims(paper="fesr", arm="FESR_JL", control="BASELINE")[0]
    ok = GateResult(True, "")
    five = paired_test([0.01, 0.02, 0.03, 0.04, 0.05])
    assert blocked_reason(claim, five, None, ok, None, None) is None  # exactly 5 pairs is enough
    not_gan = references.claims(paper="fesr", source="Table IV")[0]
    assert blocked_reason(not_gan, five, None, None, None, None) is None  # no gate asked of it
    assert blocked_reason(claim, five, None, ok, "1/5 runs", None) == "not judged: FESR_JL collapsed (1/5 runs)"


def test_collapse_counts_at_its_limit_and_flags_above_theirs():
    assert collapsed(pd.DataFrame({"test/top_pred_share_at_best_val": [0.9, 0.5]})) == "1/2 runs"
    assert collapsed(pd.DataFrame({"test/top_pred_share_at_best_val": [0.89, 0.5]})) is None
    assert collapsed(pd.DataFrame({"other": [1.0]})) is None
    frame = pd.DataFrame({"test/top_pred_share_at_best_val": [0.9, 0.5, math.nan],
                          "selection/at_fraction": [0.9, 0.95, 0.5]})
    assert flag_text(frame) == "collapsed (1/2), still improving (1/3)"
    assert flag_text(pd.DataFrame({"selection/at_fraction": [0.9]})) == ""


def test_a_comparison_met_twice_is_judged_once_and_read_alike():
    claim = references.claims(paper="fesr", arm="FESR_JL", control="BASELINE")[0]
    test = paired_test([0.04, 0.05, 0.06, 0.05, 0.045, 0.055])
    first, again = (ClaimTest(claim, "variant=FESR_JL", 0, test, 100.0, gate=GateResult(True, ""))
                    for _ in range(2))
    judged = judge_claims([first, again])
    assert judged == [first] and again.verdict == first.verdict == "reproduced" and first.family == 1
    # alone in its family, its interval is the plain 95 % one
    assert first.interval.half_width == pytest.approx(test.diff.half_width)

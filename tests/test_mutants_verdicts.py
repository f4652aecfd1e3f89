"""analysis.verdicts at its edges, on cases worked by hand: the verdict's interval rules where
a bound touches 0 or the paper's effect, the gate's half-way line and pooling, the reasons
for no verdict at their limits, the flags' limits, the claim family's levels, the claim line
word for word and where verdicts are written. Written to kill the survivors of
mutation testing ([tool.mutmut] in pyproject.toml); the expected numbers do not come from
the code."""

import math

import pandas as pd
import pytest
from scipy import stats as st

from analysis import paper_claims, references
from analysis.ground import Ground
from analysis.paper_claims import Claim
from analysis.stats import Interval, PairedTest, minimal_detectable_effect, paired_test, pairs_needed
from analysis.tables import Table
from analysis.gates import Gate, GateResult, judge_gates, target_numbers
from analysis.verdicts import (PROCEDURAL_CLAIMS, ClaimTest, _claim_line, apply_verdicts, blocked_reason, collapsed,
                               flag_text, judge_claims, verdict)


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
    claim = paper_claims.claims(paper="fesr", arm="FESR_JL", control="BASELINE")[0]
    ok = GateResult(True, "")
    five = paired_test([0.01, 0.02, 0.03, 0.04, 0.05])
    assert blocked_reason(claim, five, None, ok, None, None) is None  # exactly 5 pairs is enough
    not_gan = paper_claims.claims(paper="fesr", source="Table IV")[0]
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
    claim = paper_claims.claims(paper="fesr", arm="FESR_JL", control="BASELINE")[0]
    test = paired_test([0.04, 0.05, 0.06, 0.05, 0.045, 0.055])
    first, again = (ClaimTest(claim, "variant=FESR_JL", 0, test, 100.0, gate=GateResult(True, ""))
                    for _ in range(2))
    judged = judge_claims([first, again])
    assert judged == [first] and again.verdict == first.verdict == "reproduced" and first.family == 1
    # alone in its family, its interval is the plain 95 % one
    assert first.interval.half_width == pytest.approx(test.diff.half_width)


# --- the family's levels, the claim line, and where verdicts are written ---------------------------

def _claim(effect=3.71, gan=True, metric="test/acc_at_best_val", arm="JL"):
    ground = Ground("CK+", "10-fold", "ckplus")
    return Claim("fesr", "Fig. 8", ground, arm, "BASE", metric, effect, f"{arm} beats BASE", gan=gan,
                 direction=0 if effect is not None else +1)


def _paired(mean, p, sd=0.02, n=10, ratio=0.125):
    se = sd * math.sqrt(1 / n + ratio)
    return PairedTest(Interval(mean, st.t.ppf(0.975, n - 1) * se, n), p, "t", sd, ratio)


def test_the_larger_p_of_two_is_judged_at_its_holm_level_and_power_at_alpha_over_m():
    # p = 0.001 and 0.04: Holm gives 0.002 and max(0.04, 0.002) = 0.04; levels α·p/p_Holm = 2.5 % and 5 %
    strong, weak = (ClaimTest(_claim(arm=arm), arm, 0, _paired(mean, p), 100.0, gate=GateResult(True, ""))
                    for arm, mean, p in (("JL", 0.05, 0.001), ("SL", 0.02, 0.04)))
    judge_claims([strong, weak])
    se = 0.02 * math.sqrt(1 / 10 + 0.125)
    assert strong.interval.half_width == pytest.approx(st.t.ppf(1 - 0.025 / 2, 9) * se)
    assert weak.interval.half_width == pytest.approx(st.t.ppf(1 - 0.05 / 2, 9) * se)
    assert weak.notes == ["Holm-adjusted p = 0.04 among 2 claim(s); interval at 95.00 %"]
    assert weak.mde == pytest.approx(minimal_detectable_effect(0.02, 10, 0.125, alpha=0.025))
    assert weak.mde > minimal_detectable_effect(0.02, 10, 0.125, alpha=0.05)
    assert weak.needed == pairs_needed(0.0371, 0.02, 0.125, alpha=0.025)
    assert weak.needed != pairs_needed(0.0371, 0.02, None, alpha=0.025)


def test_a_p_of_zero_is_judged_at_alpha_over_m():
    exact, other = (ClaimTest(_claim(arm=arm), arm, 0, _paired(0.05, p), 100.0, gate=GateResult(True, ""))
                    for arm, p in (("JL", 0.0), ("SL", 0.3)))
    judge_claims([exact, other])
    assert exact.notes == ["Holm-adjusted p = 0 among 2 claim(s); interval at 97.50 %"]


def test_the_claim_line_word_for_word():
    label = references.PAPERS["fesr"].label
    won = ClaimTest(_claim(), "variant=JL", 0, _paired(0.05, 0.01), 100.0, gate=GateResult(True, "gate ok"),
                    verdict="reproduced", interval=Interval(0.05, 0.025, 10), notes=["n1", "n2"], needed=7,
                    data="CK+48")
    won.test = won.test._replace(diff=Interval(0.05, 0.02, 10))
    assert _claim_line(won) == (f"{label} (Fig. 8, CK+): JL beats BASE (JL − BASE = +3.71 points). Ours on CK+48, "
                                "variant=JL: +5.00 ± 2.00 (n=10) points → reproduced (+5.00 ± 2.50 (n=10) at the "
                                "claim's level; n1; n2); gate ok; 7 pairs would detect the paper's effect.")
    # in points already (scale 1), no number for the control, no gate asked: no gate text, no pairs
    points = ClaimTest(_claim(effect=None, gan=False), "variant=JL", 0, _paired(2.5, 0.01), 1.0,
                       gate=GateResult(True, "gate ok"), verdict="inconclusive (MDE 3.00 pts)",
                       interval=Interval(2.5, 0.75, 6), notes=["n"], data="CK+48")
    points.test = points.test._replace(diff=Interval(2.5, 0.5, 6))
    assert _claim_line(points) == (f"{label} (Fig. 8, CK+): JL beats BASE (no number for the control). Ours on "
                                   "CK+48, variant=JL: +2.50 ± 0.50 (n=6) points → inconclusive (MDE 3.00 pts) "
                                   "(+2.50 ± 0.75 (n=6) at the claim's level; n).")
    # blocked: no interval, so no level and no pairs; the failed gate says why
    blocked = ClaimTest(_claim(), "variant=JL", 0, _paired(0.05, 0.01), 100.0,
                        gate=GateResult(False, "gate failed, binomial p = 0.4"),
                        verdict="not judged: synthesis failed the gate", data="CK+48")
    blocked.test = blocked.test._replace(diff=Interval(0.05, 0.02, 10))
    assert _claim_line(blocked) == (f"{label} (Fig. 8, CK+): JL beats BASE (JL − BASE = +3.71 points). Ours on "
                                    "CK+48, variant=JL: +5.00 ± 2.00 (n=10) points → not judged: synthesis failed "
                                    "the gate; gate failed, binomial p = 0.4.")
    # tested, but no number of pairs of the design reaches the paper's effect
    won.needed = None
    assert _claim_line(won).endswith("; gate ok; no number of pairs of this design would detect the paper's effect.")


def _table(rows, claim_tests):
    return Table(name="t", title="t", context="", cells=pd.DataFrame({"variant": rows}), claim_tests=claim_tests)


def test_verdicts_are_written_into_their_rows_and_a_comparison_met_again_gets_no_second_line():
    def tested(arm, row, metric="test/acc_at_best_val"):
        return ClaimTest(_claim(arm=arm, metric=metric), f"variant={arm}", row, _paired(0.05, 0.001), 100.0,
                         gate=GateResult(True, ""), data="CK+48")

    jl, jl_f1 = tested("JL", 0), tested("JL", 0, metric="test/macro_f1_at_best_val")
    first = _table(["JL", "OneSt"], [jl, jl_f1])
    again, sl = tested("JL", 0), tested("SL", 1)
    procedural = ClaimTest(_claim(arm="Real"), "variant=Real", 2, _paired(0.05, 0.001), 100.0,
                           blocked="not judged: the paper measured CK+, 10-fold", procedural=True)
    second = _table(["JL", "SL", "Real"], [again, procedural, sl])
    apply_verdicts([first, second])
    assert jl.verdict and jl_f1.verdict and not jl.verdict.startswith("not judged")
    assert first.cells["verdict"].tolist() == [f"{jl.verdict}; {jl_f1.verdict}", ""]
    assert second.cells["verdict"].tolist() == [jl.verdict, sl.verdict, "not judged: the paper measured CK+, 10-fold"]
    assert len(first.verdicts) == 2
    assert [line.split(":")[1].split("(")[0].strip() for line in second.verdicts] == ["SL beats BASE"]
    assert second.summary_notes == [PROCEDURAL_CLAIMS]


def test_a_claims_ground_reads_procedural_flags_and_unlogged_params_as_written():
    ground = Ground("CK+", "10-fold", "ckplus", params=(("protocol", ("auto", "None")),))
    real = pd.DataFrame({"procedural": [False, None], "dataset": ["ckplus", "ckplus"],
                         "param.protocol": ["auto", math.nan]})
    assert ground.mismatch(real) is None  # a missing flag is not procedural; an unlogged param reads "None"
    reason = "the paper measured CK+, 10-fold"
    assert ground.mismatch(real.assign(procedural=[False, True])) == reason
    assert ground.mismatch(real.assign(**{"param.protocol": ["auto", "subject"]})) == reason
    assert ground.mismatch(real.drop(columns="param.protocol")) is None  # never logged: the trial's default
    assert ground.mismatch(real.drop(columns="dataset")) == reason
    assert Ground("CK+", "10-fold", None).mismatch(real) == reason

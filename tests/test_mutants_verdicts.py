"""analysis.verdicts on cases worked by hand: the synthesis gate's chance, threshold and
message, the verdict's interval rules at their edges, and the flags' limits. Written to
kill the survivors of mutation testing ([tool.mutmut] in pyproject.toml); the expected
numbers do not come from the code."""

import math
import warnings

import pandas as pd
import pytest

from analysis.stats import Interval, PairedTest
from analysis.verdicts import Gate, claim_verdict, flag_text

GATE = Gate(agreement="synth/*/agreement", real_recall="judge/real_recall")


def runs(**columns) -> pd.DataFrame:
    return pd.DataFrame({k.replace("__", "/"): v for k, v in columns.items()})


def test_gate_without_numbers_says_so_and_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mean over no columns, or over NaNs only, is not taken
        assert GATE.check(runs(other=[1.0])) == (None, "no synthesis-quality numbers logged")
        nan_only = pd.DataFrame({"synth/a/agreement": [math.nan], "judge/real_recall": [0.8]})
        assert GATE.check(nan_only) == (None, "no synthesis-quality numbers logged")


def test_gate_counts_classes_from_the_per_class_test_accuracies():
    # three classes (test/acc_*_at_best_val; other columns do not count): chance 1/3; recall 0.8
    # threshold = 1/3 + ½·(0.8 − 1/3) = 0.5666…; agreement 0.6 passes
    frame = pd.DataFrame({"synth/x/agreement": [0.6], "judge/real_recall": [0.8], "test/acc_a_at_best_val": [1.0],
                          "test/acc_b_at_best_val": [1.0], "test/acc_c_at_best_val": [1.0], "test/acc": [1.0],
                          "val/acc_a_at_best_val": [1.0], "test/acc_d": [1.0]})
    assert GATE.check(frame) == (True, "judged as intended 60.0 % against a gate of 56.7 % "
                                       "(chance 33.3 %, the judge's recall on real images 80.0 %)")


def test_gate_chance_is_at_most_one_half_and_read_from_its_metric_when_named():
    two = pd.DataFrame({"synth/x/agreement": [0.55], "judge/real_recall": [0.9],
                        "test/acc_a_at_best_val": [1.0], "test/acc_b_at_best_val": [1.0]})
    # two classes: chance ½, threshold ½ + ½·0.4 = 0.7
    assert GATE.check(two)[1].endswith("gate of 70.0 % (chance 50.0 %, the judge's recall on real images 90.0 %)")
    assert GATE.check(two.drop(columns=["test/acc_a_at_best_val", "test/acc_b_at_best_val"]))[1].endswith(
        "(chance 50.0 %, the judge's recall on real images 90.0 %)")  # no class columns: ½, not 1/0
    named = Gate("synth/*/agreement", "judge/real_recall", chance="judge/chance")
    # chance 0.25 from its column, recall 0.75: threshold 0.5 exactly; agreement 0.5 passes (≥)
    frame = pd.DataFrame({"synth/x/agreement": [0.5], "judge/real_recall": [0.75], "judge/chance": [0.25]})
    assert named.check(frame) == (True, "judged as intended 50.0 % against a gate of 50.0 % "
                                        "(chance 25.0 %, the judge's recall on real images 75.0 %)")
    # named but not logged: the class count decides (two classes here: ½)
    assert named.check(two)[1].endswith("(chance 50.0 %, the judge's recall on real images 90.0 %)")


def test_gate_without_a_real_recall_asks_for_twice_chance():
    frame = pd.DataFrame({"synth/x/agreement": [0.49], "test/acc_a_at_best_val": [1.0],
                          "test/acc_b_at_best_val": [1.0], "test/acc_c_at_best_val": [1.0], "test/acc_d_at_best_val": [1.0]})
    passed, text = GATE.check(frame)  # chance ¼: the gate is ½
    assert passed is False and "against a gate of 50.0 % (chance 25.0 %" in text


def paired(mean: float, half: float, n: int, p: float = 0.01) -> PairedTest:
    return PairedTest(Interval(mean, half, n), p, "paired t-test", 1.0, None)


def test_claim_verdict_edges():
    assert claim_verdict(paired(0.03, 0.01, 2), 0.01, +1, 0.02) == "reproduced"  # two pairs are enough
    assert claim_verdict(paired(0.03, 0.01, 1), 0.01, +1, 0.02) == "inconclusive (n=1 pairs: no interval)"
    assert claim_verdict(paired(0.03, math.nan, 5), 0.01, +1, 0.02) == "inconclusive (n=5 pairs: no interval)"
    assert claim_verdict(paired(0.01, 0.01, 5), 0.01, +1, 0.0123) == "inconclusive (MDE 1.23 pts)"  # low = 0
    assert claim_verdict(paired(-0.01, 0.01, 5), 0.01, +1, 0.02) == "inconclusive (MDE 2.00 pts)"  # high = 0
    assert claim_verdict(paired(-0.5, 0.25, 5), 0.01, +1, 0.02) == "contradicted"  # high −0.25 < 1
    assert claim_verdict(paired(0.03, 0.01, 5), 0.05, +1, 0.02) == "inconclusive (MDE 2.00 pts)"  # p = α
    assert claim_verdict(paired(0.03, 0.04, 5), 0.01, +1, 0.02) == "inconclusive (MDE 2.00 pts)"  # p alone
    assert claim_verdict(paired(-0.03, 0.01, 5), 0.01, -1, 0.02) == "reproduced"
    assert claim_verdict(paired(0.03, 0.01, 5), 0.01, -1, 0.02) == "contradicted"
    assert claim_verdict(paired(0.03, 0.01, 5), 0.01, +1, 0.02, gate=(False, "")) == \
        "inconclusive (synthesis failed the quality gate)"


def test_flags_count_collapse_at_its_limit_and_improvement_above_its_limit():
    frame = pd.DataFrame({"test/top_pred_share_at_best_val": [0.9, 0.5, math.nan],
                          "selection/at_fraction": [0.9, 0.95, 0.5]})
    assert flag_text(frame) == "collapsed (1/2), still improving (1/3)"
    assert flag_text(frame.drop(columns=["test/top_pred_share_at_best_val"])) == "still improving (1/3)"
    assert flag_text(pd.DataFrame({"selection/at_fraction": [0.9]})) == ""

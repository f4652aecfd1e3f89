"""Verdicts a referee would sign: corrected tests where training sets overlap, intervals that
hold their estimate, claims judged only on their own data and protocol, by sign and size at
the family's Holm level, behind a synthesis gate that can fail. Expected values are worked
by hand (or from scipy's distributions directly), not from the code under test."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from analysis import paper_claims, references
from analysis import pairing
from analysis.cells import metric_table
from analysis.columns import Column
from analysis.pairing import BudgetMismatch, Paired, paired_values
from analysis.report import summary
from analysis.stats import (CORRECTED_T, PLAIN_T, Interval, PairedTest, holm, minimal_detectable_effect, paired_test,
                            pairs_needed, power, rate_ci)
from analysis.gates import Gate, GateResult, judge_gates, target_numbers
from analysis.verdicts import apply_verdicts, blocked_reason, verdict

# --- statistics against worked examples ---------------------------------------------------


def test_a_rate_interval_holds_its_mean_widens_for_a_collapsed_fold_and_is_clipped_visibly():
    # the issue's examples: nine CK+ folds near 100 % and one collapsed at 25 %; 7 of 10 folds at 100 %
    collapsed = [0.99, 1.0, 0.995, 1.0, 0.99, 1.0, 0.985, 1.0, 0.99, 0.25]
    found = rate_ci(collapsed)
    x = np.array(collapsed)
    half = st.t.ppf(0.975, 9) * x.std(ddof=1) / math.sqrt(10)
    assert found.mean == pytest.approx(x.mean()) and found.half_width == pytest.approx(half)
    assert found.low == pytest.approx(x.mean() - half) and found.high == 1.0 and found.clipped
    assert found.low < found.mean < found.high and found.low < 0.80  # the collapse widens it
    mostly_perfect = [1.0] * 7 + [0.97] * 3
    found = rate_ci(mostly_perfect)
    x = np.array(mostly_perfect)  # mean 0.991, s = 0.0144914…, t(0.975, 9) = 2.262157
    assert found.mean == pytest.approx(0.991)
    assert found.low == pytest.approx(0.991 - 2.2621571627 * 0.0144913767 / math.sqrt(10), rel=1e-6)
    assert found.low <= found.mean <= found.high == 1.0
    inside = rate_ci([0.60, 0.62, 0.655])  # well inside [0, 1]: a plain t-interval, not marked
    assert not inside.clipped and inside.bounds is None


def test_plain_paired_t_matches_scipy_and_the_corrected_test_its_formula():
    a, b = np.array([0.61, 0.64, 0.58, 0.66, 0.63]), np.array([0.60, 0.61, 0.58, 0.62, 0.60])
    plain = paired_test(a - b)
    assert plain.test == PLAIN_T and plain.p == pytest.approx(st.ttest_rel(a, b).pvalue)
    # Nadeau & Bengio: var of the mean difference = (1/n + n_test/n_train) · s²; diffs 1..5, ratio 1/4:
    # s = 1.5811, se = 1.5811 · √(0.2 + 0.25) = 1.0607, t = 3 / 1.0607 = 2.8284, df 4
    corrected = paired_test([1, 2, 3, 4, 5], test_train_ratio=0.25)
    assert corrected.test == CORRECTED_T
    assert corrected.p == pytest.approx(2 * st.t.sf(2.8284, 4), rel=1e-4)
    assert corrected.diff.half_width == pytest.approx(st.t.ppf(0.975, 4) * 1.06066, rel=1e-4)
    assert corrected.p > paired_test([1, 2, 3, 4, 5]).p


def test_holm_adjusts_step_down_in_input_order():
    # worked by hand: sorted 0.01·5, 0.02·4, 0.03·3, then max(running, 0.04·2), max(running, 0.05·1)
    assert holm([0.05, 0.01, 0.04, 0.02, 0.03]) == pytest.approx([0.09, 0.05, 0.09, 0.08, 0.09])
    adjusted = holm([0.5, math.nan, 0.01])
    assert adjusted[0] == pytest.approx(0.5) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)


def test_power_and_pairs_needed_match_published_values():
    # Cohen's table / G*Power: a one-sample (paired) t-test needs 34 pairs for d = 0.5 at 80 % power
    assert pairs_needed(0.5, 1.0) == 34
    assert power(0.5, 1.0, 34) == pytest.approx(0.808, abs=0.002)
    assert power(3.7, 6, 10) == pytest.approx(0.41, abs=0.01)
    mde = minimal_detectable_effect(6, 10)
    assert power(mde, 6, 10) == pytest.approx(0.8, abs=1e-6) and 5.5 < mde < 6.5
    assert pairs_needed(0.1, 1.0, test_train_ratio=0.25) is None


# --- the corrected test's ratio --------------------------------------------------------------

def _pairs(**columns) -> pd.DataFrame:
    return pd.DataFrame({"diff": [0.01, 0.02, 0.03], **{k.replace("__", "/"): v for k, v in columns.items()}})


def test_the_ratio_is_test_over_real_training_images_where_training_sets_overlap():
    # a +all arm trains on 900 real and 900 synthetic images: n_train counts 1,800; the ratio is 100/900
    overlapping = _pairs(data__n_train=[1800.0] * 3, data__n_train_real=[900.0] * 3, data__n_test=[100.0] * 3,
                         data__resampled=[1.0] * 3, fold=[0, 0, 0])
    assert pairing.resampling_ratio(overlapping) == pytest.approx(1 / 9)  # one fold index, seeds redraw the folds
    fixed = overlapping.assign(**{"data/resampled": [0.0] * 3}, fold=[0, 1, 2])
    assert pairing.resampling_ratio(fixed) is None  # independent seeds on one fixed split: the plain t
    # no counts logged: a k-fold split's n_test/n_train = 1/(k − 1), k from the launch's n_folds
    assert pairing.resampling_ratio(_pairs(data__resampled=[1.0] * 3, **{"param.n_folds": ["10"] * 3}, fold=[0] * 3)) \
        == pytest.approx(1 / 9)
    # runs from before the record: several folds mean overlap; k = the folds seen
    assert pairing.resampling_ratio(_pairs(fold=[0, 1, 2])) == pytest.approx(1 / 2)
    assert pairing.resampling_ratio(_pairs(fold=[0, 0, 0])) is None


def test_older_runs_pair_on_the_smaller_n_train_the_real_one():
    both = pd.DataFrame({"_arm": ["+all"] * 2 + ["baseline"] * 2, "seed": [0, 1, 0, 1], "fold": [0, 1, 0, 1],
                         "parent_run_id": "p", "acc": [0.6, 0.62, 0.58, 0.6],
                         "data/n_train": [1800.0, 1800.0, 900.0, 900.0], "data/n_test": [100.0] * 4})
    pairs = paired_values(both, "+all", "baseline", "acc", ["parent_run_id", "seed", "fold"])
    assert pairing.resampling_ratio(pairs) == pytest.approx(100 / 900)


# --- verdicts by sign and size ----------------------------------------------------------------

@pytest.mark.parametrize("low, high, effect, sign, expected", [
    (0.030, 0.050, 3.71, +1, "reproduced"),  # contains the paper's +3.71
    (0.045, 0.060, 3.71, +1, "reproduced"),  # lies above it
    (0.002, 0.010, 3.71, +1, "smaller than claimed"),  # a real +0.5, well below +3.71
    (-0.002, 0.004, 3.71, +1, "contradicted"),  # rules out +3.71, not 0
    (-0.050, -0.030, 3.71, +1, "contradicted"),  # the opposite sign
    (-0.010, 0.050, 3.71, +1, "inconclusive (MDE 4.20 pts)"),  # holds both
    (-0.050, -0.030, -3.71, -1, "reproduced"),  # a claimed loss, found
    (-0.010, -0.002, -3.71, -1, "smaller than claimed"),
    (0.010, 0.030, -3.71, -1, "contradicted"),
    (0.001, 0.002, None, +1, "reproduced"),  # direction only: excludes 0 on the paper's side
    (-0.002, -0.001, None, +1, "contradicted"),
    (-0.001, 0.002, None, +1, "inconclusive (MDE 4.20 pts)"),
])
def test_each_verdict_branch_from_its_interval(low, high, effect, sign, expected):
    interval = Interval((low + high) / 2, (high - low) / 2, 10)
    assert verdict(interval, effect, sign, 4.2) == expected


def _test(diffs, ratio=None) -> PairedTest:
    return paired_test(diffs, ratio)


def test_no_verdict_below_five_pairs_at_zero_spread_or_on_a_collapsed_side():
    claim = paper_claims.claims(paper="fesr", arm="FESR_JL", control="BASELINE")[0]
    passed = GateResult(True, "passed")
    four = _test([0.05, 0.04, 0.06, 0.05])
    assert blocked_reason(claim, four, None, passed, None, None) == "not judged: 4 pairs (a verdict needs ≥ 5)"
    equal = _test([0.05] * 6)  # p = 0 and a zero-width interval: nothing to judge by
    assert equal.p == 0.0
    assert blocked_reason(claim, equal, None, passed, None, None) == "not judged: 6 pairs, no spread"
    five = _test([0.05, 0.04, 0.06, 0.05, 0.03])
    assert blocked_reason(claim, five, None, passed, None, "2/5 runs") == "not judged: BASELINE collapsed (2/5 runs)"
    assert blocked_reason(claim, five, None, passed, None, None) is None
    failed = GateResult(False, "synthesis gate failed for fear: …")
    assert blocked_reason(claim, five, None, failed, None, "2/5 runs") == "not judged: synthesis failed the gate"
    assert blocked_reason(claim, five, None, None, None, None) == "not judged: no synthesis-quality numbers"
    ground = "the paper measured CK+, subject-independent 10-fold cross-validation"
    assert blocked_reason(claim, five, ground, failed, None, None) == f"not judged: {ground}"


# --- the dataset rule -----------------------------------------------------------------------------

def _fesr_runs(dataset="ckplus", n_folds="10", procedural=False):
    return pd.DataFrame({"dataset": dataset, "procedural": procedural, "param.protocol": "auto",
                         "param.n_folds": n_folds}, index=range(4))


def test_a_claim_is_judged_only_on_its_own_dataset_and_protocol():
    ground = paper_claims.claims(paper="fesr", arm="FESR_JL")[0].ground
    assert ground.mismatch(_fesr_runs()) is None
    expected = "the paper measured CK+, subject-independent 10-fold cross-validation"
    for runs in (_fesr_runs("fer2013"), _fesr_runs("jaffe"), _fesr_runs("synthfaces", procedural=True),
                 _fesr_runs(n_folds="5"), _fesr_runs().assign(**{"param.protocol": "kfold"})):
        assert ground.mismatch(runs) == expected
    # Zhu et al.'s claims need their 20 % per-class sample; Birenbaum's the whole training set
    zhu = paper_claims.claims(paper="zhu2017", arm="+disgust")[0].ground
    birenbaum = paper_claims.claims(paper="birenbaum")[0].ground
    fer = pd.DataFrame({"dataset": "fer2013", "procedural": False, "param.class_fraction": "0.2"}, index=[0])
    assert zhu.mismatch(fer) is None and birenbaum.mismatch(fer) is not None
    whole = fer.drop(columns="param.class_fraction")
    assert zhu.mismatch(whole) is not None and birenbaum.mismatch(whole) is None
    # nothing of ours is Alharbawee's or Picha's data; the toy is simulated wherever it runs
    assert paper_claims.claims(paper="alharbawee")[0].ground.mismatch(fer) is not None
    assert paper_claims.claims(paper="picha2023")[0].ground.mismatch(fer).startswith("the paper measured MMI")
    toy = paper_claims.claims(paper="zhu2017", source="Section 4.1")[0].ground
    toy_runs = pd.DataFrame({"dataset": "synthfaces", "procedural": True, "param.n_major": "1000",
                             "param.n_minor": "100", "param.n_generated": "900"}, index=[0])
    assert toy.mismatch(toy_runs) is None and toy.mismatch(toy_runs.assign(**{"param.n_minor": "20"})) is not None


# --- the synthesis gate -----------------------------------------------------------------------------

CK = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")


def _gate_columns(agreement, recall=0.8, n=70, classes=7, targets=CK):
    out = {"gate/classes": float(classes)}
    for t in targets:
        out.update({f"gate/{t}/agreement": agreement, f"gate/{t}/n": float(n), f"gate/{t}/real_recall": recall})
    return out


def test_a_judge_at_chance_fails_every_row():
    runs = pd.DataFrame([_gate_columns(0.9, recall=1 / 7)])
    result = judge_gates({"r": target_numbers(runs, Gate())})["r"]
    assert result.passed is False and "the judge cannot read this data" in result.text


def test_a_gan_drawing_at_chance_fails_by_the_binomial_test():
    # 7 classes, 10 of 70 images per class read as intended (chance 10/70): binomial p > 0.5
    runs = pd.DataFrame([_gate_columns(10 / 70)])
    numbers = target_numbers(runs, Gate())
    assert numbers[0].agreeing == 10 and numbers[0].judged == 70 and numbers[0].chance == pytest.approx(1 / 7)
    assert numbers[0].p == pytest.approx(st.binom.sf(9, 70, 1 / 7))
    result = judge_gates({"r": numbers})["r"]
    assert result.passed is False and "binomial p = " in result.text


def test_the_gate_is_per_row_and_per_target_with_halfway_and_holm():
    # a γ setting at 5 % and one at 95 %: pooled they would average 50 % and pass; per row one fails
    low, high = target_numbers(pd.DataFrame([_gate_columns(0.05, targets=("disgust",))]), Gate(("disgust",))), \
        target_numbers(pd.DataFrame([_gate_columns(0.95, targets=("disgust",))]), Gate(("disgust",)))
    results = judge_gates({"γ=0.1": low, "γ=1": high})
    assert results["γ=0.1"].passed is False and results["γ=1"].passed is True
    # half-way: chance 1/7, recall 0.8 → 0.4714; 0.46 beats chance (p tiny) but fails half-way
    below = judge_gates({"r": target_numbers(pd.DataFrame([_gate_columns(0.46, n=700)]), Gate())})["r"]
    assert below.passed is False and "half-way 47.1 %" in below.text
    # one target of seven failing fails the row, and says which
    mixed = _gate_columns(0.8) | {"gate/fear/agreement": 0.1}
    result = judge_gates({"r": target_numbers(pd.DataFrame([mixed]), Gate())})["r"]
    assert result.passed is False and result.text.startswith("synthesis gate failed for fear:")
    # Holm: 9 of 20 agree where chance is ¼ (p = 0.041) passes alone, fails among ten such rows
    nine = pd.DataFrame([{"gate/classes": 4.0, "gate/x/agreement": 9 / 20, "gate/x/n": 20.0,
                          "gate/x/real_recall": 0.6}])
    p_alone = st.binom.sf(8, 20, 0.25)
    assert 0.01 < p_alone < 0.05
    assert judge_gates({"r": target_numbers(nine, Gate())})["r"].passed is True
    many = judge_gates({i: target_numbers(nine, Gate()) for i in range(10)})
    assert not any(r.passed for r in many.values())


def test_the_gans_artifacts_read_as_the_target_raise_the_gates_floor():
    # Zhu et al.'s neutral → sad CycleGAN on FER2013 (seed 0, cpu scale): 87.7 % of 512 read as
    # sad, real recall of sad 41.0 %, and the cycle's reconstructions (meant to be neutral) read as
    # sad 83.0 %: the judge reads the GAN's blur as sad. Against chance alone it passed.
    sad = {"gate/classes": 7.0, "gate/sad/agreement": 449 / 512, "gate/sad/n": 512.0, "gate/sad/real_recall": 0.41}
    assert judge_gates({"r": target_numbers(pd.DataFrame([sad]), Gate())})["r"].passed is True
    blurred = target_numbers(pd.DataFrame([sad | {"gate/sad/artifact_rate": 0.83}]), Gate())
    assert blurred[0].floor == 0.83 and blurred[0].p == pytest.approx(st.binom.sf(448, 512, 0.83))
    result = judge_gates({"r": blurred})["r"]
    assert result.passed is False and "cannot tell the expression from them" in result.text
    assert "read as sad 83.0 %" in result.text
    # a floor below the recall: half-way from the floor (0.3 + 0.5 × (0.8 − 0.3) = 0.55), not from chance
    # (0.4714): 0.5 of 700 passes against chance, fails against the artifacts
    moderate = _gate_columns(0.5, n=700, targets=("x",))
    assert judge_gates({"r": target_numbers(pd.DataFrame([moderate]), Gate())})["r"].passed is True
    higher = target_numbers(pd.DataFrame([moderate | {"gate/x/artifact_rate": 0.3}]), Gate())
    result = judge_gates({"r": higher})["r"]
    assert result.passed is False and "half-way 55.0 %" in result.text
    # an artifact rate below chance leaves chance the floor
    low = target_numbers(pd.DataFrame([moderate | {"gate/x/artifact_rate": 0.02}]), Gate())
    assert low[0].floor == pytest.approx(1 / 7) and judge_gates({"r": low})["r"].passed is True


def test_a_generator_of_every_class_is_held_above_what_the_judge_calls_its_other_faces():
    """StarGAN and FESGAN draw every class: the share of faces meant to show another class
    that the judge calls the target is their floor (gate_numbers logs it)."""
    from trainables.core.judge import gate_numbers

    # 3 classes, 4 faces meant for each; the judge calls 6 of the 8 faces meant for b or c "a"
    intended = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    called = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2])
    logged = gate_numbers(["a", "b", "c"], called, intended, real_called=np.array([0, 1, 2, 1]),
                          real_labels=np.array([0, 1, 2, 2]))
    assert (logged["gate/a/agreement"], logged["gate/a/off_target_rate"]) == (1.0, 6 / 8)
    assert (logged["gate/b/off_target_rate"], logged["gate/c/off_target_rate"]) == (0.0, 0.0)
    assert (logged["gate/b/agreement"], logged["gate/c/real_recall"]) == (0.25, 0.5)
    # against chance, every face of 70 read as the target passes; the same judge calling 95 % of the
    # other classes' faces the target leaves it unable to tell the target from the GAN's faces
    alone = _gate_columns(1.0, recall=0.9, targets=("x",))
    assert judge_gates({"r": target_numbers(pd.DataFrame([alone]), Gate())})["r"].passed is True
    sink = target_numbers(pd.DataFrame([alone | {"gate/x/off_target_rate": 0.95}]), Gate())
    result = judge_gates({"r": sink})["r"]
    assert sink[0].floor == 0.95 and result.passed is False and "cannot tell the expression" in result.text
    assert "faces meant to show another class read as x 95.0 %" in result.text
    # 0.5 of 700 with a real recall of 0.8: half-way from 0.3 is 0.55; the higher of two floors counts
    moderate = _gate_columns(0.5, n=700, targets=("x",))
    both = target_numbers(pd.DataFrame([moderate | {"gate/x/off_target_rate": 0.3, "gate/x/artifact_rate": 0.2}]),
                          Gate())
    assert both[0].floor == 0.3 and both[0].p == pytest.approx(st.binom.sf(349, 700, 0.3), rel=1e-9, abs=0)
    assert judge_gates({"r": both})["r"].passed is False


def test_no_gate_numbers_means_no_verdict():
    assert target_numbers(pd.DataFrame({"synth/agreement": [0.8]}), Gate()) is None
    assert judge_gates({"r": None})["r"].passed is None
    # a named target the runs did not log
    assert target_numbers(pd.DataFrame([_gate_columns(0.8, targets=("sad",))]), Gate(("disgust",))) is None


# --- tables and the launch's family of claims --------------------------------------------------------

CONTROL = [0.90, 0.92, 0.88, 0.91, 0.89, 0.93, 0.90, 0.92, 0.91, 0.89]


def _fold_runs(diffs, dataset="ckplus", gate=None, control_top=0.3):
    rows = []
    for fold, (c, d) in enumerate(zip(CONTROL, diffs)):
        for arm, acc, top in (("FESR_JL", c + d, 0.3), ("BASELINE", c, control_top)):
            rows.append({"parent_run_id": "p", "seed": 0, "fold": fold, "procedural": dataset == "synthfaces",
                         "dataset": dataset, "param.variant": arm, "param.protocol": "auto", "param.n_folds": "10",
                         "test/acc_at_best_val": acc, "test/top_pred_share_at_best_val": top,
                         "data/n_train_real": 800.0, "data/n_test": 100.0, "data/resampled": 1.0,
                         **(gate if gate is not None and arm == "FESR_JL" else {})})
    return pd.DataFrame(rows)


GOOD = _gate_columns(0.8)
AT_CHANCE = _gate_columns(10 / 70)


def _fesr_table(runs):
    table = metric_table(runs, name="t", title="t", group_by=["param.variant"],
                         columns=[Column("overall acc", "test/acc_at_best_val", "acc")],
                         paired=Paired(arm="param.variant", control="BASELINE"),
                         claims=paper_claims.claims(paper="fesr", arm="FESR_JL", control="BASELINE"),
                         gates={"FESR_JL": Gate()})
    apply_verdicts([table])
    return table


def _verdict(table, arm="FESR_JL"):
    return table.cells.set_index("variant").loc[arm, "verdict"]


def test_a_clear_win_of_the_papers_size_is_reproduced_with_the_corrected_test():
    diffs = [0.05 + 0.002 * (i % 3) for i in range(10)]
    table = _fesr_table(_fold_runs(diffs, gate=GOOD))
    assert _verdict(table) == "reproduced"
    assert any(CORRECTED_T in note for note in table.footnotes)
    line = table.verdicts[0]
    assert "FESR_JL − BASELINE = +3.71 points" in line and "→ reproduced" in line and "synthesis gate passed" in line
    # the footnote of the same comparison defers to the verdict instead of reading its own effect
    note = next(n for n in table.footnotes if n.startswith("variant=FESR_JL − BASELINE"))
    assert note.endswith("a paper's claim: its verdict is in the verdicts below.")


def test_a_small_real_effect_is_smaller_than_claimed_and_no_effect_contradicts():
    small = [0.005 + 0.001 * (i % 3) for i in range(10)]  # +0.6 points, tight
    assert _verdict(_fesr_table(_fold_runs(small, gate=GOOD))) == "smaller than claimed"
    none = [0.001 * ((i % 3) - 1) for i in range(10)]  # ≈ 0 ± 0.1 points: rules out +3.71
    assert _verdict(_fesr_table(_fold_runs(none, gate=GOOD))) == "contradicted"


def test_a_noisy_difference_is_inconclusive_with_its_corrected_mde():
    noisy = [0.06, -0.05, 0.04, -0.06, 0.05, -0.04, 0.03, -0.03, 0.02, 0.0]
    found = _verdict(_fesr_table(_fold_runs(noisy, gate=GOOD)))
    assert found.startswith("inconclusive (MDE ") and found.endswith(" pts)")
    mde = float(found.split("MDE ")[1].split(" pts")[0])
    sd = np.std(noisy, ddof=1)
    plain = minimal_detectable_effect(sd, 10) * 100
    # corrected with n_test/n_train = 100/800: the SE is √(1/10 + 1/8) / √(1/10) = 1.5× the plain one
    assert mde == pytest.approx(minimal_detectable_effect(sd, 10, 0.125) * 100, abs=0.006) and mde > 1.4 * plain


def test_a_failed_gate_blocks_the_verdict_and_marks_the_delta():
    worse = [-0.05 - 0.002 * (i % 3) for i in range(10)]
    table = _fesr_table(_fold_runs(worse, gate=AT_CHANCE))
    assert _verdict(table) == "not judged: synthesis failed the gate"
    assert table.cells.set_index("variant").loc["FESR_JL", "Δ overall acc vs BASELINE"].endswith("(gate failed)")
    assert "binomial p = " in table.verdicts[0]
    note = next(n for n in table.footnotes if n.startswith("variant=FESR_JL − BASELINE"))
    assert note.endswith("synthesis failed the gate: not read as an effect.")
    assert _verdict(_fesr_table(_fold_runs(worse, gate=GOOD))) == "contradicted"


def test_a_collapsed_control_gets_no_verdict():
    table = _fesr_table(_fold_runs([0.05 + 0.002 * (i % 3) for i in range(10)], gate=GOOD, control_top=0.95))
    assert _verdict(table) == "not judged: BASELINE collapsed (10/10 runs)"


def test_claims_are_one_family_across_tables_at_the_holm_level():
    # FESR_JL vs BASELINE in one table, FESR_SL vs FESR_JL in another: m = 2
    diffs = [0.05 + 0.002 * (i % 3) for i in range(10)]
    runs = _fold_runs(diffs, gate=GOOD)
    sl = runs[runs["param.variant"] == "FESR_JL"].assign(**{"param.variant": "FESR_SL"})
    sl["test/acc_at_best_val"] = sl["test/acc_at_best_val"] - np.array([0.03 + 0.004 * (i % 2) for i in range(10)])
    runs = pd.concat([runs, sl], ignore_index=True)
    columns = [Column("overall acc", "test/acc_at_best_val", "acc")]
    fesr = paper_claims.claims(paper="fesr")
    gates = {v: Gate() for v in ("FESR_JL", "FESR_SL")}
    first = metric_table(runs, name="a", title="a", group_by=["param.variant"], columns=columns,
                         paired=Paired(arm="param.variant", control="BASELINE"), claims=fesr, gates=gates)
    second = metric_table(runs, name="b", title="b", group_by=["param.variant"], columns=columns,
                          paired=Paired(arm="param.variant", control="FESR_JL"), claims=fesr, gates=gates)
    apply_verdicts([first, second])
    lines = first.verdicts + second.verdicts
    assert len(lines) == 2 and all("among 2 claim(s)" in line for line in lines)
    # by hand: the JL claim's corrected p, Holm-adjusted ×2 (the smaller p of two); its interval at
    # 1 − α·p/p_Holm = 97.5 %
    d = np.array(diffs)
    se = d.std(ddof=1) * math.sqrt(1 / 10 + 100 / 800)
    p = 2 * st.t.sf(d.mean() / se, 9)
    half = st.t.ppf(1 - 0.025 / 2, 9) * se
    jl = next(line for line in lines if "FESR_JL − BASELINE" in line)
    assert f"Holm-adjusted p = {2 * p:.3g}" in jl and "interval at 97.50 %" in jl
    assert f"{100 * d.mean():+.2f} ± {100 * half:.2f} (n=10) at the claim's level" in jl


def test_procedural_data_gets_no_verdict_line_and_the_summary_says_so_once():
    diffs = [0.05 + 0.002 * (i % 3) for i in range(10)]
    table = _fesr_table(_fold_runs(diffs, dataset="synthfaces", gate=GOOD))
    assert _verdict(table).startswith("not judged: the paper measured CK+")
    assert table.verdicts == []
    text = summary([table, table])
    assert text.count("Procedural demo data (synthfaces): no paper's claim is judged") == 1
    assert "**Verdicts**" not in text


def test_a_pair_where_one_side_logged_no_budget_is_refused():
    runs = _fold_runs([0.01] * 10, gate=GOOD).assign(**{"budget/steps": 400.0})
    runs.loc[runs["param.variant"] == "BASELINE", "budget/steps"] = math.nan
    with pytest.raises(BudgetMismatch, match="variant=BASELINE logged no budget/steps"):
        _fesr_table(runs)


def test_a_papers_number_is_judged_only_on_its_own_dataset():
    refs = {("simple",): references.select(paper="birenbaum", row="baseline", metric="acc")}

    def table(dataset):
        runs = pd.DataFrame({"parent_run_id": "p", "seed": [0, 1, 2], "fold": 0, "procedural": False,
                             "dataset": dataset, "param.net": "simple", "test/acc_at_best_val": [0.64, 0.66, 0.65]})
        return metric_table(runs, name="t", title="t", group_by=["param.net"],
                            columns=[Column("overall acc", "test/acc_at_best_val", "acc")], references=refs)

    own, other = table("fer2013"), table("imagefolder")
    assert own.cells.loc[0, "overall acc (paper)"] == "Birenbaum (slides): 65.09"
    assert any("(binomial, 2336/3589)" in n and n.endswith("consistent with our data.") for n in own.footnotes)
    assert other.cells.loc[0, "overall acc (paper)"] == "Birenbaum (slides), FER2013: not comparable"
    assert any("not comparable, no verdict" in n for n in other.footnotes)


def test_a_paper_without_spread_says_so():
    refs = {("FESR_JL",): references.select(paper="fesr", source="Fig. 8", row="FESR_JL", dataset="CK+")}
    runs = _fold_runs([0.05] * 10, gate=GOOD)
    table = metric_table(runs[runs["param.variant"] == "FESR_JL"], name="t", title="t", group_by=["param.variant"],
                         columns=[Column("overall acc", "test/acc_at_best_val", "acc")], references=refs)
    assert any(n.endswith("the paper reports no spread.") for n in table.footnotes)


def test_collapsed_and_still_improving_runs_are_flagged():
    runs = pd.DataFrame({"parent_run_id": "p", "seed": [0, 1, 2], "fold": 0, "procedural": False,
                         "dataset": "fer2013", "param.net": "simple", "test/acc_at_best_val": [0.25, 0.6, 0.61],
                         "test/top_pred_share_at_best_val": [0.97, 0.3, 0.35],
                         "selection/at_fraction": [1.0, 0.95, 0.5]})
    table = metric_table(runs, name="t", title="t", group_by=["param.net"],
                         columns=[Column("overall acc", "test/acc_at_best_val", "acc")])
    assert table.cells.loc[0, "flags"] == "collapsed (1/3), still improving (2/3)"
    assert table.flags == ["net=simple: collapsed (1/3), still improving (2/3)"]


# --- end to end ----------------------------------------------------------------------------

def _blank_imagefolder(root, per_class=12):
    """Seven class folders of one identical grey face: nothing tells the classes apart,
    so a trained net predicts one class for every test image."""
    from PIL import Image

    for emotion in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"):
        (root / emotion).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (48, 48), 128).save(root / emotion / f"{emotion}_{i:02d}.png")
    return root


def test_a_baseline_launch_on_other_data_judges_no_fer2013_number_and_flags_collapse(tmp_path):
    from tests.test_launch import launch

    data = _blank_imagefolder(tmp_path / "faces")
    out = launch("baseline", "--dataset", "imagefolder", "--data-root", str(data), "--set", "net=simple",
                 "--set", "steps=24", "--set", "epochs=3", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Birenbaum (slides), FER2013: not comparable" in out.stdout
    birenbaum = [line for line in out.stdout.splitlines() if "Birenbaum (slides), '" in line]
    assert birenbaum and all("not comparable, no verdict" in line for line in birenbaum)
    assert not any("our 95 % CI" in line for line in birenbaum)
    assert "collapsed (1/1)" in out.stdout and "**Flags**" in out.stdout


def test_a_flagged_row_shown_in_several_tables_is_listed_once_naming_them():
    from types import SimpleNamespace

    def table(name, flags):
        return SimpleNamespace(name=name, flags=flags, verdicts=[], summary_notes=[])

    text = summary([table("t1", ["variant=JL: collapsed (2/2 runs)", "variant=IL: collapsed (1/2 runs)"]),
                    table("t2", ["variant=JL: collapsed (2/2 runs)"]), table("t2", ["variant=JL: collapsed (2/2 runs)"])])
    assert text == ("\n**Flags** (collapsed or still-improving runs):\n\n"
                    "- variant=JL: collapsed (2/2 runs) (in t1, t2)\n"
                    "- variant=IL: collapsed (1/2 runs) (in t1)\n")

"""Honest verdicts: corrected tests for cross-validation pairs, Holm's correction, power,
bounded intervals for rates, a verdict per claimed effect behind a synthesis gate, and
papers' numbers judged only on their own data."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from analysis import references
from analysis.cells import Column, Paired, metric_table
from analysis.stats import (CORRECTED_T, PLAIN_T, holm, minimal_detectable_effect, paired_test, pairs_needed, power,
                            rate_ci)
from analysis.verdicts import Gate

# --- statistics against worked examples ---------------------------------------------------


def test_rate_interval_stays_inside_0_100_where_student_t_does_not():
    values = [0.15, 0.97, 0.60]
    x = np.array(values)
    t_low = x.mean() - st.t.ppf(0.975, 2) * x.std(ddof=1) / math.sqrt(3)
    assert t_low < 0  # the old interval left [0, 100]
    found = rate_ci(values)
    logits = np.log(x / (1 - x))  # by hand: t-interval of the logits, mapped back
    half = st.t.ppf(0.975, 2) * logits.std(ddof=1) / math.sqrt(3)
    expected = [1 / (1 + math.exp(-(logits.mean() + s * half))) for s in (-1, 1)]
    assert found.mean == pytest.approx(x.mean()) and found.n == 3
    assert [found.low, found.high] == pytest.approx(expected)
    assert 0 < found.low < found.high < 1


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
    # the example: a paired SD of 6 points and 10 pairs detect +3.7 points ~40 % of the time
    assert power(3.7, 6, 10) == pytest.approx(0.41, abs=0.01)
    mde = minimal_detectable_effect(6, 10)
    assert power(mde, 6, 10) == pytest.approx(0.8, abs=1e-6) and 5.5 < mde < 6.5
    # with the correction, more folds of one design cannot reach a small effect
    assert pairs_needed(0.1, 1.0, test_train_ratio=0.25) is None


# --- tables --------------------------------------------------------------------------------

def _fold_runs(arm_acc, control_acc, arms=("FESR_JL", "BASELINE"), dataset="ckplus", extra=None):
    rows = []
    for fold, (a, c) in enumerate(zip(arm_acc, control_acc)):
        for arm, acc in zip(arms, (a, c)):
            rows.append({"parent_run_id": "p", "seed": 0, "fold": fold, "procedural": False, "dataset": dataset,
                         "param.variant": arm, "test/acc_at_best_val": acc, "data/n_train": 800.0,
                         "data/n_test": 100.0, **((extra or {}).get(arm, {}))})
    return pd.DataFrame(rows)


GOOD_SYNTHESIS = {"FESR_JL": {"synth/agreement": 0.8, "synth/real_recall": 0.9, "synth/chance": 1 / 7}}
BAD_SYNTHESIS = {"FESR_JL": {"synth/agreement": 0.15, "synth/real_recall": 0.9, "synth/chance": 1 / 7}}
GATES = {"FESR_JL": Gate("synth/agreement", "synth/real_recall", "synth/chance")}


def _fesr_table(runs):
    return metric_table(runs, name="t", title="t", group_by=["param.variant"],
                        columns=[Column("overall acc", "test/acc_at_best_val", "acc")],
                        paired=Paired(arm="param.variant", control="BASELINE"),
                        claims=references.claims(paper="fesr", arm="FESR_JL", control="BASELINE"), gates=GATES)


def _verdict(table, arm="FESR_JL"):
    return table.cells.set_index("variant").loc[arm, "verdict"]


CONTROL = [0.90, 0.92, 0.88, 0.91, 0.89, 0.93, 0.90, 0.92, 0.91, 0.89]


def test_a_clear_win_over_folds_is_reproduced_and_the_footnote_names_the_corrected_test():
    table = _fesr_table(_fold_runs([c + 0.05 + 0.002 * (i % 3) for i, c in enumerate(CONTROL)], CONTROL,
                                   extra=GOOD_SYNTHESIS))
    assert _verdict(table) == "reproduced"
    assert any(CORRECTED_T in note for note in table.footnotes)
    assert table.verdicts and "FESR_JL − BASELINE = +3.71 points" in table.verdicts[0]
    assert table.verdicts[0].endswith(".") and "→ reproduced" in table.verdicts[0]


def test_a_clear_loss_is_contradicted_only_when_the_synthesis_passed_its_gate():
    worse = [c - 0.05 - 0.002 * (i % 3) for i, c in enumerate(CONTROL)]
    assert _verdict(_fesr_table(_fold_runs(worse, CONTROL, extra=GOOD_SYNTHESIS))) == "contradicted"
    gated = _fesr_table(_fold_runs(worse, CONTROL, extra=BAD_SYNTHESIS))
    assert _verdict(gated) == "inconclusive (synthesis failed the quality gate)"
    assert "judged as intended 15.0 %" in gated.verdicts[0]


def test_a_noisy_difference_is_inconclusive_with_its_minimal_detectable_effect():
    noisy = [c + d for c, d in zip(CONTROL, [0.06, -0.05, 0.04, -0.06, 0.05, -0.04, 0.03, -0.03, 0.02, 0.0])]
    table = _fesr_table(_fold_runs(noisy, CONTROL, extra=GOOD_SYNTHESIS))
    verdict = _verdict(table)
    assert verdict.startswith("inconclusive (MDE ") and verdict.endswith(" pts)")
    mde = float(verdict.split("MDE ")[1].split(" pts")[0])
    diffs = np.array(noisy) - np.array(CONTROL)
    # the corrected MDE exceeds the plain one: with ratio 1/8 the SE is √(1/10 + 1/8) / √(1/10) = 1.5× larger
    plain = minimal_detectable_effect(diffs.std(ddof=1), 10) * 100
    assert mde > 1.4 * plain


def test_several_comparisons_show_holm_adjusted_p_values():
    runs = pd.concat([_fold_runs([c + 0.01 for c in CONTROL], CONTROL),
                      _fold_runs([c + 0.02 for c in CONTROL], CONTROL, arms=("FESR_SL", "BASELINE"))])
    runs = runs.drop_duplicates(subset=["param.variant", "fold"])
    table = metric_table(runs, name="t", title="t", group_by=["param.variant"],
                         columns=[Column("overall acc", "test/acc_at_best_val", "acc")],
                         paired=Paired(arm="param.variant", control="BASELINE"))
    assert sum("Holm-adjusted p = " in note for note in table.footnotes) == 2
    assert any("Holm-adjusted across this table's 2 comparisons" in note for note in table.footnotes)


def test_a_papers_number_is_judged_only_on_its_own_dataset():
    refs = {("simple",): references.select(paper="birenbaum", row="baseline", metric="acc")}

    def table(dataset):
        runs = pd.DataFrame({"parent_run_id": "p", "seed": [0, 1, 2], "fold": 0, "procedural": False,
                             "dataset": dataset, "param.net": "simple", "test/acc_at_best_val": [0.64, 0.66, 0.65]})
        return metric_table(runs, name="t", title="t", group_by=["param.net"],
                            columns=[Column("overall acc", "test/acc_at_best_val", "acc")], references=refs)

    own, other = table("fer2013"), table("imagefolder")
    assert own.cells.loc[0, "overall acc (paper)"] == "Birenbaum (slides): 65.09"
    assert any("within our 95 % CI" in n for n in own.footnotes)
    assert other.cells.loc[0, "overall acc (paper)"] == "Birenbaum (slides), FER2013: not comparable"
    assert not any("our 95 % CI" in n for n in other.footnotes)
    assert any("not comparable, no verdict" in n for n in other.footnotes)


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

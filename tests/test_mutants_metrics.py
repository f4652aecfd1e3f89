"""trainables.core.metrics and trainables.core.roc on cases worked by hand. Written to
kill the survivors of mutation testing ([tool.mutmut] in pyproject.toml)."""

import numpy as np
import pytest

from trainables.core.metrics import (classification_metrics, confusion_matrix, frechet_distance, inception_score,
                                     kernel_inception_distance)
from trainables.core.roc import auc, ovr_auc, roc_curve


def test_confusion_matrix_rows_are_true_columns_predicted():
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 0]), 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [2, 0, 1]])


def test_classification_metrics_of_a_three_class_case():
    labels, preds = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 0])
    out = classification_metrics(labels, preds, ["a", "b", "c"])
    assert out["acc"] == pytest.approx(3 / 6)
    assert out["top_pred_share"] == pytest.approx(3 / 6)  # class a is predicted 3 times
    assert (out["acc_a"], out["acc_b"], out["acc_c"]) == pytest.approx((1 / 2, 1, 1 / 3))
    # one-vs-rest: a has fp 2, fn 1; b fp 1, fn 0; c fp 0, fn 2
    assert (out["ovr_acc_a"], out["ovr_acc_b"], out["ovr_acc_c"]) == pytest.approx((3 / 6, 5 / 6, 4 / 6))
    # F1: a = 2·(1/3)(1/2)/(1/3+1/2) = 0.4, b = 2·(1/2)(1)/(3/2) = 2/3, c = 2·1·(1/3)/(4/3) = 0.5
    assert out["macro_f1"] == pytest.approx((0.4 + 2 / 3 + 0.5) / 3)


def test_a_class_never_predicted_scores_zero_f1_and_one_never_present_no_accuracy():
    out = classification_metrics(np.array([0, 0, 1]), np.array([0, 0, 0]), ["a", "b", "c"])
    assert out["macro_f1"] == pytest.approx((0.8 + 0 + 0) / 3)
    assert "acc_c" not in out and out["acc_b"] == 0.0 and out["ovr_acc_c"] == 1.0


def test_frechet_distance_of_unequal_covariances():
    # N(0, I) vs N(0, 4I) in 8-d: Tr(I + 4I − 2·2I) = 8; exact for sets whose sample
    # covariances are exactly I and 4I (a ±1 Hadamard design, centred)
    h = np.array([[1, 1], [1, -1]])
    for _ in range(3):
        h = np.kron(h, np.array([[1, 1], [1, -1]]))
    x = np.vstack([h, -h])[:, :8].astype(float)
    x = (x - x.mean(0)) / x.std(0, ddof=1)
    assert np.allclose(np.cov(x, rowvar=False), np.eye(8))
    assert frechet_distance(x, 2 * x) == pytest.approx(8.0, abs=1e-6)
    assert frechet_distance(x, 2 * x + 1.0) == pytest.approx(16.0, abs=1e-6)


def test_frechet_distance_of_a_singular_covariance_stays_finite():
    x = np.random.default_rng(0).normal(size=(5, 8))  # 5 points in 8-d: rank-deficient covariances
    assert np.isfinite(frechet_distance(x, x + 0.5))


def test_frechet_distance_of_one_feature_is_the_gaussians_closed_form():
    """In 1-d, FID = (μa − μb)² + (σa − σb)²: {0, 2} (mean 1, variance 2) against
    {0, 4, 8} (mean 4, variance 16) is 9 + (√2 − 4)²."""
    a, b = np.array([[0.0], [2.0]]), np.array([[0.0], [4.0], [8.0]])
    assert frechet_distance(a, b) == pytest.approx(9 + (np.sqrt(2) - 4) ** 2, rel=1e-12)


def test_kid_of_two_point_sets_by_hand():
    # 1-d, k(x, y) = (x·y + 1)³: a = {0, 1}, b = {0, 2}, every pair drawn (m = 2)
    a, b = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    k_aa_off, k_bb_off = 2 * 1.0, 2 * 1.0  # off-diagonal k(0, 1) = 1, k(0, 2) = 1
    k_ab = (1 + 1 + 1 + 27) / 4  # k(0,0), k(0,2), k(1,0), k(1,2) = 1, 1, 1, 27
    expected = (k_aa_off + k_bb_off) / 2 - 2 * k_ab
    assert kernel_inception_distance(a, b, n_subsets=3, subset_size=5) == pytest.approx(expected)


def test_inception_score_of_confident_spread_and_of_constant_predictions():
    confident = np.repeat(np.eye(4), 3, axis=0)  # 12 one-hot predictions, 3 per class
    assert inception_score(confident, splits=1) == pytest.approx(4.0)
    assert inception_score(np.full((6, 3), 1 / 3), splits=2) == pytest.approx(1.0)
    # two splits of different spread: exp(KL) is 2 for the first half, 1 for the second
    halves = np.vstack([np.eye(2), [[1.0, 0.0], [1.0, 0.0]]])
    assert inception_score(halves, splits=2) == pytest.approx(1.5)
    # ten splits by default: ten predictions make ten one-image parts, each scoring exp(0) = 1
    assert inception_score(np.tile(np.eye(2), (5, 1))) == pytest.approx(1.0)


def test_roc_curve_and_auc_of_a_small_ranking():
    positive = np.array([1, 0, 1, 0, 0], bool)
    scores = np.array([0.9, 0.8, 0.7, 0.7, 0.1])
    fpr, tpr = roc_curve(positive, scores)
    np.testing.assert_allclose(fpr, [0, 0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    # pairs (pos, neg) ranked right: 0.9 beats all 3, 0.7 beats 0.1 and ties 0.7 → (3 + 1.5) / 6
    assert auc(positive, scores) == pytest.approx(4.5 / 6)
    for call in (roc_curve, auc):
        with pytest.raises(ValueError, match="positives and negatives; got 0 and 2"):
            call(np.zeros(2, bool), np.array([0.1, 0.2]))
        with pytest.raises(ValueError, match="got 2 and 0"):
            call(np.ones(2, bool), np.array([0.1, 0.2]))


def test_ovr_auc_skips_a_class_without_negatives_or_positives():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([[0.9, 0.1, 0.5], [0.4, 0.6, 0.5], [0.3, 0.7, 0.5], [0.2, 0.8, 0.5]])
    out = ovr_auc(labels, scores, ["a", "b", "c"])
    assert set(out) == {"auc_a", "auc_b", "mean_auc"}
    assert out["auc_a"] == 1.0 and out["auc_b"] == 1.0 and out["mean_auc"] == 1.0
    assert ovr_auc(labels, scores[:, [1, 0, 2]], ["a", "b", "c"])["mean_auc"] == 0.0
    assert np.isnan(ovr_auc(np.zeros(3, int), scores[:3], ["a", "b", "c"])["mean_auc"])


def test_roc_and_auc_take_zero_one_labels_as_well_as_booleans():
    # labels 1, 0, 1, 0 by scores 0.9, 0.8, 0.7, 0.1: ROC steps (0, ½), (½, ½), (½, 1), (1, 1);
    # AUC = P(positive above negative) = (2 + 1) / 4
    labels, scores = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    fpr, tpr = roc_curve(labels, scores)
    assert fpr.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0] and tpr.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert auc(labels, scores) == pytest.approx(0.75)


def test_ovr_auc_keeps_a_class_with_a_single_positive():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    out = ovr_auc(np.array([0, 1, 1, 1]), scores, ["a", "b"])
    assert out == {"auc_a": 1.0, "auc_b": 1.0, "mean_auc": 1.0}

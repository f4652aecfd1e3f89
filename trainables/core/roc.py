"""One-vs-rest ROC curves and AUC per class from classifier scores (an SVM's decision
values or a network's probabilities): for class k, the images of k are positives and
all others negatives, ranked by the score of k."""

import numpy as np
from scipy.stats import rankdata


def roc_curve(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rates, true-positive rates) at every distinct score threshold,
    from (0, 0) to (1, 1); ties move both rates at once."""
    positive = np.asarray(positive, bool)
    order = np.argsort(-np.asarray(scores, float), kind="mergesort")
    s, p = np.asarray(scores, float)[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps, fps = np.cumsum(p)[last_of_tie], np.cumsum(~p)[last_of_tie]
    n_pos, n_neg = p.sum(), (~p).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"ROC needs positives and negatives; got {n_pos} and {n_neg}")
    return np.r_[0.0, fps / n_neg], np.r_[0.0, tps / n_pos]


def auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a
    random negative, ties counting one half (Mann–Whitney)."""
    positive = np.asarray(positive, bool)
    ranks = rankdata(np.asarray(scores, float))  # tied scores share their mean rank
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs positives and negatives; got {n_pos} and {n_neg}")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ovr_auc(labels: np.ndarray, scores: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """`auc_<class>` for every class present with both positives and negatives, and
    `mean_auc` over them."""
    out = {}
    for k, name in enumerate(class_names):
        positive = np.asarray(labels) == k
        if 0 < positive.sum() < len(positive):
            out[f"auc_{name}"] = auc(positive, scores[:, k])
    out["mean_auc"] = float(np.mean(list(out.values()))) if out else float("nan")
    return out

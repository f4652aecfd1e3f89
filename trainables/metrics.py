"""Classification metrics under one key scheme: `acc`, `macro_f1`, `acc_<class>` (per-class
accuracy = recall) and `ovr_acc_<class>` (one-vs-rest accuracy, (TP + TN) / N, which is
what Zhu et al.'s per-class tables most likely report)."""

import numpy as np
from sklearn.metrics import f1_score


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return np.bincount(labels * n_classes + preds, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_metrics(labels: np.ndarray, preds: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """`labels`/`preds` index into `class_names`; a class with no test images gets no
    per-class accuracy rather than a made-up 0."""
    n = len(class_names)
    cm = confusion_matrix(labels, preds, n)
    total = cm.sum()
    out = {
        "acc": float(np.trace(cm) / total),
        "macro_f1": float(f1_score(labels, preds, labels=list(range(n)), average="macro", zero_division=0)),
    }
    for k, name in enumerate(class_names):
        tp = cm[k, k]
        if cm[k].sum() > 0:
            out[f"acc_{name}"] = float(tp / cm[k].sum())
        fp, fn = cm[:, k].sum() - tp, cm[k].sum() - tp
        out[f"ovr_acc_{name}"] = float((total - fp - fn) / total)
    return out

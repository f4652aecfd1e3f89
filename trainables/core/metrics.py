"""Classification metrics under one key scheme: `acc`, `macro_f1`, `acc_<class>` (per-class
accuracy = recall), `ovr_acc_<class>` (one-vs-rest accuracy, (TP + TN) / N, which is
what Zhu et al.'s per-class tables most likely report) and `top_pred_share` (the share of
predictions in the most-predicted class: near 1 for a collapsed classifier that says one
class whatever it sees, whose accuracy is then just that class's share)."""

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
        "top_pred_share": float(cm.sum(axis=0).max() / total),
    }
    for k, name in enumerate(class_names):
        tp = cm[k, k]
        if cm[k].sum() > 0:
            out[f"acc_{name}"] = float(tp / cm[k].sum())
        fp, fn = cm[:, k].sum() - tp, cm[k].sum() - tp
        out[f"ovr_acc_{name}"] = float((total - fp - fn) / total)
    return out


# --- Generated-image quality (the GAN issues). Feature extractors are the caller's: FID
# here is computed on whatever features it is given, and outputs must name them (e.g.
# "FID (FER-classifier features)"), since Inception weights cannot be downloaded.

def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(Σa Σb)^½) between two N×D feature sets.

    Tr((Σa Σb)^½) is the sum of the roots of the eigenvalues of Σa Σb, which are those of
    the symmetric Σa^½ Σb Σa^½: two symmetric eigendecompositions give it exactly even
    where fewer images than dimensions make both covariances singular, where a general
    matrix root (`scipy.linalg.sqrtm`) is inaccurate and says so."""
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(features_a, rowvar=False)), np.atleast_2d(np.cov(features_b, rowvar=False))
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    trace_root = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def kernel_inception_distance(features_a: np.ndarray, features_b: np.ndarray, n_subsets: int = 10,
                              subset_size: int = 100, seed: int = 0) -> float:
    """KID: unbiased MMD² with the cubic polynomial kernel (x·y/D + 1)³, averaged over
    random subsets (Bińkowski et al. 2018); unbiased, so identical distributions give ≈ 0."""
    rng = np.random.default_rng(seed)
    d = features_a.shape[1]
    m = min(subset_size, len(features_a), len(features_b))
    values = []
    for _ in range(n_subsets):
        a = features_a[rng.choice(len(features_a), m, replace=False)]
        b = features_b[rng.choice(len(features_b), m, replace=False)]
        k_aa, k_bb, k_ab = ((a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3)
        off = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
        values.append(off - 2 * k_ab.mean())
    return float(np.mean(values))


def inception_score(probs: np.ndarray, splits: int = 10) -> float:
    """exp(E_x KL(p(y|x) ‖ p(y))), the mean over `splits` equal parts (Salimans et al.):
    1 for identical predictions, the number of classes for confident, evenly spread ones."""
    scores = []
    for part in np.array_split(np.asarray(probs, np.float64), splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(np.clip(part, 1e-12, None)) - np.log(np.clip(marginal, 1e-12, None)))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores))


def ssim_psnr(images_a: np.ndarray, images_b: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and PSNR (dB) over pairs of uint8 N×H×W images (e.g. real vs reconstruction)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    ssim = [structural_similarity(a, b, data_range=255) for a, b in zip(images_a, images_b)]
    with np.errstate(divide="ignore"):  # identical images: PSNR is +inf, said as such
        psnr = [peak_signal_noise_ratio(a, b, data_range=255) for a, b in zip(images_a, images_b)]
    return float(np.mean(ssim)), float(np.mean(psnr))


def classifier_agreement(probs: np.ndarray, intended: int) -> float:
    """Share of generated images a real-data classifier assigns to the intended class."""
    return float((probs.argmax(1) == intended).mean())

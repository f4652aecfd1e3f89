"""t-SNE plots of logged features, one per arm: the training manifold of Zhu et al.'s
Fig. 4 (the real-data judge's features of real and generated training images) and FESR's
Fig. 9 (R's features of real and synthetic images, FESR_JL-IL vs FESR_JL).

Trials log an `.npz` (features, class, source); `MANIFOLD_PLOTS` says which study logs
which, and the report draws one plot per arm from the arm's first finished run."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.plots import save_figure

ARTIFACT = "manifold.npz"


def tsne_plot(npz_path: str | Path, title: str, path: str | Path, seed: int = 0) -> Path:
    from sklearn.manifold import TSNE
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with np.load(npz_path) as stored:
        features, labels, source = stored["features"], stored["labels"], stored["source"]
        class_names = [str(c) for c in stored["class_names"]]
    perplexity = float(min(30, max(2, (len(features) - 1) // 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    fig, ax = plt.subplots(figsize=(7, 6))
    colors = plt.get_cmap("tab10")
    for k, name in enumerate(class_names):
        for src, marker, alpha in (("real", "o", 0.35), ("generated", "x", 0.9)):
            sel = (labels == k) & (source == src)
            if sel.any():
                ax.scatter(xy[sel, 0], xy[sel, 1], s=8 if src == "real" else 14, marker=marker, alpha=alpha,
                           color=colors(k), label=f"{name} ({src})")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=6, markerscale=1.5, ncol=2, loc="best")
    return save_figure(fig, path)


@dataclass(frozen=True)
class ManifoldSpec:
    """Which feature artifact a study's trials log, which run column names the arm, which
    arms get a plot (None: all), and what the features are (for the title)."""

    artifact: str
    arm: str
    arms: tuple[str, ...] | None
    features: str


# Studies whose trials log features for a t-SNE plot.
MANIFOLD_PLOTS = {
    "cyclegan_augmentation": ManifoldSpec(ARTIFACT, "param.arm", None, "the real-data judge's features of the "
                                          "training images (Zhu et al. Fig. 4)"),
    "fesr_ablation": ManifoldSpec("r_features.npz", "param.variant", ("FESR_JL-IL", "FESR_JL"),
                                  "R's features of real test images and synthetic images (FESR Fig. 9)"),
}


def manifold_plots(study: str, runs: pd.DataFrame, client, out_dir: str | Path) -> list[Path]:
    """One t-SNE plot per arm that logged the study's features, from the arm's first
    finished run (lowest seed, then fold); nothing for runs without them."""
    spec = MANIFOLD_PLOTS.get(study)
    finished = runs[runs["status"] == "FINISHED"]
    if spec is None or spec.arm not in finished:
        return []
    written = []
    for arm, sub in finished.groupby(spec.arm):
        if spec.arms is not None and arm not in spec.arms:
            continue
        order = [c for c in ("seed", "fold", "run_id") if c in sub]
        for _, run in sub.sort_values(order).iterrows():
            if spec.artifact not in {a.path for a in client.list_artifacts(run["run_id"])}:
                continue
            with tempfile.TemporaryDirectory(prefix="ferlab-manifold-") as tmp:
                local = client.download_artifacts(run["run_id"], spec.artifact, tmp)
                slug = str(arm).replace("+", "plus_").replace(",", "_")
                title = (f"{spec.arm.removeprefix('param.')} {arm} ({run.get('dataset', '?')}, "
                         f"{run.get('scale', '?')} scale, seed {run.get('seed', '?')}, fold {run.get('fold', '?')}): "
                         f"t-SNE of {spec.features}")
                written.append(tsne_plot(local, title, Path(out_dir) / f"{study}_manifold_{slug}.png"))
            break
    return written

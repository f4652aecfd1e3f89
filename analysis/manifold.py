"""t-SNE of the training manifold (Zhu et al. Fig. 4): the real training images and the
generated ones, embedded together from the real-data judge's features, one plot per arm.

Each CycleGAN trial logs `manifold.npz` (features, class, source); the report draws
one plot per arm from the arm's first finished run (lowest seed)."""

from __future__ import annotations

import tempfile
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


def manifold_plots(runs: pd.DataFrame, client, out_dir: str | Path, name: str) -> list[Path]:
    """One t-SNE plot per arm that logged a manifold; nothing for runs without one."""
    finished = runs[runs["status"] == "FINISHED"]
    if "param.arm" not in finished:
        return []
    written = []
    for arm, sub in finished.groupby("param.arm"):
        for _, run in sub.sort_values("seed" if "seed" in sub else "run_id").iterrows():
            if ARTIFACT not in {a.path for a in client.list_artifacts(run["run_id"])}:
                continue
            with tempfile.TemporaryDirectory(prefix="ferlab-manifold-") as tmp:
                local = client.download_artifacts(run["run_id"], ARTIFACT, tmp)
                slug = str(arm).replace("+", "plus_").replace(",", "_")
                title = (f"Training manifold, arm {arm} ({run.get('dataset', '?')}, {run.get('scale', '?')} scale, "
                         f"seed {run.get('seed', '?')}): t-SNE of the real-data judge's features")
                written.append(tsne_plot(local, title, Path(out_dir) / f"{name}_manifold_{slug}.png"))
            break
    return written

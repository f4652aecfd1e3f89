"""Per-class accuracy bar charts with 95 % CI error bars, drawn from ``Table.stats``.

Drawn from the table's numbers rather than from the runs, so a plot can never
disagree with the table beside it. Papers' numbers are drawn as black ticks on the
row they sit beside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.columns import AT_BEST, CLASSES
from analysis.tables import Table

_PER_CLASS = {f"test/acc_{c}{AT_BEST}": c for c in CLASSES}


def per_class_chart(table: Table, path: str | Path) -> Path | None:
    """Write a grouped bar chart (one group per class, one bar per table row) to
    ``path``; returns None, writing nothing, when the table has no per-class column."""
    stats = table.stats
    if stats.empty or "metric" not in stats:
        return None
    stats = stats[stats["metric"].isin(_PER_CLASS)]
    if stats.empty:
        return None
    import matplotlib
    matplotlib.use("Agg")  # headless: reports are built on servers and in CI
    import matplotlib.pyplot as plt

    id_cols = list(stats.columns[:list(stats.columns).index("column")])  # the row keys
    stats = stats.assign(row=stats[id_cols].astype(str).agg(", ".join, axis=1),
                         cls=stats["metric"].map(_PER_CLASS))
    classes = [c for c in CLASSES if c in set(stats["cls"])]
    ours = stats[stats["kind"] == "ours"]
    rows = list(dict.fromkeys(ours["row"]))
    width = 0.8 / max(len(rows), 1)
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2, 4))
    for i, row in enumerate(rows):
        sub = ours[ours["row"] == row].set_index("cls").reindex(classes)
        # asymmetric where the interval is (a rate's, from the logit scale)
        err = np.vstack([(sub["mean"] - sub["low"]) * 100, (sub["high"] - sub["mean"]) * 100])
        err = np.nan_to_num(np.clip(err, 0, None))
        ax.bar(x + i * width, sub["mean"] * 100, width, yerr=err, capsize=3, label=row)
        paper = stats[(stats["kind"] == "paper") & (stats["row"] == row)]
        for _, p in paper.iterrows():
            j = classes.index(p["cls"])
            ax.plot([x[j] + (i - 0.4) * width, x[j] + (i + 0.4) * width],
                    [p["mean"] * 100] * 2, color="black", lw=2)
    ax.set_xticks(x + width * (len(rows) - 1) / 2, classes)
    ax.set_ylabel("test accuracy at best val (%)")
    ax.set_ylim(0, 100)
    ax.set_title(table.title, fontsize=9)
    ax.legend(fontsize=8, title="black tick: paper", title_fontsize=7)
    return save_figure(fig, path)


def save_figure(fig, path: str | Path) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

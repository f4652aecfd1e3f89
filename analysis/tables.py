"""The ``Table`` value and its renderers (Markdown, LaTeX, CSV).

A table is data, not formatting: a title, the line saying which dataset and scale our
side is, a DataFrame of display cells (strings), footnotes, and a tidy ``stats``
frame with the numbers behind the cells (for plots and for anyone who wants more
digits than the cells show). Renderers only lay those out; what goes in the cells
is decided in ``layouts``.
"""

from __future__ import annotations

import json
import math
from typing import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.stats import Interval

PROCEDURAL_WARNING = ("procedural demo data (synthfaces), not real faces: our numbers are "
                      "not comparable to the papers'")


@dataclass
class Table:
    name: str  # file stem of the written files: <name>.md, .tex, .csv
    title: str
    context: str  # which dataset and scale our side is, and which runs
    cells: pd.DataFrame  # display strings; the first columns identify the row
    footnotes: list[str] = field(default_factory=list)
    stats: pd.DataFrame = field(default_factory=pd.DataFrame)  # tidy numbers behind cells
    plot: Callable[["Table", Path], Path | None] | None = None  # its figure, drawn from `stats`
    verdicts: list[str] = field(default_factory=list)  # one line per claimed effect judged
    flags: list[str] = field(default_factory=list)  # rows whose runs collapsed or still improved
    claim_tests: list = field(default_factory=list)  # analysis.verdicts.ClaimTest, judged per launch
    summary_notes: list[str] = field(default_factory=list)  # said once in the summary, however many tables


# --- cell formatting -----------------------------------------------------------------

def fmt_ci(interval: Interval, scale: float = 100.0, signed: bool = False) -> str:
    """``"61.33 ± 2.48 (n=3)"``: mean ± half-width scaled to % (or points), 2 decimals; an
    interval cut at the metric's range prints its bounds, ``"99.10 [98.15, 100.00] (n=10,
    clipped)"``. One run has no interval and says so; no run at all is a dash."""
    if interval.n == 0:
        return "—"
    mean = f"{interval.mean * scale:+.2f}" if signed else f"{interval.mean * scale:.2f}"
    if interval.bounds is not None:  # cut at the metric's range: the bounds, marked
        mark = ", clipped" if interval.clipped else ""
        return f"{mean} [{interval.low * scale:.2f}, {interval.high * scale:.2f}] (n={interval.n}{mark})"
    half = "n/a" if math.isnan(interval.half_width) else f"{interval.half_width * scale:.2f}"
    return f"{mean} ± {half} (n={interval.n})"


def fmt_bounds(interval: Interval, scale: float = 100.0) -> str:
    return f"[{interval.low * scale:.2f}, {interval.high * scale:.2f}]"


def compare_to_ci(paper_value: float, ours: Interval, scale: float = 100.0) -> str:
    """Generic verdict of a paper's number (in %) against our interval (fractions)."""
    if ours.n == 0:
        return "no run of ours logged this metric"
    if math.isnan(ours.half_width):
        return f"not comparable: n={ours.n}, no CI"
    inside = ours.low * scale <= paper_value <= ours.high * scale
    where = "within" if inside else "outside"
    tail = "consistent with our data" if inside else "not reproduced on our data"
    return f"{where} our 95 % CI {fmt_bounds(ours, scale)}: {tail}"


def describe_runs(runs: pd.DataFrame, excluded: int = 0) -> str:
    """The context line: dataset(s), scale(s), procedural warning, runs and parents."""
    def values(column: str) -> str:
        found = sorted(str(v) for v in runs[column].dropna().unique())
        return ", ".join(found) or "unknown"

    parents = sorted(runs["parent_run_id"].dropna().unique())
    parent_text = parents[0] if len(parents) == 1 else f"{len(parents)} parent runs"
    line = (f"Ours: dataset {values('dataset')}, scale {values('scale')}; "
            f"{len(runs)} FINISHED trial runs from {parent_text}")
    if excluded:
        line += f" ({excluded} unfinished trial runs excluded)"
    line += "."
    if runs["procedural"].fillna(False).astype(bool).any():
        line += f" Warning: {PROCEDURAL_WARNING}."
    return line + deviations_text(runs)


def deviations_text(runs: pd.DataFrame) -> str:
    """" Deviations from the paper's recipe: key (why); …", from the launches' record
    (tag ferlab.deviations); nothing for runs of launches that predate it. Where the
    runs' launches give a key different reasons (each its own `--set fold=…`), or only
    some of them deviate in it, it says so and gives each."""
    if "deviations" not in runs:
        return ""
    launches = [json.loads(text) for text in runs["deviations"].dropna().unique()]
    found: dict[str, list[str]] = {}
    for deviations in launches:
        for key, why in deviations.items():
            if why not in found.setdefault(key, []):
                found[key].append(why)
    if not found:
        return " Deviations from the paper's recipe: none (the scale only shrinks sizes)."

    def reasons(key: str) -> str:
        whys, some = found[key], sum(key in deviations for deviations in launches)
        if len(whys) == 1 and some == len(launches):
            return whys[0]
        return f"in {some} of the {len(launches)} launches, by launch: " + "; ".join(whys)

    return " Deviations from the paper's recipe: " + "; ".join(f"{k} ({reasons(k)})" for k in sorted(found)) + "."


# --- renderers -----------------------------------------------------------------------

def _md_escape(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: Table) -> str:
    cols = list(table.cells.columns)
    lines = [f"### {table.title}", "", f"_{table.context}_", "",
             "| " + " | ".join(_md_escape(c) for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for row in table.cells.itertuples(index=False):
        lines.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
    if table.footnotes:
        lines += [""] + [f"{i}. {_md_escape(note)}" for i, note in
                         enumerate(table.footnotes, 1)]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$", "—": "---", "−": "$-$",
                  "Δ": r"$\Delta$"}


def latex_escape(text: object) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(table: Table) -> str:
    """A ``table`` environment with a booktabs ``tabular``; footnotes in small print."""
    cols = list(table.cells.columns)
    lines = [r"\begin{table}[ht]", r"\centering", r"\small",
             rf"\caption{{{latex_escape(table.title)}}}",
             rf"\label{{tab:{latex_escape(table.name)}}}",
             r"\begin{tabular}{" + "l" * len(cols) + "}", r"\toprule",
             " & ".join(latex_escape(c) for c in cols) + r" \\", r"\midrule"]
    for row in table.cells.itertuples(index=False):
        lines.append(" & ".join(latex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", "", r"\footnotesize",
              latex_escape(table.context) + r"\par"]
    lines += [rf"{i}. {latex_escape(note)}\par" for i, note in enumerate(table.footnotes, 1)]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """The display cells as CSV (the numbers behind them go to ``<name>.stats.csv``)."""
    return table.cells.to_csv(index=False)


def write_table(table: Table, out_dir: str | Path) -> list[Path]:
    """Write ``<name>.md``, ``.tex``, ``.csv`` and ``.stats.csv`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in ((".md", to_markdown(table)), (".tex", to_latex(table)),
                         (".csv", to_csv(table)),
                         (".stats.csv", table.stats.to_csv(index=False))):
        path = out / f"{table.name}{suffix}"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths

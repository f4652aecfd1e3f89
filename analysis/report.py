"""Regenerate a study's tables from its MLflow runs: ours beside the papers'.

    python -m analysis.report <study> [--tracking-uri URI] [--parent latest|all|RUN_ID]
                                      [--out DIR] [--no-plots]
    python -m analysis.report <study> --runs FILE [FILE ...] [--out DIR] [--no-plots]
    python -m analysis.report --list

Prints the Markdown tables and writes, per table, ``<table>.md``, ``.tex``, ``.csv``,
``.stats.csv`` (the numbers behind the cells) and, where a table has per-class
columns, ``<table>.png``, plus ``report.md`` with every table, into ``--out``
(default ``reports/<study>/``). The tracking URI defaults to ``$MLFLOW_TRACKING_URI``,
else ``sqlite:///mlflow.db`` in the working directory. ``--runs`` reads exports
(``python -m analysis.export``) instead of a store: several files are one study split
into launches, their runs side by side; no MLflow store is needed, and the t-SNE plots,
which read feature artifacts from MLflow, are left out. A ``ReportError`` (unknown
study, experiment or parent; no finished runs) exits with status 2 and a one-line
message, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from analysis import ReportError
from analysis.layouts import LAYOUTS, build_tables, get_layout, list_layouts
from analysis.exported import load_exports
from analysis.plots import per_class_chart
from analysis.runs import load_runs
from analysis.tables import Table, to_markdown, write_table

def render_report(study: str, tracking_uri: str | None = None, parent: str = "latest",
                  out_dir: str | Path | None = None, plots: bool = True,
                  runs_files: list[str | Path] | None = None) -> str:
    """Build the study's tables, write them into ``out_dir`` (default
    ``reports/<study>/``) and return them as one Markdown string. Raises
    ``ReportError`` for anything the user can fix.
    """
    return full_markdown(write_report(study, tracking_uri, parent, out_dir, plots, runs_files))


def full_markdown(tables: list[Table]) -> str:
    """Every table in full, then the summary: what ``report.md`` holds."""
    return "\n".join(to_markdown(t) for t in tables) + summary(tables)


def write_report(study: str, tracking_uri: str | None = None, parent: str = "latest",
                 out_dir: str | Path | None = None, plots: bool = True,
                 runs_files: list[str | Path] | None = None) -> list[Table]:
    """Build the study's tables and write them, their figures and ``report.md`` into
    ``out_dir`` (default ``reports/<study>/``); returns the tables. The launcher calls
    this at the end of a launch and prints them in short (analysis.console).
    ``runs_files``: read the runs from these exports instead of MLflow."""
    get_layout(study)  # an unknown study fails before MLflow is opened
    if runs_files:
        runs = load_exports(study, runs_files, statuses=None)
    else:
        runs = load_runs(study, tracking_uri=tracking_uri, parent=parent, statuses=None)
    tables = build_tables(study, runs)
    out = Path(out_dir) if out_dir is not None else Path("reports") / study
    for table in tables:
        if plots and table.plot is not None:
            drawn = table.plot(table, out / f"{table.name}.png")
            if drawn is not None:
                table.footnotes.append(f"Figure: {Path(drawn).name}, beside this table")
        elif plots:
            per_class_chart(table, out / f"{table.name}.png")
        write_table(table, out)
    if plots:
        from analysis.manifold import MANIFOLD_PLOTS, manifold_plots
        from analysis.runs import _client

        if study in MANIFOLD_PLOTS and runs_files:
            print("note: no t-SNE plots: they read the runs' feature artifacts from MLflow, "
                  "which exports do not carry", file=sys.stderr)
        elif study in MANIFOLD_PLOTS:
            manifold_plots(study, runs, _client(tracking_uri), out)
    (out / "report.md").write_text(full_markdown(tables), encoding="utf-8")
    return tables


def summary(tables) -> str:
    """The verdict on each paper claim the tables judge, then the flagged rows, one line
    each: what a reader needs before any number."""
    verdicts = [line for t in tables for line in t.verdicts]
    tables_of: dict[str, list[str]] = {}  # a flagged row shown in several tables is listed once
    for t in tables:
        for line in t.flags:
            tables_of.setdefault(line, []).append(t.name)
    flags = [f"{line} (in {', '.join(dict.fromkeys(names))})" for line, names in tables_of.items()]
    notes = list(dict.fromkeys(note for t in tables for note in t.summary_notes))
    text = "".join(f"\n{note}\n" for note in notes)
    if flags:
        text += "\n**Flags** (collapsed or still-improving runs):\n\n" + "\n".join(f"- {f}" for f in flags) + "\n"
    if verdicts:
        text += "\n**Verdicts**:\n\n" + "\n".join(f"- {v}" for v in verdicts) + "\n"
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.report",
        description="Regenerate a study's tables (mean ± 95 % CI) from MLflow runs, "
                    "with the papers' numbers beside ours.")
    parser.add_argument("study", nargs="?", help="study name = MLflow experiment name")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///mlflow.db in the working directory)")
    parser.add_argument("--parent", default=None,
                        help="which launch: 'latest' (default), 'all', or a parent run id")
    parser.add_argument("--runs", nargs="+", default=None, metavar="FILE",
                        help="read the runs from these exports (python -m analysis.export), not MLflow")
    parser.add_argument("--out", default=None, help="output folder (default reports/<study>/)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG charts")
    parser.add_argument("--list", action="store_true", help="list the studies with a layout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per artifact read, else
    if args.list:
        for name in list_layouts():
            print(f"{name}: {LAYOUTS[name].description}")
        return 0
    if not args.study:
        print(f"error: name a study; known studies: {', '.join(list_layouts())}",
              file=sys.stderr)
        return 2
    if args.runs and (args.tracking_uri or args.parent):
        print("error: --runs reads exports, not MLflow: it takes no --tracking-uri or --parent",
              file=sys.stderr)
        return 2
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema chatter on stderr
    try:
        markdown = render_report(args.study, tracking_uri=args.tracking_uri,
                                 parent=args.parent or "latest", out_dir=args.out,
                                 plots=not args.no_plots, runs_files=args.runs)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The tables as a launch prints them: short enough to read in a terminal.

Each table keeps its rows, its headline columns (overall metrics, the papers' numbers
beside them, Δ vs the control, verdict, flags) and its context line; its per-class
columns stay in the report files (``python -m analysis.report`` and the launch's
``reports/<table>/`` hold every table in full). Footnotes are numbered once across all
tables: one that two tables share is printed once, a paper's numbers judged alike in one
row ("not comparable, no verdict") share one footnote, and so do a row's Δs read alike
(both metrics "not read as an effect" for one reason). Tables follow one another until
about `max_lines` lines are printed; the rest are named with their files. The summary
(verdicts, flags) always ends it.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from analysis.columns import CLASSES
from analysis.report import summary
from analysis.tables import Table, to_markdown

PER_CLASS = {f"{kind} {c}" for kind in ("acc", "ovr acc") for c in CLASSES}  # cells.class_columns' labels
# cells.metric_table's note on one paper number: "<paper>, '<row>', <column> = <value> (<notes>),
# beside <row of ours>: <verdict>."
PAPER_NOTE = re.compile(r"^(?P<head>.+?, '[^']*'), (?P<item>.+ = .+), beside (?P<where>[^:]+): (?P<verdict>.+)$")
# cells' note on one Δ cell: "<row> − <control>, <metric>: <value> points<: why, or the test>."
DELTA_NOTE = re.compile(r"^(?P<row>[^,]+ − [^,]+), (?P<metric>[^:]+): (?P<value>\S+ ± \S+ \(n=\d+\)) "
                        r"points(?P<why>: .+)$")


def base_label(column: str) -> str:
    """The metric a column shows: "Δ acc fear vs none" and "acc fear (paper)" → "acc fear"."""
    if column.startswith("Δ "):
        column = column[2:].rsplit(" vs ", 1)[0]
    return column.removesuffix(" (paper)")


def headline(table: Table) -> Table:
    """The table without its per-class columns and footnotes."""
    keep = [c for c in table.cells.columns if base_label(c) not in PER_CLASS]
    return dataclasses.replace(table, cells=table.cells[keep], footnotes=[])


def _merge(notes: list[str], pattern, key_of, item_of, render) -> list[str]:
    """The notes that match `pattern` and share `key_of(match)` as one note,
    `render(key, items)`, where the first of them stood; the others as they are."""
    merged: dict[tuple, list[str]] = {}
    out: list[str | tuple] = []
    for note in notes:
        found = pattern.match(note)
        if found is None:
            out.append(note)
            continue
        key = key_of(found)
        if key not in merged:
            merged[key] = []
            out.append(key)
        merged[key].append(item_of(found))
    return [item if isinstance(item, str) else render(item, merged[item]) for item in out]


def merge_paper_notes(notes: list[str]) -> list[str]:
    """One footnote per paper, row of ours and verdict, listing that paper's numbers,
    where several of its numbers got the same verdict beside the same row."""
    return _merge(notes, PAPER_NOTE, lambda found: (found["head"], found["where"], found["verdict"]),
                  lambda found: found["item"],
                  lambda key, items: f"{key[0]}, {'; '.join(items)}, beside {key[1]}: {key[2]}")


def merge_delta_notes(notes: list[str]) -> list[str]:
    """One footnote per Δ row and reason where its metrics' Δs are read alike (the same
    words after the value: a failed gate, too few pairs); a note with its own test (a p
    value) differs from its neighbour and stays apart."""
    return _merge(notes, DELTA_NOTE, lambda found: (found["row"], found["why"]),
                  lambda found: f"{found['metric']} {found['value']}",
                  lambda key, items: f"{key[0]}: {', '.join(items)} points{key[1]}")


def console_report(reports: list[tuple[Path, list[Table]]], max_lines: int = 40) -> str:
    """`reports`: (the directory a study table's files went to, its tables). Returns
    the headline tables, the footnotes once each, then the summary (flags, verdicts).
    Once about `max_lines` lines of tables are printed, each further table is named with
    its file instead."""
    numbers: dict[str, int] = {}
    parts, elsewhere, used = [], [], 0
    for where, tables in reports:
        for table in tables:
            if used >= max_lines and parts:  # the first table always
                elsewhere.append(f"- {table.title}: {where / (table.name + '.md')}")
                continue
            shown = headline(table)
            text = to_markdown(shown)
            hidden = len(table.cells.columns) - len(shown.cells.columns)
            if hidden:
                text += f"\n{hidden} per-class columns: {where / (table.name + '.md')}\n"
            earlier, lines = [], []
            for note in merge_delta_notes(merge_paper_notes(table.footnotes)):
                if note in numbers:
                    earlier.append(numbers[note])
                    continue
                numbers[note] = len(numbers) + 1
                lines.append(f"{numbers[note]}. {' '.join(note.split())}")
            if earlier:
                lines.append("Also footnote(s) " + ", ".join(map(str, earlier)) + " above.")
            parts.append(text + ("\n" + "\n".join(lines) + "\n" if lines else ""))
            used += parts[-1].count("\n") + 1
    if elsewhere:
        parts.append("More tables, in full in their files:\n\n" + "\n".join(elsewhere) + "\n")
    return "\n".join(parts) + summary([t for _, tables in reports for t in tables])

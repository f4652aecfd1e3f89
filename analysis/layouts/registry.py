"""The registry of report layouts by study name, and the one place a layout is run.

A layout is a function ``runs -> list[Table]`` registered under the study's name.
``build_tables`` calls it once per (dataset, scale, procedural) setting found in the
runs, so a cell never averages FER2013 with CK+ or a smoke run with a paper-scale one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from analysis import ReportError
from analysis.tables import Table, describe_runs
from analysis.verdicts import apply_verdicts

SETTING = ["dataset", "scale", "procedural"]


@dataclass(frozen=True)
class Layout:
    study: str
    description: str
    build: Callable[[pd.DataFrame], list[Table]]


LAYOUTS: dict[str, Layout] = {}


def register_layout(study: str, description: str):
    """Decorator: register ``fn(runs) -> list[Table]`` as the layout of ``study``."""
    def wrap(fn: Callable[[pd.DataFrame], list[Table]]):
        if study in LAYOUTS:
            raise ValueError(f"layout {study!r} registered twice")
        LAYOUTS[study] = Layout(study, description, fn)
        return fn
    return wrap


def list_layouts() -> list[str]:
    return sorted(LAYOUTS)


def get_layout(study: str) -> Layout:
    try:
        return LAYOUTS[study]
    except KeyError:
        raise ReportError(f"no report layout for study {study!r}; known studies: "
                          f"{', '.join(list_layouts())}") from None


def build_tables(study: str, runs: pd.DataFrame) -> list[Table]:
    """The study's tables from runs of any status (only FINISHED ones count; the
    others are counted in the context line). One set of tables per setting; table
    names get a ``-<dataset>-<scale>`` suffix only when there are several settings."""
    layout = get_layout(study)
    finished = runs[runs["status"] == "FINISHED"]
    if finished.empty:
        counts = runs["status"].value_counts().to_dict()
        raise ReportError(f"no FINISHED trial runs for study {study!r} under the chosen "
                          f"parent(s); trial runs by status: {counts or 'none'}")
    keyed = runs.assign(**{c: runs[c].astype(str) for c in SETTING})
    settings = keyed.loc[finished.index, SETTING].drop_duplicates().values.tolist()
    tables = []
    for setting in settings:
        mask = (keyed[SETTING] == setting).all(axis=1)
        sub_all, sub = runs[mask], finished[mask.loc[finished.index]]
        built = layout.build(sub)
        apply_verdicts(built)  # one family of claims per launch setting
        for table in built:
            if len(settings) > 1:
                table.name = f"{table.name}-{setting[0]}-{setting[1]}"
            table.context = describe_runs(sub, excluded=len(sub_all) - len(sub))
            tables.append(table)
    return tables

"""Read ferlab's MLflow runs and regenerate the papers' tables, ours beside theirs.

``python -m analysis.report <study>`` is the entry point. The package reads MLflow, or
exports of its runs, only; it imports nothing from ``trainables``, ``study`` or
``search_spaces`` so a report can be rebuilt on a machine that cannot train, and from
exports (``--runs``) on one that has no MLflow store.

Modules: ``runs`` (MLflow → DataFrame), ``export`` (a launch's runs ↔ one file under
``results/<study>/``, read back into the same DataFrame), ``publish`` (the page
``docs/results/<study>.md`` regenerated from those files), ``stats`` (Student-t intervals),
``references`` (the papers' numbers, each with its source), ``paper_claims`` (their
claimed effects, which ``verdicts`` judges), ``cells`` (a table's cells
from runs: groups, intervals, the papers beside us), ``columns`` and ``pairing`` (what it
aggregates, and how an arm meets its control), ``tables`` (the
``Table`` value and its Markdown/LaTeX/CSV renderers), ``layouts`` (which tables a
study gets: one module per study, named like its search space), ``plots`` and
``report`` (the CLI).
"""


class ReportError(Exception):
    """A report cannot be built for a reason the user can fix (unknown study,
    experiment or parent run; no finished trials). The CLI prints the message and
    exits non-zero without a traceback."""

"""Which tables a study gets: one layout module per study, named like its
``search_spaces/<study>.py``, registered by study name.

A layout is a function ``runs -> list[Table]``; ``build_tables`` runs it once per
(dataset, scale, procedural) setting. Most layouts are one ``metric_table`` call:
which run columns make the rows, which metrics make the columns, which paper records
sit beside which row, and optionally which arm is paired against its control. A new
study's ``analysis/layouts/<study>.py`` is a few lines::

    @register_layout("synthetic_ratio", "accuracy by ratio of synthetic images")
    def synthetic_ratio(runs):
        return [metric_table(runs, name="synthetic_ratio", title="...",
                             group_by=["param.ratio"], columns=overall_columns())]

and one line in the import below: registration happens on import, and
tests/test_studies.py fails for a study whose tables have no layout.
"""

from analysis.layouts.registry import (LAYOUTS, SETTING, Layout, build_tables, get_layout, list_layouts,
                                       register_layout)

# Every study's layout module, so that importing the package registers them all.
from analysis.layouts import (baseline, classical_augmentation, cycle_gamma, cycle_gamma_search,  # noqa: F401
                              cyclegan_augmentation, cyclegan_toy, dcgan_svm, fesgan_ablation, fesr_ablation,
                              loss_weights, synthetic_ratio)

__all__ = ["LAYOUTS", "SETTING", "Layout", "build_tables", "get_layout", "list_layouts", "register_layout"]

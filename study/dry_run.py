"""`python -m study.launch <study> --dry-run [--json]`: what a launch would run — each
cell's full trial config and the scale's declared deviations from the paper's recipe —
without starting Ray, loading data or writing anything."""

import json
from argparse import Namespace

from study.domains import described
from study.space import LaunchOptions, check_configs, grid_cells, launch_deviations, trial_space
from study.spec import StudyError, StudySpec
from trainables.core.config import ConfigError
from trainables.data import list_datasets
from trainables.data.registry import OFFICIAL_SPLIT, split_protocol


def plan(study: StudySpec, args: Namespace) -> dict:
    """{"study", "scale", "deviations": {key: why}, "cells": [{"config": {...}}, ...]}: the
    deviations are the scale's and the `--set` keys'; an Optuna study's searched keys
    appear in each config as the call that defines their domain (`choice([...])`,
    `loguniform(lo, hi)`: study.domains), the same text on every run."""
    if args.dataset not in list_datasets():
        raise StudyError(f"unknown dataset {args.dataset!r}; known datasets: {', '.join(list_datasets())}")
    opts = LaunchOptions(scale=args.scale, dataset=args.dataset, data_root=args.data_root, storage_path="",
                         tracking_uri="", num_samples=args.num_samples, cache_dir=args.cache_dir,
                         overrides=args.overrides, cpus_per_trial=args.cpus_per_trial,
                         gpus_per_trial=args.gpus_per_trial)
    space = trial_space(study, opts, args.dataset in OFFICIAL_SPLIT)
    try:
        check_configs(study, space)
    except ConfigError as err:
        raise StudyError(str(err)) from None
    axes, cells = grid_cells(space, study if study.search == "grid" else None)
    fixed = described({k: v for k, v in space.items() if k not in axes})
    found = {"study": study.name, "scale": args.scale, "deviations": launch_deviations(study, opts),
             "recipe": recipe_listing(study),
             "cells": [{"config": {**fixed, **described(cell)}} for cell in cells]}
    if fixed.get("cross_dataset"):
        found["cross_arms"] = cross_arms(fixed)
    return found


def recipe_listing(study: StudySpec) -> list[dict]:
    """Each paper's recipe (study/recipes.py) beside the `paper` scale: per field, the
    config key (or the field, where the trainable fixes it in code), the paper's value and
    source or "not stated" with the value we use and why, and the paper scale's value."""
    listing = []
    for recipe, lines in study.recipe():
        fields = [{"key": line.key, "paper": repr(line.paper.value) if not line.paper.stated else line.paper.value,
                   "source": line.paper.source, **({"ours": line.paper.ours} if line.paper.ours else {}),
                   "paper_scale": line.ours, **({"in_code": line.in_code} if line.in_code else {}),
                   **({"covers": line.covers} if line.covers is not None else {}),
                   "differs": line.differs} for line in lines]
        listing.append({"paper": recipe.paper, "cells": recipe.cells, "fields": fields})
    return listing


def recipe_text(listing: list[dict]) -> list[str]:
    lines = []
    for recipe in listing:
        cells = ", ".join(f"{k}={v}" for k, v in recipe["cells"].items())
        lines.append(f"Recipe of {recipe['paper']}" + (f" (cells {cells})" if cells else "") +
                     " beside the paper scale (study/recipes.py):")
        for f in recipe["fields"]:
            stated = f["source"] if "ours" not in f else f"not stated — {f['ours']}"
            paper = "" if "ours" in f else f"{f['paper']!r} "
            mark = "  ≠ (a deviation, below)" if f["differs"] else ""
            code = f", in code: {f['in_code']}" if "in_code" in f else ""
            ours = (f"paper scale: {f['paper_scale']!r}" if "covers" not in f else
                    f"paper scale takes {f['paper_scale']}" if isinstance(f["paper_scale"], str) else
                    f"paper scale's grid: {f['paper_scale']!r}")
            lines.append(f"  {f['key']}: {paper}({stated}); {ours}{code}{mark}")
    return lines


def cross_arms(config: dict) -> list[str]:
    """The cross-dataset tests each trial makes (trainables.core.cross_data)."""
    arms = [f"blind: tested on {config['cross_dataset']}'s held-out images of the shared classes (blind/...)"]
    if config.get("cross_steps"):
        arms.append(f"finetuned: fine-tuned {config['cross_steps']} steps on {config['cross_dataset']}'s training "
                    "split, epoch chosen on its validation split, tested on the same images (finetuned/test/...)")
    return arms


def dry_run(study: StudySpec, args: Namespace) -> str:
    found = plan(study, args)
    if args.json:
        return json.dumps(found, indent=1, sort_keys=True, default=str)
    lines = [f"{study.name} at scale {args.scale} on {args.dataset}: {len(found['cells'])} trial(s) "
             f"(dry run: nothing started, nothing written)",
             _split_line(args)]
    if study.search == "optuna":
        lines.append("Optuna chooses the searched keys of each trial; shown as their domains.")
    lines += recipe_text(found["recipe"])
    lines.append("Deviations from the paper's recipe:" if found["deviations"] else
                 "Deviations from the paper's recipe: none (the paper scale equals it)." if args.scale == "paper" else
                 "Deviations from the paper's recipe: none (this scale only shrinks sizes).")
    lines += [f"  {key}: {why}" for key, why in found["deviations"].items()]
    lines += [f"Cross-dataset arm {arm}" for arm in found.get("cross_arms", [])]
    lines += budget_lines(found["cells"])
    for n, cell in enumerate(found["cells"]):
        lines.append(f"cell {n}: " + json.dumps(cell["config"], sort_keys=True, default=str))
    return "\n".join(lines)


def budget_lines(cells: list[dict]) -> list[str]:
    """The classifier's optimizer-step budget, where every cell has the same one."""
    budgets = {(c["config"].get("steps"), c["config"].get("epochs"), c["config"].get("max_passes")) for c in cells}
    if len(budgets) != 1:
        return []
    [(steps, epochs, passes)] = budgets
    if not isinstance(steps, int):
        return []
    line = f"Budget: {steps} optimizer steps per trial, validated in {epochs} report rounds"
    if passes is not None:
        line += (f"; capped at {passes:g} passes over the trial's real training images (a small dataset trains "
                 "for passes, not for the scale's steps; every arm of a fold has the same real images, so the same "
                 "budget)")
    return [line]


def _split_line(args: Namespace) -> str:
    protocol = args.overrides.get("protocol", "auto")
    if protocol != "auto":
        return f"Split: protocol {protocol} (set on the command line)"
    return f"Split (protocol auto): {split_protocol(args.dataset)}"

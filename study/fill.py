"""`--fill-missing`: run only the cells of a grid study's launch that have no FINISHED run
in MLflow: trials that failed, were lost, or never ran. It works even when the Tune
experiment directory is gone.

The cells come from the launch's own options, which every parent run records
(`ferlab.launch_options`). A fill is a new launch whose parent run is tagged
`ferlab.fills` with the launch it completes. The report reads that launch and its fills
as one (analysis.runs), so the table regenerates from the union."""

import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from mlflow import MlflowClient

from study.space import PLATFORM_KEYS, LaunchOptions, cell_key, dataset_options, grid_cells, trial_space
from study.spec import StudyError, StudySpec

if TYPE_CHECKING:
    from ray.tune.search import BasicVariantGenerator

OPTIONS_TAG = "ferlab.launch_options"
FILLS_TAG = "ferlab.fills"


def options_tag(scale: str, dataset: str, data_root: str | None, overrides: dict, cache_dir: str | None,
                num_samples: int | None) -> str:
    return json.dumps({"scale": scale, "dataset": dataset, "data_root": data_root, "overrides": overrides,
                       "cache_dir": cache_dir, "num_samples": num_samples})


def fill_target(tracking_uri: str, study: StudySpec, overrides: dict, which: str) -> tuple[str, str, dict, list[str]]:
    """(the experiment id, the launch's parent run id, its recorded options, the ids of it
    and its earlier fills). Everything a fill is refused for that MLflow alone can tell,
    so study.launch answers it before loading data or importing Ray and torch."""
    if study.search != "grid":
        raise StudyError(f"study {study.name!r} is an Optuna search: it has no fixed cells to fill; "
                         "launch more trials instead (--num-samples)")
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(study.name)
    if experiment is None:
        raise StudyError(f"no experiment {study.name!r} in {tracking_uri} to fill (check --tracking-uri)")
    changed = sorted(k for k in overrides if not k.startswith("_"))
    if changed:
        raise StudyError(f"--fill-missing runs the launch's own trial config; --set may change only platform keys "
                         f"({', '.join(PLATFORM_KEYS)}), not {changed}")
    return experiment.experiment_id, *launch_to_fill(client, experiment.experiment_id, which)


def launch_to_fill(client: MlflowClient, experiment_id: str, which: str) -> tuple[str, dict, list[str]]:
    """(the launch's parent run id, its recorded options, the ids of it and its earlier
    fills). `which`: "latest" (the newest launch that is not itself a fill) or a parent
    run id (a fill's id means the launch it fills)."""
    parents = client.search_runs([experiment_id], "tags.`ferlab.role` = 'parent'", order_by=["attributes.start_time DESC"])
    if not parents:
        raise StudyError("this study has no launch in this MLflow store to fill (check --tracking-uri)")
    by_id = {p.info.run_id: p for p in parents}
    if which == "latest":
        root = next((p for p in parents if FILLS_TAG not in p.data.tags), None)
        if root is None:
            raise StudyError("every launch of this study in this store is a fill; name the launch's parent run id")
    elif which in by_id:
        root = by_id.get(by_id[which].data.tags.get(FILLS_TAG, which))
    else:
        raise StudyError(f"no launch with parent run id {which!r}; launches: "
                         + ", ".join(f"{p.info.run_id} ({p.info.run_name})" for p in parents))
    if OPTIONS_TAG not in root.data.tags:
        raise StudyError(f"launch {root.info.run_id} ({root.info.run_name}) does not record its options (it predates "
                         "--fill-missing): relaunch it, or --resume it while its Tune directory exists")
    family = [root.info.run_id] + [p.info.run_id for p in parents if p.data.tags.get(FILLS_TAG) == root.info.run_id]
    return root.info.run_id, json.loads(root.data.tags[OPTIONS_TAG]), family


def missing_cells(client: MlflowClient, experiment_id: str, family: list[str], space: dict,
                  study: StudySpec) -> list[dict]:
    """The grid points of `space` with no FINISHED child run under any of `family` (a
    grid study's: fill_target refuses the others)."""
    axes, cells = grid_cells(space, study)
    done = set()
    for parent in family:
        for run in client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'",
                                      max_results=50_000):
            if run.info.status == "FINISHED" and all(k in run.data.params for k in axes):
                done.add(tuple(run.data.params[k] for k in axes))
    return [cell for cell in cells if cell_key(cell, axes) not in done]


def plan_fill(study: StudySpec, cli: LaunchOptions,
              target: tuple[str, str, dict, list[str]]) -> tuple[LaunchOptions, str, list[dict]]:
    """(the options of the launch to fill, its parent run id, its cells with no FINISHED
    run); `target` is study.fill.fill_target's. The command line may change where and how
    trials run, and platform `_` keys; the trials' own config stays the launch's."""
    experiment_id, root, recorded, family = target
    opts = replace(cli, scale=recorded["scale"], dataset=recorded["dataset"], data_root=recorded["data_root"],
                   cache_dir=recorded["cache_dir"] or cli.cache_dir, num_samples=recorded["num_samples"],
                   overrides={**recorded["overrides"], **cli.overrides})
    from trainables.data import load_dataset  # here: --fill-missing's first check imports MLflow alone

    data = load_dataset(opts.dataset, opts.data_root, cache_dir=opts.cache_dir, images=False,
                        **dataset_options(study, opts))
    space = trial_space(study, opts, data.usage is not None)
    client = MlflowClient(cli.tracking_uri)
    return opts, root, missing_cells(client, experiment_id, family, space, study)


def fill_space(space: dict, cells: list[dict], max_concurrent: int | None = None) -> tuple[dict, "BasicVariantGenerator"]:
    """The param space with its grid axes fixed, and a generator that runs exactly `cells`
    (a fused cell's member axes are in its `_members`, not in the space)."""
    from ray.tune.search import BasicVariantGenerator

    fixed = cell_space(space, cells[0])
    # Each point overrides the fixed values, as meant; Tune warns of every one that differs.
    logging.getLogger("ray.tune.search.variant_generator").setLevel(logging.ERROR)
    # the generator keeps the concurrency limit: Tune's max_concurrent_trials skips a generator
    return fixed, BasicVariantGenerator(points_to_evaluate=[dict(c) for c in cells], max_concurrent=max_concurrent or 0)


def cell_space(space: dict, cell: dict) -> dict:
    """The param space with its grid axes set to `cell`'s values (axes it lacks dropped)."""
    axes = [k for k, v in space.items() if isinstance(v, dict) and "grid_search" in v]
    return {**{k: v for k, v in space.items() if k not in axes or k in cell}, **cell}

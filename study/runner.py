"""Turns a StudySpec, a scale and a dataset into a Ray Tune run with its MLflow parent."""

import json
import os
import time
from dataclasses import replace
from pathlib import Path

from mlflow import MlflowClient
from ray import tune

from study import fill as fills
from study import fusing
from study import optuna_storage
from study import storage
from study import tune_run
from study.tracking import store, trial_runs
from study.tracking.stopper import FinishedTrialStopper
from study.autoscaler import check_feasible
from study.progress import cell_label_keys, progress_display
from study.ray_init import start_ray
from study.space import (LaunchOptions, check_configs, dataset_options,  # noqa: F401 (LaunchOptions re-exported)
                         launch_deviations, platform_keys, trial_resources, trial_space)
from study.spec import StudyError, StudySpec
from trainables.data import load_dataset
from trainables.trials.registry import UnknownTrainable, get_fused_validator, member_axes


def fuse_of(study: StudySpec, opts: LaunchOptions) -> int:
    return study.scales[opts.scale].fuse if opts.fuse is None else opts.fuse


def launch_cells(study: StudySpec, opts: LaunchOptions, space: dict, fill: tuple | None) -> list[dict] | None:
    """The cells this launch runs where they are not Tune's whole grid (a fill's, a shared
    control's, a fused launch's groups), else None."""
    cells = fill[1] if fill is not None else study_cells(study, space)
    fuse = fuse_of(study, opts)
    if fuse == 1:
        return cells
    return fusing.fused_cells(cells if cells is not None else fills.grid_cells(space, study)[1], fuse,
                              member_axes(study.trainable))


def check_groups(study: StudySpec, space: dict, cells: list[dict]) -> None:
    """Validate every fused group with the trainable's own check, in the driver."""
    try:
        parse = get_fused_validator(study.trainable)
    except UnknownTrainable as err:
        raise StudyError(f"study {study.name!r}: {err}; launch it with --fuse 1") from None
    for cell in cells:
        parse([platform_keys(member)[0] for member in fusing.member_configs(fills.cell_space(space, cell))])


def study_cells(study: StudySpec, space: dict) -> list[dict] | None:
    """The grid points to run where they are not the whole product of the axes (a shared
    control arm runs once per seed and fold, an inert axis once), else None: Tune's grid
    runs them all."""
    if study.search != "grid" or not study.runs_some_cells_once:
        return None
    return fills.grid_cells(space, study)[1]


DATA_NOTES_TAG = "ferlab.data_notes"  # the parent run's: the loader's notes, a JSON list


def launch(study: StudySpec, opts: LaunchOptions, resume_path: str | None = None,
           fill: tuple[str, list[dict]] | None = None) -> tuple[tune.ResultGrid, dict]:
    """Run (or resume) the study; returns Tune's results and the launch record. `fill`:
    (the parent run id of the launch it completes, the cells to run)."""
    if resume_path is not None:
        record = storage.read_record(resume_path)
        client = MlflowClient(record["tracking_uri"])
    else:
        # Loading first: bad data fails before any run exists, and the parse cache is warm
        # before trials start.
        fusing.check_fusable(study, fuse_of(study, opts))
        # the driver trains nothing: labels, subjects, usage and the hash are all it reads
        data = load_dataset(opts.dataset, opts.data_root, cache_dir=opts.cache_dir, images=False,
                            **dataset_options(study, opts))
        space = trial_space(study, opts, data.usage is not None)
        check_configs(study, space, data)
        if fuse_of(study, opts) > 1:
            check_groups(study, space, launch_cells(study, opts, space, fill))
        storage.ensure_writable(opts.storage_path)  # a bad bucket or directory fails before Ray and runs
        start_ray(opts.address)  # before the parent run: a cluster that cannot run the trials leaves no run
        check_feasible(*trial_resources(study, opts))
        client = store.open_store(opts.tracking_uri)
        experiment_id = store.ensure_experiment(client, study.name, opts.tracking_uri)
        name = opts.name or f"{study.name}-{opts.dataset}-{opts.scale}-{time.strftime('%Y%m%d-%H%M%S')}"
        storage.refuse_existing(storage.join(opts.storage_path, name), study.name)
        optuna_url = optuna_storage.storage_url(opts.tracking_uri, opts.optuna_storage) if study.search == "optuna" else None
        repro, diff = store.reproducibility_info()
        tags = {"ferlab.study": study.name, "ferlab.dataset": opts.dataset, "ferlab.scale": opts.scale,
                "ferlab.deviations": json.dumps(launch_deviations(study, opts), sort_keys=True),
                "ferlab.procedural": str(data.procedural).lower(), "ferlab.dataset_hash": data.content_hash, **repro,
                # fused members agree with unfused trials to float rounding, not bit for bit (study.fusing)
                "ferlab.fuse": str(fuse_of(study, opts)),
                fills.OPTIONS_TAG: fills.options_tag(opts.scale, opts.dataset, opts.data_root, opts.overrides,
                                                     opts.cache_dir, opts.num_samples)}
        if data.notes:  # what the loader converted, skipped or could not crop: said once, kept with the launch
            print("\n".join(f"data: {note}" for note in data.notes))
            tags[DATA_NOTES_TAG] = json.dumps(list(data.notes))
        if fill is not None:
            tags[fills.FILLS_TAG] = fill[0]
        if optuna_url:
            tags.update({"ferlab.optuna_storage": optuna_storage.shown(optuna_url), "ferlab.optuna_study": name})
        params = {"scale": opts.scale, "dataset": opts.dataset, **{f"set.{k}": v for k, v in opts.overrides.items()}}
        parent = store.start_parent(client, experiment_id, name, tags, params, diff)
        record = {"study": study.name, "name": name, "scale": opts.scale, "dataset": opts.dataset,
                  "data_root": str(Path(opts.data_root).resolve()) if opts.data_root else None, "tracking_uri": opts.tracking_uri, "experiment_id": experiment_id,
                  "parent_run_id": parent, "procedural": data.procedural, "overrides": opts.overrides, "official_split": data.usage is not None,
                  "run_tags": {k: v for k, v in tags.items() if k not in (fills.OPTIONS_TAG, DATA_NOTES_TAG)}, "fills": fill[0] if fill else None, "cells": fill[1] if fill else None,
                  "optuna_storage": optuna_url, "fuse": fuse_of(study, opts),
                  "cpus_per_trial": opts.cpus_per_trial, "gpus_per_trial": opts.gpus_per_trial}
        storage.write_record(storage.join(opts.storage_path, name), record)
    progress = None  # a resumed launch's display comes back with Tune's restored callbacks
    try:
        start_ray(opts.address)
        check_feasible(*trial_resources(study, opts))
        trainable = tune_run.tune_trainable(study, opts)
        space = trial_space(study, opts, record["official_split"])
        # the recorded fuse and fill: a resume must hand Tune the space it started from
        opts = replace(opts, fuse=record.get("fuse", 1))
        cells = launch_cells(study, opts, space, fill or ((record["fills"], record["cells"]) if record.get("cells") else None))
        if cells is not None:
            space, points = fills.fill_space(space, cells, opts.max_concurrent)
        # Tune's own per-trial logs (progress.csv, result.json, TensorBoard files) repeat what
        # MLflow records, at a write per report per trial: off unless the environment sets them.
        os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
        if resume_path is not None:
            # The restored RunConfig brings back its TrialRunLogger, pointed at the same parent run.
            tuner = tune.Tuner.restore(str(resume_path), trainable=trainable, resume_errored=True, param_space=space)
            client.update_run(record["parent_run_id"], status="RUNNING")
        else:
            # A bucket keeps every checkpoint: Tune uploads its experiment snapshot after it
            # deletes the checkpoints the older snapshot names, so with num_to_keep a driver
            # killed in between leaves trials that cannot restore (tests/test_cloud_storage.py
            # met it). The snapshot goes up every 10 s.
            cloud = storage.is_uri(opts.storage_path)
            # num_to_keep=1 forces a snapshot at every checkpoint, by design: Tune's warning
            # that snapshots come often would repeat all launch long.
            os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
            # Every child carries what reproduces it: commit, dirty flag, versions, data hash.
            logger = trial_runs.TrialRunLogger(record["tracking_uri"], record["experiment_id"], record["parent_run_id"],
                                             record["run_tags"], study.variant_keys)
            # verbose=0: Tune's status tables and per-trial result dumps give way to a few
            # lines per state change (study.progress).
            tune_config = tune_run.tune_config(study, opts, record["name"], record.get("optuna_storage"))
            # the trials to come: Tune makes them one by one as slots free up under a concurrency limit
            total = (len(cells) if cells is not None else tune_config.num_samples if study.search == "optuna"
                     else len(fills.grid_cells(space, study)[1]))
            progress = progress_display(study.metric, total=total, label_keys=cell_label_keys(cells))
            run_config = tune.RunConfig(
                name=record["name"], storage_path=opts.storage_path, verbose=0,
                callbacks=[logger, progress],
                stop=FinishedTrialStopper(record["tracking_uri"], record["experiment_id"],
                                                   record["parent_run_id"]),
                failure_config=tune.FailureConfig(
                    max_failures=study.max_failures if opts.retries is None else opts.retries),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=None if cloud else 1),
                sync_config=tune.SyncConfig(sync_period=10, sync_artifacts=True) if cloud else None,
            )
            if cells is not None:
                tune_config.search_alg, tune_config.num_samples = points, len(cells)
                tune_config.max_concurrent_trials = None
            tuner = tune.Tuner(trainable, param_space=space, tune_config=tune_config, run_config=run_config)
        try:
            results = tuner.fit()
        finally:
            if progress is not None:
                progress.close()  # a live status ends before the report prints, however fit ended
    except BaseException:
        client.set_terminated(record["parent_run_id"], "KILLED")
        raise
    # Tune returns normally on Ctrl-C (and its ResultGrid counts the interrupted trial as
    # terminated): the saved experiment state says which trials are left to resume.
    trials = tune.ExperimentAnalysis(results.experiment_path, storage_filesystem=results.filesystem).trials
    record["unfinished"] = sum(t.status not in ("TERMINATED", "ERROR") for t in trials)
    record["failed"] = [{"trial_id": t.trial_id, "attempts": t.num_failures, "error": trial_runs.error_summary(t)}
                        for t in trials if t.status == "ERROR"]
    record["failed"] += failed_members(client, record)
    if record["unfinished"]:
        status = "KILLED"
    else:
        status = "FAILED" if record["failed"] else "FINISHED"
    client.set_terminated(record["parent_run_id"], status)
    return results, record


def failed_members(client: MlflowClient, record: dict) -> list[dict]:
    """The fused members that failed alone (their groups went on), as record["failed"] lists trials."""
    if record.get("fuse", 1) == 1:
        return []
    runs = client.search_runs([record["experiment_id"]], f"tags.`mlflow.parentRunId` = '{record['parent_run_id']}' "
                              f"and tags.`{trial_runs.MEMBER_FAILED_TAG}` = 'true'", max_results=50_000)
    return [{"trial_id": run.data.tags["ferlab.trial_id"], "attempts": 1 + int(run.data.tags.get("ferlab.retries", 0)),
             "error": run.data.tags.get("ferlab.error", "")} for run in runs]

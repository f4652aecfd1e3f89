"""What a launch refuses before it starts Ray or imports torch and Ray Tune, so that a
typo, a taken name or a resume asked with other resources answers in about a second; and
which launch directory a `--resume` continues."""

import argparse
from pathlib import Path

from study import storage
from study.spec import StudyError


def check_before_ray(study, args: argparse.Namespace, storage_root: str) -> tuple | None:
    """Refusals that need neither Ray nor the heavy imports (torch, Ray Tune), made before
    either: they answer in about a second. For a fill, study.fill.fill_target's answer."""
    if args.resume:
        recorded_resources(args, storage.read_record(find_resume_dir(storage_root, study.name, args.resume)))
        return None
    from study.fusing import check_fusable

    check_fusable(study, study.scales[args.scale].fuse if args.fuse is None else args.fuse)
    if args.fill_missing:
        from study.fill import fill_target  # MLflow is all it imports

        return fill_target(storage.resolve_tracking_uri(args.tracking_uri), study, args.overrides, args.fill_missing)
    refuse_new_launch(study, args, storage_root)
    return None


def refuse_new_launch(study, args: argparse.Namespace, storage_root: str) -> None:
    """A dataset name that is not registered, storage that cannot be written, a --name
    already taken, a trial config the trainable rejects (an unknown `--set` key, a value
    of the wrong type). runner.launch checks the data and every trial config again, with
    the dataset loaded, before any run exists."""
    from study.space import LaunchOptions, check_configs, trial_space
    from trainables.core.config import ConfigError
    from trainables.data.registry import OFFICIAL_SPLIT, list_datasets

    if args.dataset not in list_datasets():
        raise StudyError(f"unknown dataset {args.dataset!r}; known datasets: {', '.join(list_datasets())}")
    storage.ensure_writable(storage_root)
    if args.name:
        storage.refuse_existing(storage.join(storage_root, args.name), study.name)
    opts = LaunchOptions(scale=args.scale, dataset=args.dataset, data_root=args.data_root, storage_path=storage_root,
                         tracking_uri="", num_samples=args.num_samples, cache_dir=args.cache_dir,
                         overrides=args.overrides, cpus_per_trial=args.cpus_per_trial,
                         gpus_per_trial=args.gpus_per_trial)
    try:
        check_configs(study, trial_space(study, opts, args.dataset in OFFICIAL_SPLIT))
    except ConfigError as err:
        raise StudyError(str(err)) from None


def find_resume_dir(storage_root: str, study: str, which: str) -> str:
    """The launch directory to resume (a path or a URI): `which` names a launch under the
    storage, gives its directory or URI, or is "latest"."""
    if which == "latest":
        found = storage.latest_launch(storage_root, f"{study}-")
        if found is None:
            raise StudyError(f"no earlier launch of {study!r} under {storage_root} to resume")
        return found
    if storage.is_uri(which):
        location = which.rstrip("/")
    elif Path(which).is_absolute() or Path(which).exists():
        location = str(Path(which).resolve())
    else:
        location = storage.join(storage_root, which)
    if storage.read_record(location) is None:
        raise StudyError(f"{location} is not a ferlab launch directory (no {storage.RECORD} in it)")
    return location


def recorded_resources(args: argparse.Namespace, record: dict) -> None:
    """A resume runs its trials on the resources the launch gave them (`--cpus-per-trial`
    also sets each trial's threads, part of its config); a flag that asks for others is
    refused. Records written before they kept the resources leave the flags as given."""
    for key in ("cpus_per_trial", "gpus_per_trial"):
        if key not in record:
            continue
        given, recorded = getattr(args, key), record[key]
        if given is not None and given != recorded:
            flag = "--" + key.replace("_", "-")
            launched = f"{flag} {recorded:g}" if recorded is not None else f"the scale's default (no {flag})"
            raise StudyError(f"--resume continues launch {record['name']} as it was launched, with {launched}; "
                             f"got {flag} {given:g}: resume without {flag}, or start a new launch")
        setattr(args, key, recorded)

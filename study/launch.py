"""`python -m study.launch <study>`: run a study on Ray Tune, tracked in MLflow, and print
its regenerated table.

    python -m study.launch --list
    python -m study.launch baseline --scale smoke
    python -m study.launch baseline --scale cpu --dataset fer2013 --data-root ../shared/datasets/fer2013
    python -m study.launch baseline --resume            # continue the latest baseline launch
    python -m study.launch cycle_gamma --set gan_epochs=2 --set epochs=4   # override config keys
    python -m study.launch cyclegan_augmentation --set 'arm=["baseline","dag"]'   # a grid axis's values
    python -m study.launch synthetic_ratio --cross-dataset fer2013 --cross-root ../shared/datasets/fer2013  # blind set
    python -m study.launch cycle_gamma --scale cpu --dry-run [--json]   # what it would run; runs nothing
"""

import argparse
import atexit
import importlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from study import storage
from study.spec import SCALES, StudyError, list_studies, load_study


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m study.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", nargs="?", help="a module of search_spaces/ (see --list)")
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--scale", choices=SCALES, default="smoke")
    parser.add_argument("--dataset", default="synthfaces", help="a registered dataset name (default: synthfaces)")
    parser.add_argument("--data-root", help="where the dataset's files are")
    parser.add_argument("--cross-dataset", help="a second dataset tested on the classes both share, for studies "
                                                "that have one (baseline, synthetic_ratio): a registered dataset name")
    parser.add_argument("--cross-root", help="where the cross dataset's files are")
    parser.add_argument("--cache-dir", help="parsed-dataset cache (default: $FERLAB_CACHE_DIR or ~/.cache/ferlab)")
    parser.add_argument("--num-samples", type=int, help="Optuna trials; for a grid study, the number of seeds (0..N-1)")
    parser.add_argument("--max-concurrent", type=int, help="trials at a time (default: as many as resources allow)")
    parser.add_argument("--address", help="join a running Ray cluster ('auto' or HOST:PORT); default: a new Ray of its own on this machine, even where a cluster runs")
    parser.add_argument("--storage-path", default="ray_results",
                        help="where Tune keeps trial state and checkpoints; on a cluster, a directory every node "
                             "can reach (default: ./ray_results)")
    parser.add_argument("--name", help="the launch's name under --storage-path (default: study-dataset-scale-time); "
                                       "an existing one is refused: continue it with --resume NAME")
    parser.add_argument("--cpus-per-trial", type=float, help="CPUs per trial (default: the study scale's)")
    parser.add_argument("--gpus-per-trial", type=float,
                        help="GPUs per trial; a fraction packs trials onto one GPU (default: the study scale's)")
    parser.add_argument("--fuse", type=int, metavar="K",
                        help="train up to K trials of one variant (its seeds × folds) as one stacked model, each still "
                             "its own MLflow run (default: the study scale's, usually 1); classifier studies")
    parser.add_argument("--retries", type=int, help="how often a failing trial is retried from its last checkpoint "
                        "before it counts as failed (default: the study's, usually 2)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    parser.add_argument("--optuna-storage", help="database for an Optuna-searched study (default: beside the MLflow "
                                                 "store: optuna.db beside an SQLite one, the 'optuna' schema of a "
                                                 "PostgreSQL one, ./optuna.db when logging to a server)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override one trial config key after the scale's (VALUE read as JSON, else as text; "
                             "on a grid axis a JSON list gives the axis's values); repeatable")
    parser.add_argument("--fill-missing", nargs="?", const="latest", metavar="PARENT_RUN_ID",
                        help="run only the cells of a grid launch (default: the study's latest in this MLflow store) "
                             "that have no FINISHED run, even without its Tune directory; the report joins them")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="RUN_DIR",
                        help="continue an interrupted launch: its directory under --storage-path, or the latest one")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each cell's full trial config and the scale's deviations from the paper's "
                             "recipe; start no Ray, write nothing")
    parser.add_argument("--json", action="store_true", help="with --dry-run: print one JSON object")
    args = parser.parse_args(argv)
    if not args.list and not args.study:
        parser.error("name a study (see --list)")
    if args.retries is not None and args.retries < 0:
        parser.error(f"--retries must be 0 or more, got {args.retries}")
    if args.json and not args.dry_run:
        parser.error("--json goes with --dry-run")
    if args.dry_run and (args.resume or args.fill_missing):
        parser.error("--dry-run shows a new launch; it does not combine with --resume or --fill-missing")
    args.overrides = dict(parse_override(parser, item) for item in args.overrides)
    for flag, key in (("cross_dataset", "cross_dataset"), ("cross_root", "cross_root")):
        if getattr(args, flag) is not None:
            args.overrides[key] = getattr(args, flag)
    return args


def parse_override(parser: argparse.ArgumentParser, item: str) -> tuple[str, object]:
    key, sep, text = item.partition("=")
    if not sep or not key:
        parser.error(f"--set needs KEY=VALUE, got {item!r}")
    try:
        return key, json.loads(text)
    except json.JSONDecodeError:
        return key, text


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


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        for name in list_studies():
            print(f"{name:28s} {load_study(name).description}")
        return 0
    try:  # before the heavy imports (Ray, MLflow, torch): a typo answers at once
        study = load_study(args.study)
        storage_root = storage.resolve(args.storage_path)
    except StudyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.dry_run:
        from study.dry_run import dry_run

        try:
            study.check_recipe()
            print(dry_run(study, args))
        except StudyError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    try:
        target = check_before_ray(study, args, storage_root)
        study.check_recipe()
    except StudyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    quiet_libraries()
    if args.address is None and not args.fill_missing:  # a fill may find nothing to run
        start_local_ray_while_importing()
    elif args.address:  # a cluster that wants a token it cannot have answers before the heavy imports too
        from study.ray_init import use_token_if_cluster_wants_one

        try:
            use_token_if_cluster_wants_one(args.address)
        except StudyError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    from analysis.console import console_report
    from analysis.report import write_report
    from study.runner import LaunchOptions, launch, plan_fill
    from trainables.core.config import ConfigError
    from trainables.data import DataError

    try:
        resume_dir = find_resume_dir(storage_root, study.name, args.resume) if args.resume else None
        if resume_dir is not None:
            record = storage.read_record(resume_dir)
            args.scale, args.dataset, args.data_root = record["scale"], record["dataset"], record["data_root"]
            args.overrides = record.get("overrides", {})
            tracking_uri = record["tracking_uri"]
        else:
            tracking_uri = storage.resolve_tracking_uri(args.tracking_uri)
        opts = LaunchOptions(scale=args.scale, dataset=args.dataset, data_root=args.data_root,
                             storage_path=storage_root, tracking_uri=tracking_uri, num_samples=args.num_samples,
                             max_concurrent=args.max_concurrent, address=args.address, cache_dir=args.cache_dir,
                             overrides=args.overrides, cpus_per_trial=args.cpus_per_trial,
                             gpus_per_trial=args.gpus_per_trial, name=args.name, optuna_storage=args.optuna_storage,
                             retries=args.retries, fuse=args.fuse)
        fill = None
        if args.fill_missing:
            if resume_dir is not None:
                raise StudyError("--fill-missing and --resume exclude each other: resume continues one Tune "
                                 "experiment, a fill starts a new one for the cells MLflow lacks")
            opts, root, cells = plan_fill(study, opts, target)
            if not cells:
                print(f"Nothing to fill: every cell of launch {root} has a FINISHED run.\n")
                print(console_report([(Path("reports") / name, write_report(name, opts.tracking_uri, root))
                                      for name in study.tables]))
                return 0
            print(f"Filling {len(cells)} cell(s) of launch {root}: " + "; ".join(map(str, cells)))
            fill = (root, cells)
        results, record = launch(study, opts, resume_dir, fill)
    except (StudyError, DataError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    unfinished = record["unfinished"]
    fused = f", {record['fuse']} seeds × folds fused in each" if record.get("fuse", 1) > 1 else ""
    print(f"\nTrials: {len(results)}{fused} ({len(record['failed'])} failed, {unfinished} unfinished)")
    for failed in record["failed"]:
        print(f"  FAILED {failed['trial_id']} after {failed['attempts']} attempt(s): {failed['error']}")
    print(f"Tune state:  {resume_dir or storage.join(storage_root, record['name'])}  (resume with --resume {record['name']})")
    print(f"MLflow runs: {record['tracking_uri']}  experiment '{study.name}', parent run {record['parent_run_id']}")
    print(f"Report:      python -m analysis.report {study.name} --tracking-uri {record['tracking_uri']}")
    print(f"Export:      python -m analysis.export {study.name} --tracking-uri {record['tracking_uri']} "
          f"--parent {record['parent_run_id']}   (to results/{study.name}/, for the repository)\n")
    if unfinished:
        print(f"Interrupted: continue with  python -m study.launch {study.name} --resume {record['name']}")
        return 130
    print(console_report([(Path("reports") / name, report_to_parent(name, record["tracking_uri"], record["parent_run_id"]))
                          for name in study.tables]))
    return 1 if record["failed"] else 0


def quiet_libraries() -> None:
    """Leave the console to the launch's own progress lines and tables: Tune's new output
    engine prints its experiment box and a TensorBoard hint even at `verbose=0` (the old
    one, at 0, prints nothing), MLflow a line per schema step of a new SQLite store and a
    progress bar per artifact the report reads, Tune a line when it saves its state.
    Set variables are left as the user set them."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration", "ray.tune.tune"):
        logging.getLogger(name).setLevel(logging.WARNING)


def start_local_ray_while_importing() -> None:
    """Start the launch's own Ray while another thread imports what the launch needs (Ray
    Tune, MLflow, torch, pandas). Ray's start is mostly waiting on its own processes, so
    the two overlap and the launch gets under way sooner.
    `ray.init` stays in the main thread: a Ray started from another thread loses its GCS."""
    from study.ray_init import start_ray

    failed = []

    def heavy_imports():
        try:
            for module in ("study.runner", "analysis.console"):
                importlib.import_module(module)
        except BaseException as err:  # re-raised in the main thread
            failed.append(err)

    thread = threading.Thread(target=heavy_imports, name="ferlab-imports")
    thread.start()
    try:
        start_ray(None)
    finally:
        thread.join()
    if failed:
        raise failed[0]


def report_to_parent(table: str, tracking_uri: str, parent_run_id: str) -> list:
    """The launch's regenerated table (Markdown, LaTeX, CSV, plots) written to
    reports/<table>/ and attached to its parent run under report/<table>/, so the MLflow
    UI shows it beside the runs it came from; returns its tables, for the console."""
    from mlflow import MlflowClient

    from analysis.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        tables = write_report(table, tracking_uri=tracking_uri, parent=parent_run_id, out_dir=tmp)
        shutil.copytree(tmp, Path("reports") / table, dirs_exist_ok=True)
        MlflowClient(tracking_uri).log_artifacts(parent_run_id, tmp, artifact_path=f"report/{table}")
    return tables


def exit_now(code: int) -> None:
    """Exit after the exit handlers (Ray's shutdown, MLflow's and logging's flushes) but
    without the interpreter's module teardown: with torch, Ray, MLflow and pandas loaded
    that teardown is slow and comes after the launch's work is done.
    `atexit._run_exitfuncs` is CPython's own (unlisted) way to run those handlers now."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def quiet_broken_pipe() -> int:
    """The reader of stdout went away (`--dry-run | head`): no traceback for it, and
    stdout at /dev/null for the flushes still to come; the exit status says the output
    was cut short."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1


if __name__ == "__main__":
    try:
        code = main()
    except BrokenPipeError:
        code = quiet_broken_pipe()
    exit_now(code)

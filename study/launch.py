"""`python -m study.launch <study>`: run a study on Ray Tune, tracked in MLflow, and print
its regenerated table. The command line is study/arguments.py, the refusals made before
Ray starts study/preflight.py, the trials' launch study/runner.py."""

import shutil
import sys
import tempfile
from pathlib import Path

from study import storage
from study.arguments import parse_args
from study.launch_process import exit_now, quiet_broken_pipe, quiet_libraries, start_local_ray_while_importing
from study.preflight import check_before_ray, find_resume_dir
from study.spec import StudyError, list_studies, load_study


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
    from study.fill import plan_fill
    from study.runner import LaunchOptions, launch
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


if __name__ == "__main__":
    try:
        code = main()
    except BrokenPipeError:
        code = quiet_broken_pipe()
    exit_now(code)

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

# The launch's command line; the docstring above is `--help`'s description.

import argparse
import json

from study.spec import SCALES


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

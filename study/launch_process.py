"""The launch process itself, apart from what it launches: a console left to the launch's
own lines, its own Ray started while the heavy imports load, a fast exit, and a reader of
its output that goes away."""

import atexit
import importlib
import logging
import os
import sys
import threading


def quiet_libraries() -> None:
    """Leave the console to the launch's own progress lines and tables: Tune's new output
    engine prints its experiment box and a TensorBoard hint even at `verbose=0` (the old
    one, at 0, prints nothing), MLflow a line per schema step of a new SQLite store and a
    progress bar per artifact the report reads, Tune a line when it saves its state, and
    Tune's results a warning line per trial that its progress.csv and result.json are
    missing: a launch turns those loggers off (MLflow holds the metrics).
    Set variables are left as the user set them."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration", "ray.tune.tune"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)


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

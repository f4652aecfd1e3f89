"""The platform's overhead: what a launch through `python -m study.launch` costs beyond the
very same trainings run in a plain 2-process loop, as a user pays it on a launch of 20
trials of a minute each.

One short launch cannot say that: its fixed costs (Ray's start, the driver's imports, the
MLflow store) weigh far more on seconds-long trials than on minute-long ones. So launches
of several shapes (trials × reports per trial) each run beside their own loop, one after
the other in turn, so that drift of the machine's speed falls on both sides alike. Their
extra wall time is fitted as

    launch − loop = per_launch + per_trial · n/2 + per_report · n·r/2

(2 trials at a time: n trials are n/2 rounds of wall time), and the fit predicts the ratio
for the goal's launch: 20 trials of 60 s of training, each reporting as often as the
loop's epochs take."""

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.rows import Row
from bench.training import train_once

GOAL_OVERHEAD = 1.05  # ferlab-12
GOAL_TRIALS, GOAL_TRIAL_S = 20, 60.0  # the launch the goal is stated for (ferlab-18)
QUICK_SHAPES = ((2, 2), (4, 2), (2, 8), (4, 8))  # (trials, epochs); each epoch is a report
FULL_SHAPES = ((2, 4), (6, 4), (2, 16), (6, 16))


def _launch_trials(cwd: str, n_trials: int, epochs: int, n_images: int) -> tuple[float, list[dict]]:
    """`python -m study.launch` of n short baseline trials, 2 at a time, in `cwd`: its wall
    seconds and the configs it gave its trials (read back from Tune's experiment state)."""
    store = f"sqlite:///{cwd}/mlflow.db"
    from mlflow import MlflowClient

    MlflowClient(store).search_experiments()  # a researcher's store exists already: not timed
    command = [sys.executable, "-m", "study.launch", "baseline", "--set", "net=zhu_cnn", "--set", "width=0.25",
               "--set", f"epochs={epochs}", "--set", "steps=null", "--set", f"seed={list(range(n_trials))}",
               "--set", f"dataset_options={json.dumps({'n_images': n_images, 'n_subjects': 24})}",
               "--max-concurrent", "2", "--cpus-per-trial", "1", "--tracking-uri", store]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "FERLAB_CACHE_DIR": cwd}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    launch_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the launch failed ({done.returncode}): {done.stderr[-2000:]}")
    from ray import tune

    (experiment,) = Path(cwd, "ray_results").iterdir()
    trials = tune.ExperimentAnalysis(str(experiment)).trials
    return launch_s, [{k: v for k, v in t.config.items() if not k.startswith("_")} for t in trials]


def _loop(configs: list[dict], cwd: str, train) -> tuple[float, list[float]]:
    """The same trainings in a plain pool of 2 fresh processes: its wall and each training's seconds."""
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        trial_s = pool.starmap(train, [(config, cwd) for config in configs])
    return time.perf_counter() - start, trial_s


def measure_shape(n_trials: int, epochs: int, n_images: int, launch, train) -> dict:
    with tempfile.TemporaryDirectory() as cwd:
        launch_s, configs = launch(cwd, n_trials, epochs, n_images)
        if len(configs) != n_trials:
            raise RuntimeError(f"expected {n_trials} trial configs from the launch, found {len(configs)}")
        loop_s, trial_s = _loop(configs, cwd, train)
    return {"trials": n_trials, "reports": epochs, "launch_s": launch_s, "loop_s": loop_s, "trial_s": trial_s}


def fit_fixed_costs(shapes: list[dict]) -> dict:
    """Non-negative least squares of launch − loop on (1, n/2, n·r/2): seconds per launch,
    per trial and per report. A cost is never negative: where noise would fit one below
    zero (a launch cannot save time per trial), it is zero and the others take the rest,
    rather than a negative cost flattering the predicted ratio."""
    from scipy.optimize import nnls

    rows = np.array([[1.0, s["trials"] / 2, s["trials"] * s["reports"] / 2] for s in shapes])
    extra = np.array([s["launch_s"] - s["loop_s"] for s in shapes])
    (per_launch, per_trial, per_report), _ = nnls(rows, extra)
    return {"per_launch_s": float(per_launch), "per_trial_s": float(per_trial), "per_report_s": float(per_report)}


def fit_training_time(shapes: list[dict]) -> dict:
    """A loop training's seconds as start + per_epoch · epochs (least squares over every training)."""
    epochs = np.concatenate([[s["reports"]] * len(s["trial_s"]) for s in shapes]).astype(float)
    seconds = np.concatenate([s["trial_s"] for s in shapes])
    per_epoch, start = np.polyfit(epochs, seconds, 1)
    return {"start_s": float(start), "per_epoch_s": float(per_epoch)}


def predicted_ratio(costs: dict, training: dict, n_trials: int = GOAL_TRIALS, trial_s: float = GOAL_TRIAL_S) -> dict:
    """Launch over loop for n trials of `trial_s` seconds, each reporting once an epoch."""
    reports = max(1.0, (trial_s - training["start_s"]) / training["per_epoch_s"])
    loop = n_trials / 2 * trial_s
    launch = loop + costs["per_launch_s"] + costs["per_trial_s"] * n_trials / 2 \
        + costs["per_report_s"] * n_trials * reports / 2
    return {"reports_per_trial": reports, "loop_s": loop, "launch_s": launch, "ratio": launch / loop}


def bench_platform_overhead(quick: bool, shapes=None, n_images: int = 1200, launch=_launch_trials,
                            train=train_once) -> Row:
    """Launches of each shape (trials, epochs) beside the same trainings in a loop, in
    turn; the fit of their fixed costs, and the ratio it predicts for the goal's launch.
    `launch` and `train` are the two sides (a test plants ones of known cost)."""
    shapes = shapes or (QUICK_SHAPES if quick else FULL_SHAPES)
    figure = (f"platform overhead: a launch of {GOAL_TRIALS} trials of {GOAL_TRIAL_S:.0f} s vs the same trainings "
              f"in a plain loop, 2 at a time (fitted from {len(shapes)} launches)")
    measured = [measure_shape(n, epochs, n_images, launch, train) for n, epochs in shapes]
    costs, training = fit_fixed_costs(measured), fit_training_time(measured)
    goal = predicted_ratio(costs, training)
    largest = max(measured, key=lambda s: s["loop_s"])
    return Row(figure=figure, ours=f"{goal['launch_s']:.0f} s launch (predicted)",
               comparison=f"{goal['loop_s']:.0f} s loop", ratio=goal["ratio"], goal=f"≤ {GOAL_OVERHEAD}",
               passed=goal["ratio"] <= GOAL_OVERHEAD,
               note=(f"fixed costs {costs['per_launch_s']:.1f} s a launch, {costs['per_trial_s']:.2f} s a trial, "
                     f"{costs['per_report_s']:.3f} s a report ({goal['reports_per_trial']:.0f} reports a trial); "
                     f"largest launch measured: {largest['launch_s'] / largest['loop_s']:.2f}× "
                     f"({largest['trials']} trials of {np.mean(largest['trial_s']):.0f} s)"),
               measured={"shapes": measured, **costs, **training, "goal_launch": goal})

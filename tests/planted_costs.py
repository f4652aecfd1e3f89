"""Trainings and launches of known cost for the bench's tests (tests/test_bench.py): the
figure a benchmark reports must find the cost planted in what it measures. They live in a
module of their own because the bench runs trainings in spawned processes, which import
them by name."""

import fcntl
import multiprocessing
import time
from pathlib import Path


def sleeping_training(config: dict, cache_dir: str) -> float:
    """A "training" of `config["planted_s"]` seconds that needs no CPU: two side by side
    take the time of one."""
    time.sleep(config["planted_s"])  # sleep-rule: the planted cost itself, no wait for an event
    return config["planted_s"]


def one_at_a_time_training(config: dict, cache_dir: str) -> float:
    """As `sleeping_training`, holding a lock all of them share: two take twice one's time."""
    with open(Path(cache_dir) / "planted.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return sleeping_training(config, cache_dir)


class LaunchWithFixedCosts:
    """A stand-in for `study.launch` of trials that "train" `epoch_s` an epoch (the loop's
    training), 2 at a time, plus planted fixed costs: `per_launch_s` once, `per_trial_s`
    in each trial and `per_report_s` at each of its epochs."""

    def __init__(self, epoch_s: float, per_launch_s: float, per_trial_s: float, per_report_s: float):
        self.epoch_s, self.per_launch_s, self.per_trial_s, self.per_report_s = (epoch_s, per_launch_s, per_trial_s,
                                                                                per_report_s)

    def __call__(self, cwd: str, n_trials: int, epochs: int, n_images: int) -> tuple[float, list[dict]]:
        configs = [{"planted_s": epochs * self.epoch_s, "seed": seed} for seed in range(n_trials)]
        launched = epochs * (self.epoch_s + self.per_report_s) + self.per_trial_s
        start = time.perf_counter()
        time.sleep(self.per_launch_s)  # sleep-rule: the planted cost itself, no wait for an event
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            pool.starmap(sleeping_training, [({"planted_s": launched}, cwd)] * n_trials)
        return time.perf_counter() - start, configs

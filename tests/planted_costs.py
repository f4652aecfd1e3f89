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


class LaunchWithFixedCost:
    """A stand-in for `study.launch` whose trials each take `fixed_s` longer than the same
    training run in a loop, 2 at a time as the bench's launch runs them."""

    def __init__(self, trial_s: float, fixed_s: float):
        self.trial_s, self.fixed_s = trial_s, fixed_s

    def __call__(self, cwd: str, n_trials: int, epochs: int, n_images: int) -> tuple[float, list[dict]]:
        configs = [{"planted_s": self.trial_s, "seed": seed} for seed in range(n_trials)]
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            pool.starmap(sleeping_training, [({"planted_s": self.trial_s + self.fixed_s}, cwd)] * n_trials)
        return time.perf_counter() - start, configs

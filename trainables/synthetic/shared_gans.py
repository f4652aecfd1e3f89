"""Generators a whole study shares (the synthetic-ratio study's identity source and
StarGAN): trained once per key, whichever trial gets there first, while the others wait
on a file lock and then load the result. Training saves a partial checkpoint every few
hundred iterations next to the final file, so a trial killed mid-training — or another
trial that takes over — resumes from there, not from scratch."""

from pathlib import Path
from typing import Callable, Protocol

import torch

from trainables.gans.checkpoint import load_checkpoint, save_checkpoint
from trainables.gans.contract import GANBundle
from trainables.core.caches import file_lock, torch_save_atomic


class IterativeTrainer(Protocol):
    bundle: GANBundle

    def step(self, t: int) -> dict[str, float]: ...


def train_resumable(trainer: IterativeTrainer, iters: int, partial: Path, save_every: int = 200) -> dict[str, float]:
    """Run `trainer.step(t)` for t up to `iters`, resuming from `partial` when it exists
    and saving to it every `save_every` iterations; returns the mean of each loss over
    the last `save_every` iterations."""
    t = 0
    if partial.exists():
        t = load_checkpoint(partial, trainer.bundle, map_location="cpu")["t"]
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    while t < iters:
        if t % save_every == 0:
            sums, counts = {}, {}
        for name, value in trainer.step(t).items():
            sums[name] = sums.get(name, 0.0) + value
            counts[name] = counts.get(name, 0) + 1
        t += 1
        if t % save_every == 0 and t < iters:
            save_checkpoint(partial, trainer.bundle, t=t)
    return {k: v / counts[k] for k, v in sums.items()}


def shared_state(path: Path, build: Callable[[Path], dict]) -> tuple[dict, bool]:
    """(the state stored at `path`, whether it was already there). On a miss,
    `build(partial_path)` makes it under the lock; it is saved atomically and the
    partial checkpoint removed."""
    with file_lock(path):
        if path.exists():
            return torch.load(path, map_location="cpu", weights_only=False), True
        partial = path.with_name(path.name + ".partial")
        state = build(partial)
        torch_save_atomic(state, path)
        partial.unlink(missing_ok=True)
        return state, False

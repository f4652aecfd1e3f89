"""The content-addressed store of generated (synthetic) image sets.

A set is named by what determines it: the generator's weights hash, the class, the
count, the sampling seed and the name of the draw of the generator's inputs (a changed
draw makes new names, so a set made by an older draw is never served). Any trial that needs the same set — another arm, seed of
the classifier, or a resumed trial — loads it instead of generating it again. Writes
go through the `atomic` package, so a killed writer leaves no half set.

Beside it, the two primitives every cache here stands on: an atomic torch.save and a
file lock under which one trial builds what the others then load."""

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from atomic import atomic_file
from trainables.data.cache import cache_root, sha256_json


def state_hash(module: torch.nn.Module) -> str:
    """sha256 of a module's state (names, dtypes, shapes and bytes, in name order)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def synthetic_path(cache_dir, generator_hash: str, class_name: str, count: int, seed: int, draw: str) -> Path:
    key = sha256_json({"generator": generator_hash, "class": class_name, "count": count, "seed": seed, "draw": draw})
    return cache_root(cache_dir) / "synthetic" / f"{class_name}-{count}-{key[:32]}.npz"


def synthetic_set(cache_dir, generator_hash: str, class_name: str, count: int, seed: int,
                  generate: Callable[[], np.ndarray], *, draw: str) -> tuple[np.ndarray, bool]:
    """(uint8 count×H×W images, whether they came from the cache). `generate` runs
    only on a miss, and must return exactly `count` uint8 images."""
    path = synthetic_path(cache_dir, generator_hash, class_name, count, seed, draw)
    if path.exists():
        with np.load(path) as stored:
            if str(stored["generator"]) == generator_hash and len(stored["images"]) == count:
                return stored["images"], True
    images = np.asarray(generate())
    if images.dtype != np.uint8 or images.ndim != 3 or len(images) != count:
        raise ValueError(f"generator returned {images.dtype} {images.shape}; expected uint8 {count}×H×W")
    with atomic_file(path) as tmp:
        np.savez(tmp, images=images, generator=np.array(generator_hash), class_name=np.array(class_name))
    return images, False


def torch_save_atomic(obj, path: Path) -> None:
    """torch.save, whole or not at all: readers never see half a file."""
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)


@contextmanager
def file_lock(path: Path):
    """An exclusive advisory lock on `<path>.lock`, held for the block (across processes
    on one machine or on a shared file system that honours flock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

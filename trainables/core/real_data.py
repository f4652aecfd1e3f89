"""The real data of one trial: a dataset loaded, split for the trial's fold and seed, with
labels as contiguous class indices; and the conversions to the tensors a net trains on."""

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from trainables.configs.data import DataConfig, resolve_protocol
from trainables.core.fit import TensorSplit
from trainables.data import (EMOTIONS, DataError, FaceData, Splits, drop_cross_split_duplicates,
                              drop_eval_copies_of_train, load_dataset, make_splits, resize_images)


def tensor_split(images: np.ndarray, labels: np.ndarray, idx: np.ndarray, size: int) -> TensorSplit:
    """The images and labels at `idx` as a TensorSplit at the net's input size."""
    return images_split(images[idx], labels[idx], size)


def images_split(images: np.ndarray, labels: np.ndarray, size: int) -> TensorSplit:
    """uint8 N×H×W images and class indices as a TensorSplit at the net's input size."""
    x = torch.from_numpy(resize_images(images, size)).unsqueeze(1)
    return TensorSplit(x, torch.from_numpy(np.asarray(labels)).long())


def concat_splits(a: TensorSplit, b: TensorSplit) -> TensorSplit:
    return TensorSplit(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]))


@dataclass(frozen=True)
class RealData:
    """One dataset split for one trial, labels as contiguous class indices (CK+ has
    contempt and no neutral, so indices follow the classes the dataset has)."""

    data: FaceData
    splits: Splits
    class_names: list[str]
    labels: np.ndarray
    # {"val": n, "test": n}: images left out for an exact copy in train (drop_eval_duplicates)
    dropped: dict[str, int] | None = None


def split_counts(cfg: DataConfig, real: RealData) -> dict:
    """The split's sizes in real images, and whether its training set is redrawn by the seed
    (`data/resampled`: k-fold splits, or a class fraction sampled): runs of such a design
    share training data across seeds and folds, which the tables' corrected test needs to
    know. `data/n_train_real` never counts synthetic images."""
    resampled = resolve_protocol(cfg, real.data) != "official" or cfg.class_fraction is not None
    dropped = {f"data/n_dropped_{name}": n for name, n in (real.dropped or {}).items()}
    return {"data/n_train_real": len(real.splits.train), "data/n_val": len(real.splits.val),
            "data/n_test": len(real.splits.test), "data/resampled": float(resampled), **dropped}


def device_for(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_real_data(cfg: DataConfig, seed: int) -> RealData:
    """The dataset of `cfg`, split for its fold with the trial's `seed`."""
    data = load_dataset(cfg.dataset, cfg.data_root, cache_dir=cfg.cache_dir, **cfg.dataset_options)
    def split(class_fraction: float | None) -> Splits:
        return make_splits(data, resolve_protocol(cfg, data), seed=seed, fold=cfg.fold, n_folds=cfg.n_folds,
                           val_fraction=cfg.val_fraction, class_fraction=class_fraction)

    splits, dropped = split(cfg.class_fraction), None
    if cfg.drop_eval_duplicates:
        whole_train = splits.train if cfg.class_fraction is None else split(None).train
        splits, dropped = drop_eval_copies_of_train(data, splits, whole_train)
    if cfg.drop_duplicates:
        splits = drop_cross_split_duplicates(data, splits)
    class_names = list(data.classes())
    remap = np.full(int(data.labels.max()) + 1, -1)
    for k, name in enumerate(class_names):
        remap[EMOTIONS.index(name)] = k
    return RealData(data, splits, class_names, remap[data.labels], dropped)


def judge_split(cfg: DataConfig, seed: int, real: RealData) -> np.ndarray:
    """The training split before `class_fraction` sampling: the judge is a measuring
    instrument, trained on all the real training data there is."""
    if cfg.class_fraction is None:
        return real.splits.train
    whole = load_real_data(dataclasses.replace(cfg, class_fraction=None), seed)
    check_same_evaluation(whole.splits, real.splits)
    return whole.splits.train


def check_same_evaluation(whole, sampled) -> None:
    """The judge's training split may grow past the trial's (no class-fraction sample) only
    if validation and test stay the same images: else a judge could have trained on the
    trial's held-out faces and read its synthesis as better than it is."""
    for name in ("val", "test"):
        a, b = getattr(whole, name), getattr(sampled, name)
        if not np.array_equal(a, b):
            raise DataError(f"the judge's split has other {name} images than the trial's ({len(a)} vs {len(b)}, "
                            f"{len(np.setdiff1d(a, b))} not in the trial's): sampling class_fraction must leave "
                            "validation and test unchanged, or the judge would train on held-out images")

"""One cell of Alharbawee & Pugeault's experiments: features of a pre-trained model
(`features`: `dcgan`, the penultimate layer of a DCGAN discriminator trained without
labels; `pixels`, the raw image; `cnn`, the penultimate layer of the baseline CNN trained
with labels on the pre-training dataset) into an SVM whose C and γ Optuna tunes by
cross-validation on the training side (trainables.core.svm_tuning), tested once.

Sides: the DCGAN (and the baseline CNN) learn from `pretrain_dataset` (default: the
training dataset); the SVM trains on `dataset` and is tested on `test_dataset`. With no
`test_dataset` the SVM trains on one split of `dataset` (train + validation: an SVM has
no epochs to choose) and is tested on its test split — subject-independent folds where
subjects are known, FER2013's official split otherwise; across datasets it trains on
all of `dataset`'s training images and tests on the other's official test split (or
all of it), on the classes both share. A pre-training dataset that is the test dataset
never sees the test images, even without labels.

The DCGAN's per-epoch measurements (trainables.synthetic.dcgan_pretrain) are reported as the
trial's first reports, one per epoch, then the SVM's result. Every report carries
`budget/steps`, the optimizer steps of the network whose features the SVM reads: the
DCGAN's steps so far (`dcgan`), the baseline CNN's training steps (`cnn`), none (`pixels`);
the SVM itself takes no optimizer steps."""

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from atomic import atomic_file
from trainables.core.caches import file_lock
from trainables.configs.dcgan_svm import DCGANSVMConfig, parse_config
from trainables.core.inception import InceptionFeatures
from trainables.core.judge import JudgeOptions, real_data_judge
from trainables.configs.data import resolve_protocol
from trainables.core.real_data import device_for
from trainables.core.reporting import Reporter
from trainables.core.roc import roc_curve
from trainables.core.svm_tuning import SVMSearch, fit_and_test, tune_svm
from trainables.data import EMOTIONS, DataError, FaceData, load_dataset, make_splits, resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.synthetic.dcgan_pretrain import (discriminator_features, pretrain_dcgan,
                                                 steps_per_epoch)


@dataclass(frozen=True)
class Side:
    """Images of one side of the experiment, labels as EMOTIONS indices."""

    data: FaceData
    idx: np.ndarray

    @property
    def images(self) -> np.ndarray:
        return self.data.images[self.idx]

    @property
    def labels(self) -> np.ndarray:
        return self.data.labels[self.idx]

    @property
    def key(self) -> str:
        return sha256_json({"content": self.data.content_hash,
                            "idx": hashlib.sha256(np.asarray(self.idx, np.int64).tobytes()).hexdigest()})

    @property
    def groups(self) -> np.ndarray | None:
        return None if self.data.subjects is None else np.asarray(self.data.subjects)[self.idx]


def _load(cfg: DCGANSVMConfig, name: str, root: str | None) -> FaceData:
    return load_dataset(name, cfg.root_for(name, root), cache_dir=cfg.cache_dir,
                        **(cfg.dataset_options if name == cfg.dataset else {}))


def _training_images(data: FaceData) -> np.ndarray:
    return np.flatnonzero(np.isin(data.usage, ("train", "val"))) if data.usage is not None else np.arange(len(data))


def _test_images(data: FaceData) -> np.ndarray:
    return np.flatnonzero(data.usage == "test") if data.usage is not None else np.arange(len(data))


def experiment_sides(cfg: DCGANSVMConfig) -> tuple[Side, Side, Side]:
    """(pre-training, SVM training, test) sides."""
    train_data = _load(cfg, cfg.dataset, cfg.data_root)
    if cfg.test_dataset in (None, cfg.dataset):
        splits = make_splits(train_data, resolve_protocol(cfg, train_data), seed=cfg.seed, fold=cfg.fold,
                             n_folds=cfg.n_folds, val_fraction=0.0 if train_data.usage is None else 0.1)
        train = Side(train_data, np.sort(np.concatenate([splits.train, splits.val])))
        test = Side(train_data, splits.test)
    else:
        test_data = _load(cfg, cfg.test_dataset, cfg.test_root)
        shared = np.intersect1d(np.unique(train_data.labels), np.unique(test_data.labels))
        if len(shared) < 2:
            raise DataError(f"{cfg.dataset} and {cfg.test_dataset} share fewer than two classes")
        train_idx = _training_images(train_data)
        train = Side(train_data, train_idx[np.isin(train_data.labels[train_idx], shared)])
        test_idx = _test_images(test_data)
        test = Side(test_data, test_idx[np.isin(test_data.labels[test_idx], shared)])
    pre_name = cfg.pretrain_dataset or cfg.dataset
    pre_data = train_data if pre_name == cfg.dataset and cfg.pretrain_root is None else _load(cfg, pre_name,
                                                                                               cfg.pretrain_root)
    pre_idx = _training_images(pre_data)
    if pre_data.content_hash == test.data.content_hash:
        pre_idx = np.setdiff1d(pre_idx, test.idx)  # never the test images, labelled or not
    if cfg.svm_max_train and len(train.idx) > cfg.svm_max_train:
        train = Side(train.data, _stratified_sample(train.labels, train.idx, cfg.svm_max_train, cfg.seed))
    return Side(pre_data, pre_idx), train, test


def dcgan_side(cfg: DCGANSVMConfig, pre: Side) -> Side:
    """The DCGAN's images: the pre-training side, or a seeded sample of `dcgan_max_images`
    of it (CPU scales). The baseline CNN learns from the whole side either way: it needs
    the steps, and its labels are not the DCGAN's to see."""
    if not cfg.dcgan_max_images or len(pre.idx) <= cfg.dcgan_max_images:
        return pre
    return Side(pre.data, np.sort(np.random.default_rng(cfg.dcgan.seed).permutation(pre.idx)[:cfg.dcgan_max_images]))


def _stratified_sample(labels: np.ndarray, idx: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        members = idx[labels == c]
        keep.append(rng.permutation(members)[:max(1, round(n * len(members) / len(idx)))])
    return np.sort(np.concatenate(keep))


def _judge(cfg: DCGANSVMConfig, pre: Side, device):
    """The baseline CNN on the pre-training side, labels used: the `cnn` features and the
    instrument for the DCGAN's FID."""
    order = np.random.default_rng(cfg.dcgan.seed).permutation(len(pre.idx))
    n_val = max(len(np.unique(pre.labels)), len(order) // 10)
    labels = pre.data.labels
    classes = np.unique(labels[pre.idx])
    remap = np.full(int(labels.max()) + 1, -1)
    remap[classes] = np.arange(len(classes))
    return real_data_judge(pre.data.images, remap[labels], pre.idx[order[n_val:]], pre.idx[order[:n_val]],
                           len(classes), pre.data.content_hash,
                           JudgeOptions(cfg.judge_net, cfg.judge_width, cfg.judge_epochs, cfg.dcgan.seed), device,
                           cfg.cache_dir)


def cached_features(cfg: DCGANSVMConfig, extractor_key: str, side: Side, extract) -> np.ndarray:
    """Features of one side, kept per (extractor, dataset content, image indices)."""
    key = sha256_json({"extractor": extractor_key, "side": side.key})
    path = cache_root(cfg.cache_dir) / "features" / f"{key[:32]}.npy"
    with file_lock(path):
        if path.exists():
            return np.load(path)
        found = extract(side.images)
        with atomic_file(path) as tmp:
            np.save(tmp, found)
        return found


def train_dcgan_svm(config: dict, reporter: Reporter) -> dict:
    cfg = parse_config(config)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = device_for(cfg.device)
    pre, train, test = experiment_sides(cfg)
    classes = np.unique(np.concatenate([train.labels, test.labels]))
    class_names = [EMOTIONS[c] for c in classes]
    remap = {int(c): k for k, c in enumerate(classes)}
    y_train, y_test = (np.array([remap[int(v)] for v in s.labels]) for s in (train, test))
    dcgan_images = dcgan_side(cfg, pre)
    metrics = {"data/n_pretrain": len(dcgan_images.idx), "data/n_cnn_pretrain": len(pre.idx),
               "data/n_svm_train": len(train.idx), "data/n_test": len(test.idx),
               "data/n_train_real": len(train.idx), "data/resampled": 1.0,  # SVM folds redrawn by the seed
               "budget/steps": 0}
    judge = _judge(cfg, pre, device) if cfg.features in ("dcgan", "cnn") else None
    if judge is not None:
        metrics["judge/val_acc"] = judge.val_acc
    if cfg.features == "dcgan":
        inception = InceptionFeatures(cfg.inception_weights, device) if cfg.inception_weights else None
        # images only, no labels
        disc, record = pretrain_dcgan(dcgan_images.images, cfg.dcgan, judge, device, cfg.cache_dir, inception)
        extractor = ("dcgan", sha256_json(dataclasses.asdict(cfg.dcgan)), dcgan_images.key)

        def extract(images):
            return discriminator_features(disc, images, cfg.dcgan.size, device)

        log_dcgan(reporter, record, metrics, steps_per_epoch(len(dcgan_images.idx), cfg.dcgan))
        metrics.update({k: v for k, v in record["history"][-1].items()})
        metrics["budget/steps"] = cfg.dcgan.epochs * steps_per_epoch(len(dcgan_images.idx), cfg.dcgan)
        metrics["dcgan/from_cache"] = float(record["from_cache"])
    elif cfg.features == "cnn":
        extractor = ("cnn", pre.key, cfg.judge_net, cfg.judge_width, cfg.judge_epochs)
        metrics["budget/steps"] = judge.steps

        def extract(images):
            return judge.features(images).astype(np.float32)
    else:
        extractor = ("pixels", cfg.pixel_size)

        def extract(images):
            return resize_images(images, cfg.pixel_size).reshape(len(images), -1).astype(np.float32) / 255

    key = sha256_json([str(e) for e in extractor])
    x_train, x_test = (cached_features(cfg, key, side, extract) for side in (train, test))
    metrics["svm/n_features"] = x_train.shape[1]
    search = SVMSearch(n_trials=cfg.svm_trials, inner_folds=cfg.inner_folds, kernel=cfg.kernel, seed=cfg.seed)
    params, summary = tune_svm(x_train, y_train, train.groups, search)  # the training side only
    found, scores, cm = fit_and_test((x_train, y_train), (x_test, y_test), params, cfg.kernel, class_names)
    metrics.update({**summary, **found})
    write_svm_artifacts(reporter, y_test, scores, cm, class_names)
    with tempfile.TemporaryDirectory(prefix="ferlab-svm-") as tmp:
        reporter.report(metrics, checkpoint_dir=tmp)
    return metrics


def log_dcgan(reporter: Reporter, record: dict, fixed: dict, steps_per_epoch: int) -> None:
    """One report per DCGAN epoch, with its steps so far (`budget/steps`), and its sample
    grids and history as artifacts."""
    with tempfile.TemporaryDirectory(prefix="ferlab-dcgan-") as tmp:
        for epoch, png in record["grids"].items():
            if epoch == len(record["history"]) - 1 or epoch % max(1, len(record["history"]) // 5) == 0:
                path = Path(tmp) / f"dcgan_samples_epoch{epoch:03d}.png"
                path.write_bytes(png)
                reporter.log_artifact(str(path))
        history = Path(tmp) / "dcgan_history.csv"
        pd.DataFrame(record["history"]).to_csv(history, index=False)
        reporter.log_artifact(str(history))
    for epoch, metrics in enumerate(record["history"]):
        reporter.report({**fixed, **metrics, "budget/steps": (epoch + 1) * steps_per_epoch})


def write_svm_artifacts(reporter: Reporter, labels: np.ndarray, scores: np.ndarray, cm: np.ndarray,
                        class_names: list[str]) -> None:
    rows = []
    for k, name in enumerate(class_names):
        positive = labels == k
        if 0 < positive.sum() < len(positive):
            fpr, tpr = roc_curve(positive, scores[:, k])
            rows += [{"class": name, "fpr": f, "tpr": t} for f, t in zip(fpr, tpr)]
    with tempfile.TemporaryDirectory(prefix="ferlab-roc-") as tmp:
        roc = Path(tmp) / "roc.csv"
        pd.DataFrame(rows).to_csv(roc, index=False)
        matrix = Path(tmp) / "confusion_matrix.csv"
        frame = pd.DataFrame(cm, index=class_names, columns=class_names)
        frame.index.name = "true\\pred"
        frame.to_csv(matrix)
        reporter.log_artifact(str(roc))
        reporter.log_artifact(str(matrix))

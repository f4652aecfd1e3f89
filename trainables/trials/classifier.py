"""Train and evaluate one expression classifier on one dataset, split and seed.

The function takes a plain config dict and a reporter (trainables.core.reporting), so it runs
under Ray Tune and in a plain process alike. The epoch is chosen on validation only;
test metrics are reported at that epoch (`..._at_best_val`) and at the last one."""

import tempfile
from dataclasses import dataclass

import numpy as np
import torch

from trainables.core.config import ConfigError, from_flat, section
from trainables.core.fit import FitOptions, fit, test_metrics
from trainables.core.real_data import (PROTOCOLS, DataConfig, RealData, concat_splits, device_for, images_split,
                                       load_real_data, tensor_split)
from trainables.core.reporting import Reporter, write_test_artifacts
from trainables.nets import create_net, list_nets, net_spec


@dataclass(frozen=True)
class ClassifierConfig:
    data: DataConfig = section(DataConfig)
    net: str = "simple"
    width: float = 1.0
    dropout: float | None = None
    seed: int = 0  # the net's initialisation, the split's and the batches' order
    epochs: int = 30  # report rounds (validation, checkpoint); passes over the data when `steps` is None
    steps: int | None = None  # the optimizer-step budget, equal for every arm of a comparison
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    augment: str = "none"
    label_smoothing: float = 0.0
    hflip_tta: bool = False
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be ≥ 1, got {self.epochs} and {self.batch_size}")
        if self.steps is not None and self.steps < self.epochs:
            raise ConfigError(f"steps (the optimizer-step budget) must be ≥ epochs (report rounds, each gets a "
                              f"share of the steps), got steps={self.steps}, epochs={self.epochs}")
        if not 0 < self.width <= 4:
            raise ConfigError(f"width must be in (0, 4], got {self.width}")
        if self.dropout is not None and not 0 <= self.dropout < 0.5:
            raise ConfigError(f"dropout must be in [0, 0.5) (dense layers use twice it), got {self.dropout}")


CHOICES = {
    "protocol": PROTOCOLS,
    "optimizer": ("adam", "adamw", "sgd"),
    "schedule": ("onecycle", "cosine", "constant"),
    "augment": ("none", "classical"),
    "device": ("auto", "cpu", "cuda"),
}


def parse_config(config: dict) -> ClassifierConfig:
    choices = {**CHOICES, "net": tuple(list_nets())}
    cfg = from_flat(ClassifierConfig, config, choices)
    if cfg.dropout is not None and not net_spec(cfg.net).accepts("dropout"):
        takes = ", ".join(n for n in list_nets() if net_spec(n).accepts("dropout"))
        raise ConfigError(f"net {cfg.net!r} has fixed dropout; the 'dropout' option applies to: {takes}")
    return cfg


def build_net(cfg: ClassifierConfig, n_classes: int, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(cfg.seed)
    options = {"width": cfg.width} | ({} if cfg.dropout is None else {"dropout": cfg.dropout})
    net = create_net(cfg.net, n_classes=n_classes, **options)
    if device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)
    return net


def replace_head(net: torch.nn.Module, n_classes: int, seed: int) -> torch.nn.Module:
    """A fresh last layer for another class set (fine-tuning on another dataset). Every
    classifier net ends in `classifier[-1]`, a Linear layer."""
    old = net.classifier[-1]
    if not isinstance(old, torch.nn.Linear):
        raise TypeError(f"{type(net).__name__}.classifier[-1] is {type(old).__name__}, not Linear")
    torch.manual_seed(seed)
    net.classifier[-1] = torch.nn.Linear(old.in_features, n_classes).to(old.weight.device)
    return net


def fit_options(cfg: ClassifierConfig, epochs: int | None = None, steps: int | None = None,
                steps_before: int = 0) -> FitOptions:
    """The fit's options: the config's, with `epochs` and `steps` for one stage of a
    staged budget (DAG's pre-training and fine-tuning) when given."""
    return FitOptions(epochs=epochs or cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer,
                      weight_decay=cfg.weight_decay, schedule=cfg.schedule, augment=cfg.augment == "classical",
                      label_smoothing=cfg.label_smoothing, seed=cfg.seed, hflip_tta=cfg.hflip_tta,
                      steps=steps or cfg.steps, steps_before=steps_before)


def train_classifier(config: dict, reporter: Reporter) -> dict:
    """Run one trial; returns the last epoch's metrics (with the final test metrics)."""
    cfg = parse_config(config)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    return train_on_real(cfg, load_real_data(cfg.data, cfg.seed), reporter)


def train_on_real(cfg: ClassifierConfig, real: RealData, reporter: Reporter,
                  extra_train: tuple[np.ndarray, np.ndarray] | None = None,
                  net: torch.nn.Module | None = None, chosen: dict | None = None,
                  epochs: int | None = None, steps: int | None = None, steps_before: int = 0) -> dict:
    """Train on the real training split, plus `extra_train` (uint8 images, class indices:
    synthetic data) when given, starting from `net` when given (fine-tuning); select the
    epoch on the real validation split and test at it. `chosen`, when given, receives the
    chosen epoch's weights under "state". `steps`/`steps_before`: this stage's share of
    a staged step budget, and the steps `net` already had."""
    device = device_for(cfg.device)
    size = net_spec(cfg.net).input_size
    splits, labels = real.splits, real.labels
    train, val, test = (tensor_split(real.data.images, labels, idx, size)
                        for idx in (splits.train, splits.val, splits.test))
    if extra_train is not None:
        train = concat_splits(train, images_split(*extra_train, size))
    net = net if net is not None else build_net(cfg, len(real.class_names), device)

    def on_finish(last_net, best_net) -> dict:
        last, _ = test_metrics(last_net, test, real.class_names, device, hflip_tta=cfg.hflip_tta)
        best, probs = test_metrics(best_net, test, real.class_names, device, suffix="_at_best_val",
                                   hflip_tta=cfg.hflip_tta)
        with tempfile.TemporaryDirectory(prefix="ferlab-results-") as workdir:
            write_test_artifacts(reporter, workdir, splits.test, test.y.numpy(), probs, real.class_names)
        counts = {"data/n_train": len(train.y), "data/n_val": len(splits.val), "data/n_test": len(splits.test),
                  "data/n_synthetic": 0 if extra_train is None else len(extra_train[1])}
        if chosen is not None:
            chosen["state"] = best_net.state_dict()
        return {**last, **best, **counts}

    return fit(net, train, val, fit_options(cfg, epochs, steps, steps_before), reporter, device, on_finish)

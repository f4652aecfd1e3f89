"""The classifier trainable's config (trainables.trials.classifier): the classifier's keys
and the cross test's; and the check that fused members may train as one
(trainables.trials.classifier_fused)."""

import dataclasses
import math
from dataclasses import dataclass

from trainables.configs.data import PROTOCOLS, CrossConfig, DataConfig
from trainables.configs.fit import ADAM_BETAS, OPTIMIZERS, SCHEDULES
from trainables.core.config import ConfigError, from_flat, section, split_from
from trainables.nets import list_nets, net_spec
from trainables.nets.kernels import KERNELS


@dataclass(frozen=True)
class ClassifierConfig:
    data: DataConfig = section(DataConfig)
    net: str = "simple"
    width: float = 1.0
    dropout: float | None = None
    seed: int = 0  # the net's initialisation, the split's and the batches' order
    epochs: int = 30  # report rounds (validation, checkpoint); passes over the data when `steps` is None
    steps: int | None = None  # the optimizer-step budget, equal for every arm of a comparison
    max_passes: float | None = None  # caps `steps` at this many passes over the real training images (step_budget)
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    beta1: float = ADAM_BETAS[0]  # Adam's and AdamW's β1, β2 (sgd: Nesterov momentum 0.9, no β)
    beta2: float = ADAM_BETAS[1]
    weight_decay: float = 0.0
    schedule: str = "onecycle"  # the learning rate over the steps (trainables.core.fit.lr_factor)
    augment: str = "none"
    label_smoothing: float = 0.0
    hflip_tta: bool = False
    device: str = "auto"
    kernels: str = "fast"  # the CPU kernel switch (trainables.nets.kernels)
    threads: int | None = None

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be ≥ 1, got {self.epochs} and {self.batch_size}")
        if self.steps is not None and self.steps < self.epochs:
            raise ConfigError(f"steps (the optimizer-step budget) must be ≥ epochs (report rounds, each gets a "
                              f"share of the steps), got steps={self.steps}, epochs={self.epochs}")
        if self.max_passes is not None and (self.steps is None or not self.max_passes > 0):
            raise ConfigError(f"max_passes caps a step budget at that many passes over the real training images: it "
                              f"needs steps and a value > 0, got max_passes={self.max_passes}, steps={self.steps}")
        if not 0 < self.width <= 4:
            raise ConfigError(f"width must be in (0, 4], got {self.width}")
        if self.dropout is not None and not 0 <= self.dropout < 0.5:
            raise ConfigError(f"dropout must be in [0, 0.5) (dense layers use twice it), got {self.dropout}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"beta1 and beta2 (Adam's β) must be in [0, 1), got {self.beta1} and {self.beta2}")
        if self.optimizer == "sgd" and (self.beta1, self.beta2) != ADAM_BETAS:
            raise ConfigError(f"beta1/beta2 apply to adam and adamw; optimizer 'sgd' uses Nesterov momentum 0.9, "
                              f"so beta1={self.beta1}, beta2={self.beta2} would change nothing")


def step_budget(cfg: ClassifierConfig, n_train_real: int) -> ClassifierConfig:
    """`cfg` with its step budget capped at `max_passes` passes over its `n_train_real` real
    training images (at least one step per report round), so that a scale sized for
    FER2013's 28k images trains a 200-image set for passes, not for hours. The cap counts
    the fold's real training images only, never synthetic or oversampled ones: the arms of
    a comparison, which share the fold's real split, get the same budget."""
    if cfg.max_passes is None:
        return cfg
    cap = max(cfg.epochs, math.ceil(cfg.max_passes * n_train_real / cfg.batch_size))
    return dataclasses.replace(cfg, steps=min(cfg.steps, cap))


CHOICES = {
    "protocol": PROTOCOLS,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "augment": ("none", "classical"),
    "device": ("auto", "cpu", "cuda"),
    "kernels": KERNELS,
}


def parse_config(config: dict) -> ClassifierConfig:
    choices = {**CHOICES, "net": tuple(list_nets())}
    cfg = from_flat(ClassifierConfig, config, choices)
    if cfg.dropout is not None and not net_spec(cfg.net).accepts("dropout"):
        takes = ", ".join(n for n in list_nets() if net_spec(n).accepts("dropout"))
        raise ConfigError(f"net {cfg.net!r} has fixed dropout; the 'dropout' option applies to: {takes}")
    return cfg


@dataclass(frozen=True)
class ClassifierTrial:
    classifier: ClassifierConfig
    cross: CrossConfig


def parse_trial(config: dict) -> ClassifierTrial:
    """The classifier trainable's config: the classifier's keys and the cross test's."""
    cross, classifier = split_from(CrossConfig, config, parse_config, "cross-dataset")
    return ClassifierTrial(classifier, cross)


def parse_members(configs: list[dict]) -> list[ClassifierConfig]:
    """The members' configs; refuses a group that cannot fuse."""
    trials = [parse_trial(config) for config in configs]
    if any(trial.cross.cross_dataset is not None for trial in trials):
        raise ConfigError("fused classifier trials do not run the cross-dataset test; launch without fusing "
                          "(fuse=1) to run it")
    cfgs = [trial.classifier for trial in trials]
    if cfgs[0].steps is None:
        raise ConfigError("fused classifier trials need a step budget (`steps`): the members step in lockstep, and "
                          "without one each member's round has as many steps as its data has batches")
    recipes = [dataclasses.replace(c, seed=0, lr=0.0, data=dataclasses.replace(c.data, fold=0)) for c in cfgs]
    if any(recipe != recipes[0] for recipe in recipes):
        raise ConfigError("fused classifier trials may differ only in seed, fold and learning rate (lr)")
    return cfgs

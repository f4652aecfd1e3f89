"""The synthetic_ratio trainable's config (trainables.trials.synthetic_ratio): the train
set, the identity source and StarGAN that make the synthetic faces, the blind test set,
and the classifier's keys."""

import re
from dataclasses import dataclass

from trainables.configs.classifier import ClassifierConfig, parse_config as parse_classifier_config
from trainables.configs.data import check_cross_dataset
from trainables.core.config import ConfigError, split_from

# the sources of trainables.synthetic.identity_sources.IDENTITY_SOURCES, by name
IDENTITY_SOURCE_NAMES = ("dcgan", "fesgan")
_TRAIN_SET = re.compile(r"^(real|synthetic|real\+([1-9][0-9]*)x)$")


@dataclass(frozen=True)
class RatioConfig:
    train_set: str = "real"  # "real", "synthetic" (one unit, no real faces) or "real+<k>x"
    max_ratio: int = 20  # the largest k of the study: the one synthetic set generated
    cross_dataset: str = "synthfaces"  # the blind test set
    cross_root: str | None = None
    cross_options: dict | None = None  # None: for synthfaces, the training draw's options with seed + 1
    identity_source: str = "dcgan"
    source_iters: int = 2000
    source_width: float = 0.25
    source_batch_size: int = 64
    stargan_iters: int = 2000
    stargan_width: float = 0.25
    stargan_blocks: int = 6
    stargan_batch_size: int = 16
    stargan_n_critic: int = 5
    gan_seed: int = 0
    # "epochs": `epochs` passes over the data (the paper's rule); "steps": the classifier's
    # `steps` optimizer steps, equal for every train set. The study sets `steps` in both
    # families (one grid); the "epochs" family does not use it: its `budget/steps` says
    # what it trained.
    budget: str = "epochs"
    judge_net: str = "simple"
    judge_width: float = 0.25
    judge_epochs: int = 10

    def __post_init__(self):
        match = _TRAIN_SET.match(self.train_set)
        if not match:
            raise ConfigError(f"train_set {self.train_set!r} must be 'real', 'synthetic' or 'real+<k>x' with k ≥ 1 "
                              "(e.g. 'real+5x')")
        if self.ratio > self.max_ratio:
            raise ConfigError(f"train_set {self.train_set!r} needs k = {self.ratio} units but max_ratio is "
                              f"{self.max_ratio}; raise max_ratio to the study's largest k")
        if self.max_ratio < 1:
            raise ConfigError(f"max_ratio must be ≥ 1, got {self.max_ratio}")
        check_cross_dataset(self.cross_dataset, self.cross_root)
        if min(self.source_iters, self.stargan_iters, self.stargan_n_critic, self.source_batch_size,
               self.stargan_batch_size) < 1:
            raise ConfigError("source_iters, stargan_iters, stargan_n_critic and the GAN batch sizes must be ≥ 1")

    @property
    def ratio(self) -> int:
        """Units of synthetic identities: 0 for real only, 1 for synthetic only."""
        match = _TRAIN_SET.match(self.train_set)
        return 1 if self.train_set == "synthetic" else int(match.group(2) or 0)


CHOICES = {"identity_source": IDENTITY_SOURCE_NAMES, "budget": ("epochs", "steps")}


@dataclass(frozen=True)
class RatioTrial:
    ratio: RatioConfig
    classifier: ClassifierConfig


def parse_config(config: dict) -> RatioTrial:
    ratio, classifier = split_from(RatioConfig, config, parse_classifier_config, "synthetic-ratio", CHOICES)
    if ratio.budget == "steps" and classifier.steps is None:
        raise ConfigError("budget 'steps' trains every train set for `steps` optimizer steps; set steps (e.g. the "
                          "steps real only takes under the 'epochs' budget)")
    return RatioTrial(ratio, classifier)

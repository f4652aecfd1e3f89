"""The cyclegan trainable's config (trainables.trials.cyclegan): the CycleGAN's and the
arm's keys, and the classifier's."""

from dataclasses import dataclass
from pathlib import Path

from trainables.configs.classifier import ClassifierConfig, parse_config as parse_classifier_config
from trainables.configs.cyclegan_arms import parse_arm
from trainables.core.config import ConfigError, split_from
from trainables.data import EMOTIONS, list_datasets


ADVERSARIAL = ("lsgan", "vanilla", "wgan-gp")
CYCLE = ("l1", "weighted")
GAMMA_SCHEDULES = ("constant", "linear")


@dataclass(frozen=True)
class CycleGANConfig:
    arm: str = "+disgust"
    reference: str = "neutral"
    synthetic_count: int | None = None
    gan_epochs: int = 10
    gan_batch_size: int = 16
    gan_width: float = 1.0
    gan_blocks: int = 6
    lr_g: float = 2e-4
    lr_d: float = 1e-4
    adv_loss: str = "lsgan"
    cycle_loss: str = "l1"
    gamma_max: float = 0.0
    gamma_schedule: str = "constant"
    lambda_cyc: float = 10.0
    soft_labels: bool = False
    lr_decay: bool = True
    gp_weight: float = 10.0
    n_critic: int | None = None  # D updates per G update; None: 5 for wgan-gp (Gulrajani et al.), else 1
    pretrain_epochs: int | None = None
    judge_net: str = "simple"
    judge_width: float = 0.25
    judge_epochs: int = 10
    judge_seed: int = 0  # one measuring instrument for every trial of a study, whatever its seed
    finetune_dataset: str | None = None  # Table 2's "FER+X" rows: fine-tune on X, test on X
    finetune_root: str | None = None
    finetune_fold: int = 0
    finetune_epochs: int | None = None  # default: the classifier's epochs
    finetune_steps: int | None = None  # default: the classifier's steps
    inception_weights: str | None = None  # local torchvision inception_v3 state dict: adds the standard FID

    def __post_init__(self):
        if self.gan_epochs < 1 or self.gan_batch_size < 1 or self.gan_blocks < 0:
            raise ConfigError("gan_epochs and gan_batch_size must be ≥ 1 and gan_blocks ≥ 0, got "
                              f"{self.gan_epochs}, {self.gan_batch_size}, {self.gan_blocks}")
        if not 0 <= self.gamma_max <= 1:
            raise ConfigError(f"gamma_max must be in [0, 1], got {self.gamma_max}")
        if self.n_critic is not None and self.n_critic < 1:
            raise ConfigError(f"n_critic must be ≥ 1 (or unset), got {self.n_critic}")
        if self.synthetic_count is not None and self.synthetic_count < 1:
            raise ConfigError(f"synthetic_count must be ≥ 1 (or unset), got {self.synthetic_count}")
        if self.inception_weights is not None and not Path(self.inception_weights).is_file():
            raise ConfigError(f"inception_weights {self.inception_weights!r} is not a file; give a local "
                              "torchvision inception_v3 state dict, or leave it unset (FID on FER features only)")
        if self.reference not in EMOTIONS:
            raise ConfigError(f"reference {self.reference!r} is not an emotion; known: {', '.join(EMOTIONS)}")
        if self.finetune_dataset is not None:
            if self.finetune_dataset not in list_datasets():
                raise ConfigError(f"finetune_dataset {self.finetune_dataset!r} is not a registered dataset; "
                                  f"known: {', '.join(list_datasets())}")
            if self.finetune_dataset != "synthfaces" and not (self.finetune_root and Path(self.finetune_root).exists()):
                raise ConfigError(f"finetune_dataset {self.finetune_dataset!r} needs finetune_root, the folder or "
                                  f"file of its data; got {self.finetune_root!r}, which does not exist")
        if self.finetune_epochs is not None and self.finetune_epochs < 1:
            raise ConfigError(f"finetune_epochs must be ≥ 1 (or unset), got {self.finetune_epochs}")
        mode, targets = parse_arm(self.arm)
        bad = [t for t in targets if t != "all" and (t not in EMOTIONS or t == self.reference)]
        if bad:
            raise ConfigError(f"arm {self.arm!r} names {bad}: targets must be emotions other than the reference "
                              f"{self.reference!r} ({', '.join(EMOTIONS)}), or 'all'")


CHOICES = {"adv_loss": ADVERSARIAL, "cycle_loss": CYCLE, "gamma_schedule": GAMMA_SCHEDULES}


@dataclass(frozen=True)
class CycleGANTrial:
    gan: CycleGANConfig
    classifier: ClassifierConfig


def parse_config(config: dict) -> CycleGANTrial:
    return CycleGANTrial(*split_from(CycleGANConfig, config, parse_classifier_config, "CycleGAN", CHOICES))

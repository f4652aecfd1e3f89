"""The cyclegan_toy trainable's config (trainables.trials.toy)."""

from dataclasses import dataclass, field

from trainables.core.config import ConfigError, from_dict


@dataclass(frozen=True)
class ToyConfig:
    seed: int = 0
    n_major: int = 1000
    n_minor: int = 100
    n_eval: int = 100  # per class, for validation and for test
    n_generated: int = 900
    reference: int = 0
    gan_steps: int = 1000
    report_every: int = 100
    batch_size: int = 64
    hidden: int = 32
    lr: float = 1e-3
    lambda_cyc: float = 10.0
    adv_loss: str = "lsgan"
    svm_c: float = 1.0
    threads: int | None = None
    # the launcher's dataset keys, unused: the toy draws its own data
    dataset: str = "synthfaces"
    data_root: str | None = None
    dataset_options: dict = field(default_factory=dict)
    cache_dir: str | None = None
    fold: int = 0
    n_folds: int = 10

    def __post_init__(self):
        for name in ("n_major", "n_minor", "n_eval", "n_generated", "gan_steps", "report_every", "batch_size",
                     "hidden"):
            if getattr(self, name) < 1:
                raise ConfigError(f"config key {name!r} must be ≥ 1, got {getattr(self, name)}")
        if self.n_generated > self.n_major:
            raise ConfigError(f"n_generated ({self.n_generated}) must be ≤ n_major ({self.n_major}): "
                              "each generated point translates a distinct reference point")
        if self.lr <= 0 or self.lambda_cyc < 0 or self.svm_c <= 0:
            raise ConfigError(f"need lr > 0, lambda_cyc ≥ 0, svm_c > 0; got {self.lr}, {self.lambda_cyc}, "
                              f"{self.svm_c}")
        if self.fold != 0:
            raise ConfigError(f"config key 'fold' = {self.fold}: the toy has no folds (seeds redraw the data)")


# wgan-gp is left out: the toy's loop has no gradient-penalty step (the paper's toy is LSGAN).
CHOICES = {"adv_loss": ("lsgan", "vanilla"), "reference": (0, 1)}


def parse_toy_config(config: dict) -> ToyConfig:
    return from_dict(ToyConfig, config, CHOICES)

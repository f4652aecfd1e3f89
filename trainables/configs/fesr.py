"""The fesr trainable's config (trainables.trials.fesr): the variant, the data, FESGAN's and
R's options (`FESROptions`, trained by trainables.gans.fesr_fit); and the check that fused
members may train as one (trainables.trials.fesr_fused)."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from trainables.configs.data import PROTOCOLS, DataConfig
from trainables.configs.fesr_variants import VARIANTS
from trainables.core.config import ConfigError, from_flat, section
from trainables.nets.kernels import KERNELS


PAPER_LAMBDAS = (1.0, 10.0, 5.0, 1.0, 1.0, 0.001)  # λ1..λ6, Section IV-B


@dataclass(frozen=True)
class FESROptions:
    size: int = 48
    gan_width: float = 1.0
    r_width: float = 1.0
    batch_size: int = 16
    lr: float = 1e-4  # Adam, β = (0.5, 0.999), every network
    lambdas: tuple[float, ...] = PAPER_LAMBDAS
    gp_weight: float = 10.0
    pretrain_iters: int = 1000  # P_pre
    joint_iters: int = 1000  # P_max − P_pre: R's iterations, the same for every variant
    report_every: int = 100
    seed: int = 0
    kernels: str = "fast"  # the CPU kernel switch (trainables.nets.kernels): the nets' layout, not the recipe


LAMBDA_KEYS = tuple(f"lambda{k}" for k in range(1, 7))  # the flat keys of FESROptions.lambdas, λ1..λ6


@dataclass(frozen=True)
class FESRConfig:
    variant: str = "FESR_JL"
    data: DataConfig = section(DataConfig)
    fesr: FESROptions = section(FESROptions, flat={"size": "image_size", "lambdas": LAMBDA_KEYS})
    identity: str = "auto"  # "auto" | "off" | a local network file (.pt2 torch.export, or TorchScript)
    identity_width: float = 0.5
    identity_epochs: int = 15
    judge_width: float = 0.25  # the real-data judge (trainables.core.judge) scoring synthetic images
    judge_epochs: int = 10
    trunk_weights: str | None = None  # a local network file, as `identity`: R's frozen first layers
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self):
        o = self.fesr
        if o.size not in (48, 64, 128):
            raise ConfigError(f"image_size must be 48, 64 or 128 (the paper's is 128), got {o.size}")
        if min(o.pretrain_iters, o.joint_iters) < 0 or o.report_every < 1 or o.batch_size < 2:
            raise ConfigError("pretrain_iters and joint_iters must be ≥ 0, report_every ≥ 1 and batch_size ≥ 2; "
                              f"got {o.pretrain_iters}, {o.joint_iters}, {o.report_every}, {o.batch_size}")
        if min(o.lambdas) < 0:
            raise ConfigError(f"λ1..λ6 must be ≥ 0, got {o.lambdas}")
        for key in ("identity", "trunk_weights"):
            value = getattr(self, key)
            if value not in (None, "auto", "off") and not Path(value).is_file():
                raise ConfigError(f"{key} {value!r} is not a file; give a local .pt2 (torch.export) or TorchScript file "
                                  + ("or 'auto' / 'off'" if key == "identity" else "or leave it unset"))
        variant = VARIANTS.get(self.variant)
        if variant is not None and variant.recognizer and o.joint_iters < 1:
            raise ConfigError(f"variant {self.variant} trains R: joint_iters must be ≥ 1")

    @property
    def seed(self) -> int:
        """The trial's seed: the split's, and FESGAN's and R's initialisation."""
        return self.fesr.seed


CHOICES = {"variant": tuple(VARIANTS), "protocol": PROTOCOLS, "device": ("auto", "cpu", "cuda"), "kernels": KERNELS}


def parse_config(config: dict) -> FESRConfig:
    return from_flat(FESRConfig, config, CHOICES)


def parse_members(configs: list[dict]) -> list[FESRConfig]:
    """The members' configs; refuses a group that cannot fuse."""
    cfgs = [parse_config(config) for config in configs]
    recipes = [dataclasses.replace(c, fesr=dataclasses.replace(c.fesr, seed=0, lambdas=PAPER_LAMBDAS),
                                   data=dataclasses.replace(c.data, fold=0)) for c in cfgs]
    if any(recipe != recipes[0] for recipe in recipes):
        raise ConfigError("fused FESR trials may differ only in seed, fold and the loss weights λ1..λ6 "
                          f"({', '.join(LAMBDA_KEYS)})")
    return cfgs

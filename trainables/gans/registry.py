"""The GANs by name: each entry is a method's bundle builder and its pure steps, in the
order its loop runs them. An unknown name fails with the list of known ones.

The table is written out here, not filled by decorators, so no lookup depends on an
import made elsewhere."""

from dataclasses import dataclass, field
from typing import Callable

from trainables.gans import cyclegan, dcgan, fesgan, stargan
from trainables.gans.contract import GANBundle


@dataclass(frozen=True)
class GANSpec:
    name: str
    description: str
    build: Callable[..., GANBundle]
    d_step: Callable[..., tuple]
    g_step: Callable[..., tuple]
    loop: str  # where the training loop lives
    extra_steps: dict[str, Callable[..., tuple]] = field(default_factory=dict)


_GANS: dict[str, GANSpec] = {spec.name: spec for spec in (
    GANSpec("cyclegan", "CycleGAN reference ↔ target class (Zhu et al.; Birenbaum's weighted cycle loss and "
                        "WGAN-GP critics)", cyclegan.build_cyclegan, cyclegan.d_step, cyclegan.g_step,
            "trainables.gans.cyclegan_fit.train_cyclegan (also trainables.trials.toy.train_steps on 2-D points)"),
    GANSpec("dcgan", "unsupervised DCGAN whose discriminator features feed an SVM (Alharbawee & Pugeault)",
            dcgan.build_dcgan, dcgan.d_step, dcgan.g_step, "trainables.gans.dcgan_fit.DCGANTrainer"),
    GANSpec("stargan", "StarGAN expression translation for the synthetic-ratio study (Choi et al.)",
            stargan.build_stargan, stargan.d_step, stargan.g_step, "trainables.gans.stargan_fit.StarGANTrainer"),
    GANSpec("fesgan", "FESGAN with the recognition network R, FESR's joint learning (IEEE TMM)",
            fesgan.build_fesgan, fesgan.dimg_step, fesgan.g_step, "trainables.gans.fesr_fit.FESRTrainer",
            {"dz_step": fesgan.dz_step, "r_step": fesgan.r_step}),
)}


def list_gans() -> list[str]:
    return sorted(_GANS)


def get_gan(name: str) -> GANSpec:
    if name not in _GANS:
        raise ValueError(f"unknown GAN {name!r}; known GANs: {', '.join(list_gans())}")
    return _GANS[name]

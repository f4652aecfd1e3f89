"""DCGAN (Radford et al. 2016) as a bundle and pure steps: the original GAN objective
(Goodfellow et al.'s eq. 1) with the non-saturating generator loss.

Bundle: nets `generator`, `discriminator`; optimisers `g`, `d`. A batch is (x, z): real
images N×1×S×S in [-1, 1] and latent codes N×Z_DIM. `generate` makes the fakes once;
the discriminator's step sees them detached, the generator's step (after the
discriminator's update) backpropagates through them."""

import torch

from trainables.gans.contract import GANBundle, adam
from trainables.gans.losses import disc_loss, gen_adv_loss
from trainables.nets.dcgan import DCDiscriminator, DCGenerator


def build_dcgan(size: int, width: float, lr: float, beta1: float, device: torch.device) -> GANBundle:
    generator = DCGenerator(size, width).to(device)
    discriminator = DCDiscriminator(size, width).to(device)
    return GANBundle({"generator": generator, "discriminator": discriminator},
                     {"g": adam(generator.parameters(), lr, (beta1, 0.999)),
                      "d": adam(discriminator.parameters(), lr, (beta1, 0.999))})


def generate(bundle: GANBundle, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return bundle.nets["generator"](batch[1])


def d_step(bundle: GANBundle, batch: tuple[torch.Tensor, torch.Tensor], fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """−log D(x) − log(1 − D(G(z))), the discriminator's side of eq. 1 as BCE on logits.
    Logs: loss_d."""
    d = bundle.nets["discriminator"]
    half, _ = disc_loss("vanilla", d(batch[0]), d(fake.detach()))
    # disc_loss halves the two BCE terms (the CycleGAN practice); eq. 1 sums them. ×2 is exact in floating point.
    loss = 2 * half
    return loss, {"loss_d": loss.detach()}


def g_step(bundle: GANBundle, batch: tuple[torch.Tensor, torch.Tensor], fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """−log D(G(z)), the non-saturating form of the generator's side of eq. 1. Logs: loss_g."""
    loss, _ = gen_adv_loss("vanilla", bundle.nets["discriminator"](fake))
    return loss, {"loss_g": loss.detach()}

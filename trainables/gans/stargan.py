"""StarGAN (Choi et al. 2018; not among /work/shared/papers) as a bundle and pure steps:
WGAN-GP adversarial loss (their eq. 8), domain classification of real images for D
(eq. 2) and of translated images for G (eq. 3), and the reconstruction loss (eq. 4),
weighted as in their full objective (eqs. 5–6).

Bundle: nets `generator`, `discriminator`; optimisers `g`, `d`. A batch is
(x, c_org, c_trg): images N×1×S×S in [-1, 1], their domains and the target domains."""

from dataclasses import dataclass

import torch

from trainables.gans.contract import GANBundle, adam
from trainables.gans.losses import classification_loss, disc_loss, gen_adv_loss, gradient_penalty, reconstruction_loss
from trainables.nets.stargan import StarDiscriminator, StarGenerator


@dataclass(frozen=True)
class StarGANWeights:
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0


def build_stargan(n_domains: int, size: int, width: float, n_blocks: int, lr_g: float, lr_d: float,
                  device: torch.device) -> GANBundle:
    """G and D with Adam at β = (0.5, 0.999), Choi et al.'s."""
    generator = StarGenerator(n_domains, width, n_blocks).to(device)
    discriminator = StarDiscriminator(size, n_domains, width).to(device)
    return GANBundle({"generator": generator, "discriminator": discriminator},
                     {"g": adam(generator.parameters(), lr_g), "d": adam(discriminator.parameters(), lr_d)})


def d_step(bundle: GANBundle, batch, weights: StarGANWeights, gen: torch.Generator | None = None
           ) -> tuple[torch.Tensor, dict]:
    """L_D = L_adv + λ_cls L_cls^r + λ_gp L_gp on a detached G(x, c_trg); the penalty's
    interpolates are drawn from `gen`. Logs: d_adv, d_cls, d_gp."""
    G, D = bundle.nets["generator"], bundle.nets["discriminator"]
    x, c_org, c_trg = batch
    src_real, cls_real = D(x)
    fake = G(x, c_trg).detach()
    d_adv, _ = disc_loss("wgan-gp", src_real, D.critic(fake))
    d_cls = classification_loss(cls_real, c_org)
    d_gp = gradient_penalty(D.critic, x, fake, gen)
    loss = d_adv + weights.lambda_cls * d_cls + weights.lambda_gp * d_gp
    return loss, {"d_adv": d_adv.detach(), "d_cls": d_cls.detach(), "d_gp": d_gp.detach()}


def g_step(bundle: GANBundle, batch, weights: StarGANWeights) -> tuple[torch.Tensor, dict]:
    """L_G = L_adv + λ_cls L_cls^f + λ_rec ‖x − G(G(x, c_trg), c_org)‖₁. Logs: g_adv, g_cls, g_rec."""
    G, D = bundle.nets["generator"], bundle.nets["discriminator"]
    x, c_org, c_trg = batch
    fake = G(x, c_trg)
    src_fake, cls_fake = D(fake)
    g_adv, _ = gen_adv_loss("wgan-gp", src_fake)
    g_cls = classification_loss(cls_fake, c_trg)
    g_rec = reconstruction_loss(x, G(fake, c_org))
    loss = g_adv + weights.lambda_cls * g_cls + weights.lambda_rec * g_rec
    return loss, {"g_adv": g_adv.detach(), "g_cls": g_cls.detach(), "g_rec": g_rec.detach()}

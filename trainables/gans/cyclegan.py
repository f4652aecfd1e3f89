"""CycleGAN as a bundle and pure steps (Zhu et al. 2017, eqs. 1–5; Birenbaum's weighted
cycle loss and Wasserstein critics). Reference domain R ↔ target domain T.

Bundle: nets `generator_rt` (G: R → T), `generator_tr` (F: T → R), `disc_r`, `disc_t`;
optimisers `g` (both generators) and `d` (both discriminators). A batch is a pair
(real_r, real_t); the fakes (fake_t, fake_r) = (G(real_r), F(real_t)) are made once by
`translate` and shared by the generators' step and the discriminators' step after it."""

from dataclasses import dataclass

import torch

from trainables.gans.contract import GANBundle, adam
from trainables.gans.losses import cycle_loss, disc_loss, gen_adv_loss, gradient_penalty
from trainables.nets.cyclegan import CycleGANNets, create_cyclegan

NETS = ("generator_rt", "generator_tr", "disc_r", "disc_t")


@dataclass(frozen=True)
class CycleGANLosses:
    """The loss settings the steps read (a subset of trainables.gans.cyclegan_fit.GANOptions)."""

    adv_loss: str
    cycle_loss: str = "l1"
    lambda_cyc: float = 10.0
    real_label: float = 1.0
    gp_weight: float = 10.0


def create_nets(adv_loss: str, width: float, n_blocks: int) -> CycleGANNets:
    """The nets for `adv_loss`: a wgan-gp critic has layer norm, not batch norm (see nets.cyclegan)."""
    return create_cyclegan(width, n_blocks, disc_norm="layer" if adv_loss == "wgan-gp" else "batch")


def build_cyclegan(adv_loss: str, width: float, n_blocks: int, lr_g: float, lr_d: float,
                   device: torch.device) -> GANBundle:
    nets = create_nets(adv_loss, width, n_blocks).modules()
    for net in nets.values():
        net.to(device)
    return bundle_of(nets, adv_loss, lr_g, lr_d)


def bundle_of(nets: dict, adv_loss: str, lr_g: float, lr_d: float) -> GANBundle:
    """A bundle over existing nets named as NETS (also the toy's MLPs), with Adam at
    β1 = 0.5 as in the CycleGAN and DCGAN practice, or WGAN-GP's authors' (0, 0.9)."""
    betas = (0.0, 0.9) if adv_loss == "wgan-gp" else (0.5, 0.999)
    gens = [*nets["generator_rt"].parameters(), *nets["generator_tr"].parameters()]
    discs = [*nets["disc_r"].parameters(), *nets["disc_t"].parameters()]
    return GANBundle(nets, {"g": adam(gens, lr_g, betas), "d": adam(discs, lr_d, betas)})


def translate(bundle: GANBundle, real_r: torch.Tensor, real_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(fake_t, fake_r) = (G(real_r), F(real_t))."""
    return bundle.nets["generator_rt"](real_r), bundle.nets["generator_tr"](real_t)


def g_step(bundle: GANBundle, batch: tuple[torch.Tensor, torch.Tensor], fakes: tuple[torch.Tensor, torch.Tensor],
           losses: CycleGANLosses, gamma: float = 0.0) -> tuple[torch.Tensor, dict]:
    """Both generators' loss, eq. 4: the adversarial terms (eqs. 2–3 for lsgan, eq. 1
    for vanilla) plus λ_cyc × the cycle loss of both directions (eq. 5, or the weighted
    cycle loss with weight γ). Logs: loss_g, loss_g_adv, loss_cyc (+ cyc_weight)."""
    n = bundle.nets
    real_r, real_t = batch
    fake_t, fake_r = fakes
    adv_t, _ = gen_adv_loss(losses.adv_loss, n["disc_t"](fake_t))
    adv_r, _ = gen_adv_loss(losses.adv_loss, n["disc_r"](fake_r))
    cyc_r, logs_r = cycle_loss(losses.cycle_loss, real_r, n["generator_tr"](fake_t), disc=n["disc_r"],
                               adv_mode=losses.adv_loss, gamma=gamma)
    cyc_t, _ = cycle_loss(losses.cycle_loss, real_t, n["generator_rt"](fake_r), disc=n["disc_t"],
                          adv_mode=losses.adv_loss, gamma=gamma)
    loss = adv_t + adv_r + losses.lambda_cyc * (cyc_r + cyc_t)
    logs = {"loss_g": loss.detach(), "loss_g_adv": (adv_t + adv_r).detach(), "loss_cyc": (cyc_r + cyc_t).detach(),
            **({"cyc_weight": logs_r["cyc_weight"]} if "cyc_weight" in logs_r else {})}
    return loss, logs


def d_step(bundle: GANBundle, batch: tuple[torch.Tensor, torch.Tensor], fakes: tuple[torch.Tensor, torch.Tensor],
           losses: CycleGANLosses, gen: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """Both discriminators' loss on real images and detached fakes (eqs. 2–3 or eq. 1;
    for wgan-gp the critic loss plus gp_weight × the gradient penalty, interpolates drawn
    from `gen`). Logs: loss_d."""
    n = bundle.nets
    real_r, real_t = batch
    fake_t, fake_r = (f.detach() for f in fakes)
    loss_d_t, _ = disc_loss(losses.adv_loss, n["disc_t"](real_t), n["disc_t"](fake_t), losses.real_label)
    loss_d_r, _ = disc_loss(losses.adv_loss, n["disc_r"](real_r), n["disc_r"](fake_r), losses.real_label)
    loss = loss_d_t + loss_d_r
    if losses.adv_loss == "wgan-gp":
        loss = loss + losses.gp_weight * (gradient_penalty(n["disc_t"], real_t, fake_t, gen)
                                          + gradient_penalty(n["disc_r"], real_r, fake_r, gen))
    return loss, {"loss_d": loss.detach()}

"""GAN losses by name, as pure functions returning `(loss, logs)`.

Adversarial: `lsgan` (Zhu et al. eqs. 2–3), `vanilla` (eq. 1, as logits + BCE), and
`wgan-gp` (the slides' Wasserstein CycleGAN: critic without sigmoid, gradient penalty).
Cycle: `l1` (Zhu et al. eq. 5) and `weighted` (Birenbaum's weighted cycle loss).
FESR's recognizer: the intra-class distances with RDBP (eqs. 15–18).

Inside `per_member()` the losses that FESR's steps use are computed for K fused trials at
once (trainables.fused.fesr): every tensor carries the members on the axis after the
batch, (N, K, …), and each loss is K values, each member's own batch mean."""

from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F

from trainables.configs.cyclegan import ADVERSARIAL, CYCLE, GAMMA_SCHEDULES


_PER_MEMBER = ContextVar("per_member", default=False)


@contextmanager
def per_member():
    """Losses per fused member inside the block (the module's docstring)."""
    token = _PER_MEMBER.set(True)
    try:
        yield
    finally:
        _PER_MEMBER.reset(token)


def _mean(t: torch.Tensor) -> torch.Tensor:
    """The mean over the batch and each sample's elements: one value, or one per member."""
    return t.mean(dim=[0, *range(2, t.dim())]) if _PER_MEMBER.get() else t.mean()


def _sample_norms(t: torch.Tensor) -> torch.Tensor:
    """Each sample's Euclidean norm: (N,), or (N, K) per member."""
    return t.flatten(2).norm(dim=2) if _PER_MEMBER.get() else t.flatten(1).norm(dim=1)


def _bce_with_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if _PER_MEMBER.get():
        return _mean(F.binary_cross_entropy_with_logits(logits, target, reduction="none"))
    return F.binary_cross_entropy_with_logits(logits, target)


def _check(name: str, known: tuple[str, ...], what: str) -> None:
    if name not in known:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(known)}")


def disc_loss(mode: str, score_real: torch.Tensor, score_fake: torch.Tensor,
              real_label: float = 1.0) -> tuple[torch.Tensor, dict]:
    """Discriminator/critic loss on scores of real and (detached) fake images.
    `real_label` < 1 is the slides' soft real label (0.9); WGAN ignores it."""
    _check(mode, ADVERSARIAL, "adversarial loss")
    if mode == "lsgan":
        loss = 0.5 * (_mean((score_real - real_label) ** 2) + _mean(score_fake ** 2))
    elif mode == "vanilla":
        loss = 0.5 * (_bce_with_logits(score_real, torch.full_like(score_real, real_label))
                      + _bce_with_logits(score_fake, torch.zeros_like(score_fake)))
    else:
        loss = _mean(score_fake) - _mean(score_real)
    return loss, {"loss_d": loss.detach()}


def gen_adv_loss(mode: str, score_fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The generator's adversarial term on the discriminator's scores of its output."""
    _check(mode, ADVERSARIAL, "adversarial loss")
    if mode == "lsgan":
        loss = _mean((score_fake - 1.0) ** 2)
    elif mode == "vanilla":
        # the non-saturating form: maximise log D(G(r)) rather than minimise log(1 − D(G(r)))
        loss = _bce_with_logits(score_fake, torch.ones_like(score_fake))
    else:
        loss = -_mean(score_fake)
    return loss, {"loss_g_adv": loss.detach()}


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                     alpha: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP: (‖∇_x̂ critic(x̂)‖₂ − 1)² at random interpolates x̂ of real and fake.
    `alpha`, N×1×…×1, are the interpolation weights; else they are drawn from `generator`
    on the CPU (seeded per step for exact resume) and moved to the data's device. The input
    gradient is torch.func's."""
    if alpha is None:
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator).to(real.device)
    mixed = alpha * real + (1 - alpha) * fake
    grads = torch.func.grad(lambda x: critic(x).sum())(mixed)
    return _mean((_sample_norms(grads) - 1) ** 2)


def realness(mode: str, score: torch.Tensor) -> torch.Tensor:
    """D(a) ∈ [0, 1] per image, the weight of the weighted cycle loss: the mean patch
    score through the sigmoid for logit outputs (vanilla, WGAN), clamped for LSGAN
    (whose discriminator regresses towards 1 for real images). Detached: the weight
    says how much to trust a sample, it is not trained through."""
    mean = score.detach().flatten(1).mean(1)
    return mean.clamp(0.0, 1.0) if mode == "lsgan" else torch.sigmoid(mean)


def cycle_loss(mode: str, original: torch.Tensor, reconstructed: torch.Tensor, disc=None, adv_mode: str = "lsgan",
               gamma: float = 0.0) -> tuple[torch.Tensor, dict]:
    """One direction of the cycle loss. `l1`: ‖F(G(a)) − a‖₁ (eq. 5). `weighted`:
    E_a[D_A(a)·(γ‖f_{D_A}(F(G(a))) − f_{D_A}(a)‖₁ + (1 − γ)‖F(G(a)) − a‖₁)] with f_D the
    discriminator's last hidden layer; with γ = 0 and D_A(a) = 1 it is the plain L1."""
    _check(mode, CYCLE, "cycle loss")
    pixel = (reconstructed - original).abs().flatten(1).mean(1)
    if mode == "l1":
        loss = pixel.mean()
        return loss, {"loss_cyc": loss.detach()}
    weight = realness(adv_mode, disc(original))
    if gamma > 0:
        feature = (disc.features(reconstructed) - disc.features(original).detach()).abs().flatten(1).mean(1)
    else:
        feature = torch.zeros_like(pixel)
    loss = (weight * (gamma * feature + (1 - gamma) * pixel)).mean()
    return loss, {"loss_cyc": loss.detach(), "cyc_weight": weight.mean().detach()}


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """−log p(label | x): cross-entropy of class logits against class indices, batch mean
    (StarGAN's L_cls, FESR's L_cls,D and L_cls,R)."""
    if _PER_MEMBER.get():  # logits (N, K, C): cross_entropy takes the classes on axis 1
        return F.cross_entropy(logits.movedim(-1, 1), labels, reduction="none").mean(0)
    return F.cross_entropy(logits, labels)


def reconstruction_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """E‖x − x_rec‖₁ as a per-element mean (StarGAN's L_rec, FESR's eq. 10)."""
    return _mean((original - reconstructed).abs())


def intra_class_loss(f_x: torch.Tensor, f_pr: torch.Tensor, f_pf: torch.Tensor,
                     rdbp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(L^r_dist, L^rf_dist) of eqs. 15–16, batch means of Euclidean distances. With RDBP
    (eqs. 17–18) the real–synthetic term treats R_ext(x) as a constant: its gradient
    reaches R only through the synthetic branch."""
    real_real = _mean((f_x - f_pr).norm(dim=-1))
    anchor = f_x.detach() if rdbp else f_x
    return real_real, _mean((anchor - f_pf).norm(dim=-1))


def gamma_at(schedule: str, gamma_max: float, epoch: float, epochs: int) -> float:
    """γ of the weighted cycle loss as a pure function of the (fractional) epoch:
    `constant` γ_max, or `linear` from 0 at the start to γ_max at the last epoch."""
    _check(schedule, GAMMA_SCHEDULES, "γ schedule")
    if schedule == "constant":
        return gamma_max
    return gamma_max * min(1.0, epoch / max(epochs - 1, 1))


def linear_decay(step: int, total_steps: int, decay_start: float = 0.5) -> float:
    """Learning-rate factor: 1 for the first `decay_start` of training, then linearly to 0
    (the CycleGAN practice the slides follow)."""
    t = step / max(total_steps, 1)
    return 1.0 if t < decay_start else max(0.0, (1 - t) / (1 - decay_start))


__all__ = ["ADVERSARIAL", "CYCLE", "GAMMA_SCHEDULES", "per_member", "disc_loss", "gen_adv_loss", "gradient_penalty",
           "cycle_loss", "classification_loss", "reconstruction_loss", "intra_class_loss", "gamma_at", "linear_decay",
           "realness"]

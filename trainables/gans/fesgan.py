"""FESGAN and the recognition network R (FESR, IEEE TMM) as a bundle and pure steps, one
per network of Algorithm 1: D_z (eq. 24), D_img (eq. 23), R (eq. 26) and G (eq. 22 in
stage 1, eq. 25 in stage 2). A variant's switches (trainables.configs.fesr_variants) say which
terms exist.

Bundle: nets `encoder` and `decoder` (G = G_dec ∘ G_enc), `d_img`, `d_z`, `recognizer`
(those the variant has); optimisers `g` (encoder and decoder), `d_img`, `d_z`, `r`. A batch
is the dict trainables.gans.fesr_fit draws: x, y, x_pr (a real image of x's class), y_other
(y′ ≠ y), v_hat, v_rec, v_pf (intensities), z (the U(−1, 1) prior) and gp_alpha (the
gradient penalty's interpolation weights). Eqs. 10 and 12 are per-element means,
a declared deviation explained in trainables.gans.fesr_fit."""

from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from trainables.configs.fesr_variants import Variant
from trainables.gans.contract import GANBundle, adam
from trainables.gans.losses import (classification_loss, disc_loss, gen_adv_loss, gradient_penalty, intra_class_loss,
                                    reconstruction_loss)
from trainables.nets.fesgan import Decoder, Encoder, ImageDiscriminator, LatentDiscriminator, Recognizer


def build_fesgan(variant: Variant, size: int, gan_width: float, r_width: float, lr: float, n_classes: int,
                 device: torch.device, trunk=None) -> GANBundle:
    """The variant's networks, each with Adam at lr, β = (0.5, 0.999) (Section IV-B); R's
    optimiser holds only its trainable parameters (a frozen trunk stays frozen)."""
    nets = {}
    if variant.gan:
        nets["encoder"] = Encoder(size, gan_width)
        nets["decoder"] = Decoder(size, n_classes, gan_width)
        if variant.d_img:
            nets["d_img"] = ImageDiscriminator(size, n_classes, gan_width)
        if variant.d_z:
            nets["d_z"] = LatentDiscriminator()
    if variant.recognizer:
        nets["recognizer"] = Recognizer(size, n_classes, r_width, trunk)
    for net in nets.values():
        net.to(device)
    optims = {}
    if variant.gan:
        optims["g"] = adam([*nets["encoder"].parameters(), *nets["decoder"].parameters()], lr)
        for name in ("d_img", "d_z"):
            if name in nets:
                optims[name] = adam(nets[name].parameters(), lr)
    if variant.recognizer:
        optims["r"] = adam([p for p in nets["recognizer"].parameters() if p.requires_grad], lr)
    return GANBundle(nets, optims)


def expression_code(labels: torch.Tensor, n_classes: int, v: torch.Tensor) -> torch.Tensor:
    """u(y′) = v ⊙ (2y′ − 1) (eq. 2): +v_k for the target class, −v_k for the others."""
    return v * (2 * F.one_hot(labels, n_classes).float() - 1)


class Translation(NamedTuple):
    """G's outputs for one batch: g(x) (eq. 1), x̂ with expression y′ (eq. 3) and x_rec
    with the input's own expression y (eq. 11)."""

    code: torch.Tensor
    x_hat: torch.Tensor
    x_rec: torch.Tensor


def translate(bundle: GANBundle, batch: dict, n_classes: int) -> Translation:
    enc, dec = bundle.nets["encoder"], bundle.nets["decoder"]
    code = enc(batch["x"])
    x_hat = dec(code, expression_code(batch["y_other"], n_classes, batch["v_hat"]))
    x_rec = dec(code, expression_code(batch["y"], n_classes, batch["v_rec"]))
    return Translation(code, x_hat, x_rec)


def dz_step(bundle: GANBundle, batch: dict, code: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """L_Dz (eq. 24 = eq. 7): −log D_z(z) − log(1 − D_z(g(x))), g(x) detached. Logs: d_z."""
    dz = bundle.nets["d_z"]
    half, _ = disc_loss("vanilla", dz(batch["z"]), dz(code.detach()))
    # disc_loss halves the two BCE terms (the CycleGAN practice); eq. 7 sums them. ×2 is exact in floating point.
    loss = 2 * half
    return loss, {"d_z": loss.detach()}


def dimg_step(bundle: GANBundle, batch: dict, x_hat: torch.Tensor, lambdas, gp_weight: float,
              with_cls: bool) -> tuple[torch.Tensor, dict]:
    """L_Dimg (eq. 23): λ5 (WGAN critic loss, eq. 5, + gp_weight × gradient penalty) plus
    L^r_cls,D (eq. 9) on real images when the auxiliary classifier is on. Logs:
    d_adv_img, gp (+ d_cls_real)."""
    dimg, x = bundle.nets["d_img"], batch["x"]
    score_real, cls_real = dimg(x)
    d_adv, _ = disc_loss("wgan-gp", score_real, dimg.critic(x_hat.detach()))
    gp = gradient_penalty(dimg.critic, x, x_hat.detach(), alpha=batch["gp_alpha"])
    loss = lambdas[4] * (d_adv + gp_weight * gp)
    logs = {"d_adv_img": d_adv.detach(), "gp": gp.detach()}
    if with_cls:
        d_cls = classification_loss(cls_real, batch["y"])
        loss = loss + d_cls
        logs["d_cls_real"] = d_cls.detach()
    return loss, logs


def r_step(bundle: GANBundle, batch: dict, synthetic: tuple[torch.Tensor, torch.Tensor] | None, lambdas,
           variant: Variant) -> tuple[torch.Tensor, dict]:
    """L_R (eq. 26): L_cls,R on real (eq. 20) and synthetic images (eq. 21, when there are
    any) plus λ6 L_intra (eqs. 14–16, RDBP per eqs. 17–18). `synthetic`: (x^{p,f}, labels),
    detached here. Logs: r_cls_real (+ r_cls_fake, intra_rr, intra_rf)."""
    r, x, y = bundle.nets["recognizer"], batch["x"], batch["y"]
    # One forward pass over x, x^{p,f} and x^{p,r} (R has no batch statistics, so this
    # is the same as three passes, in fewer and larger operations).
    parts = [x] + ([synthetic[0].detach()] if synthetic is not None else []) + (
        [batch["x_pr"]] if synthetic is not None and variant.intra else [])
    feats = r.features(torch.cat(parts)).split([len(p) for p in parts])
    cls_real = classification_loss(r.cls(feats[0]), y)
    loss, logs = cls_real, {"r_cls_real": cls_real.detach()}
    if synthetic is not None:
        cls_fake = classification_loss(r.cls(feats[1]), synthetic[1])
        loss = loss + cls_fake
        logs["r_cls_fake"] = cls_fake.detach()
        if variant.intra:
            rr, rf = intra_class_loss(feats[0], feats[2], feats[1], variant.rdbp)
            loss = loss + lambdas[5] * (rr + rf)
            logs.update(intra_rr=rr.detach(), intra_rf=rf.detach())
    return loss, logs


def g_step(bundle: GANBundle, batch: dict, tr: Translation, lambdas, variant: Variant,
           identity: Callable[[torch.Tensor], torch.Tensor] | None,
           synthetic: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict]:
    """L_G: eq. 22, and in stage 2 (`synthetic` given: R's images with their labels, made
    with gradients) eq. 25's λ4 L^f_cls,R through the already updated R. Terms: L^img_advg
    (eq. 4), λ4 L^f_cls,D (eq. 8), λ1 L^z_advg (eq. 6), λ2 L_rec (eq. 10), λ3 L_id (eq. 12;
    `identity` is the frozen feature extractor, or None). Logs: one per term present,
    unweighted (g_adv_img, g_cls_d, g_adv_z, rec, id, g_cls_r)."""
    terms, logs = [], {}

    def add(name: str, value: torch.Tensor, weight: float | None = None) -> None:
        logs[name] = value.detach()
        terms.append(value if weight is None else weight * value)

    x = batch["x"]
    if variant.d_img:
        score_fake, cls_fake = bundle.nets["d_img"](tr.x_hat)
        add("g_adv_img", gen_adv_loss("wgan-gp", score_fake)[0])
        if variant.d_img_cls:
            add("g_cls_d", classification_loss(cls_fake, batch["y_other"]), lambdas[3])
    if variant.d_z:
        add("g_adv_z", gen_adv_loss("vanilla", bundle.nets["d_z"](tr.code))[0], lambdas[0])
    if variant.rec:
        add("rec", reconstruction_loss(x, tr.x_rec), lambdas[1])
    if identity is not None:
        f_rec, f_x = identity(torch.cat([tr.x_rec, x])).chunk(2)
        add("id", reconstruction_loss(f_x.detach(), f_rec), lambdas[2])
    if synthetic is not None:
        add("g_cls_r", classification_loss(bundle.nets["recognizer"](synthetic[0]), synthetic[1]), lambdas[3])
    return torch.stack(terms).sum(), logs

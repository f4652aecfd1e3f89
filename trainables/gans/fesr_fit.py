"""FESR's learning algorithm (the paper's Algorithm 1) for one variant: FESGAN alone for
P_pre iterations, then FESGAN and the recognition network R jointly (eqs. 22–26).

Every iteration draws its batch, labels, v and z from a generator seeded by (seed,
iteration), and reseeds torch's global generator (dropout) the same way, so a run
resumed from a checkpoint repeats the uninterrupted one exactly on the same device.
Images are N×1×S×S in [-1, 1].

Declared deviation from the paper's text: L_rec (eq. 10) and L_id (eq. 12) are written
as L1 norms, E[‖x − x_rec‖₁] and E[‖F_id(x_rec) − F_id(x)‖₁]; here they are per-element
means, the norm divided by the number of pixels S² (one channel) and by the identity
feature's dimension d (128 for our stand-in, 256 for Light CNN-29). A constant factor,
absorbed by λ: the paper's λ2 on the literal norm equals λ2·S² on our mean (10 → 163,840
at 128 px), its λ3 equals λ3·d. We keep the paper's numbers (λ2 = 10, λ3 = 5) on the
means because (1) only then do they balance the O(1) adversarial and classification
terms of eqs. 22 and 25 — a literal pixel sum at 128 px weighted by 10 outweighs them by
about four orders of magnitude, which would leave an auto-encoder (StarGAN's code, too,
takes its L1 reconstruction term as a mean); (2) a mean keeps each λ's meaning the same
at 48, 64 and 128 px, where a sum scales with S². The intra-class terms (eqs. 15–16)
are Euclidean norms, as written."""

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables.gans.fesr_variants import Variant
from trainables.gans.losses import gradient_penalty
from trainables.nets.fesgan import CODE_DIM, Decoder, Encoder, ImageDiscriminator, LatentDiscriminator, Recognizer

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


def expression_code(labels: torch.Tensor, n_classes: int, v: torch.Tensor) -> torch.Tensor:
    """u(y′) = v ⊙ (2y′ − 1) (eq. 2): +v_k for the target class, −v_k for the others."""
    return v * (2 * F.one_hot(labels, n_classes).float() - 1)


def intra_class_loss(f_x: torch.Tensor, f_pr: torch.Tensor, f_pf: torch.Tensor,
                     rdbp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(L^r_dist, L^rf_dist) of eqs. 15–16, batch means of Euclidean distances. With RDBP
    (eqs. 17–18) the real–synthetic term treats R_ext(x) as a constant: its gradient
    reaches R only through the synthetic branch."""
    real_real = (f_x - f_pr).norm(dim=1).mean()
    anchor = f_x.detach() if rdbp else f_x
    return real_real, (anchor - f_pf).norm(dim=1).mean()


def _adam(params, lr: float) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


class FESRTrainer:
    """The four networks, their optimisers, and one iteration of Algorithm 1 for a variant.
    `identity` maps images to identity features (frozen), or is None (L_id off)."""

    def __init__(self, variant: Variant, opts: FESROptions, n_classes: int, images: torch.Tensor,
                 labels: torch.Tensor, device: torch.device,
                 identity: Callable[[torch.Tensor], torch.Tensor] | None = None, trunk: nn.Module | None = None):
        self.variant, self.opts, self.k, self.device = variant, opts, n_classes, device
        self.images, self.labels = images, labels
        self.by_class = [torch.nonzero(labels == c).flatten() for c in range(n_classes)]
        self.identity = identity if variant.identity else None
        torch.manual_seed(opts.seed)
        self.nets: dict[str, nn.Module] = {}
        if variant.gan:
            self.nets["encoder"] = Encoder(opts.size, opts.gan_width)
            self.nets["decoder"] = Decoder(opts.size, n_classes, opts.gan_width)
            if variant.d_img:
                self.nets["d_img"] = ImageDiscriminator(opts.size, n_classes, opts.gan_width)
            if variant.d_z:
                self.nets["d_z"] = LatentDiscriminator()
        if variant.recognizer:
            self.nets["recognizer"] = Recognizer(opts.size, n_classes, opts.r_width, trunk)
        for net in self.nets.values():
            net.to(device)
        self.optims: dict[str, torch.optim.Optimizer] = {}
        if variant.gan:
            self.optims["g"] = _adam([*self.nets["encoder"].parameters(), *self.nets["decoder"].parameters()], opts.lr)
            for name in ("d_img", "d_z"):
                if name in self.nets:
                    self.optims[name] = _adam(self.nets[name].parameters(), opts.lr)
        if variant.recognizer:
            self.optims["r"] = _adam([p for p in self.nets["recognizer"].parameters() if p.requires_grad], opts.lr)

    # --- schedule ---------------------------------------------------------------------
    @property
    def pretrain_iters(self) -> int:
        if not self.variant.recognizer:
            return self.opts.pretrain_iters
        return self.opts.pretrain_iters if (self.variant.gan and self.variant.pretrain) else 0

    @property
    def total_iters(self) -> int:
        return self.pretrain_iters + (self.opts.joint_iters if self.variant.recognizer else 0)

    def in_stage2(self, t: int) -> bool:
        return self.variant.recognizer and t >= self.pretrain_iters

    # --- one iteration ----------------------------------------------------------------
    def _draw(self, t: int):
        gen = torch.Generator().manual_seed(self.opts.seed * 1_000_003 + t)
        torch.manual_seed(self.opts.seed * 1_000_003 + t)
        n, b, k = len(self.labels), self.opts.batch_size, self.k
        idx = torch.randint(0, n, (b,), generator=gen)
        y = self.labels[idx]
        partner = torch.stack([self.by_class[c][torch.randint(0, len(self.by_class[c]), (1,), generator=gen)][0]
                               for c in y.tolist()])
        other = (y + torch.randint(1, k, (b,), generator=gen)) % k  # y′ ≠ y
        draws = {"x": self.images[idx], "y": y, "x_pr": self.images[partner], "y_other": other,
                 "v_hat": torch.rand(b, k, generator=gen), "v_rec": torch.rand(b, k, generator=gen),
                 "v_pf": torch.rand(b, k, generator=gen), "z": torch.rand(b, CODE_DIM, generator=gen) * 2 - 1,
                 "gp_gen": torch.Generator().manual_seed(self.opts.seed * 7_919 + t)}
        return {key: (val.to(self.device) if isinstance(val, torch.Tensor) else val) for key, val in draws.items()}

    def synthesize(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor,
                   z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """R's synthetic images and their labels: x^{p,f} = G_dec([z, u(y)]) (eq. 13), one per
        real image, labelled y; or, for FESR_Real, every real input x decoded from g(x) into
        all K expressions (Section IV-D: "we generate images with all expressions from the
        input images"), K per real image, labelled by expression, each input's K sharing
        its intensities v."""
        if self.variant.synthetic_from == "gx":
            labels = torch.arange(self.k, device=x.device).repeat(len(x))
            code = self.nets["encoder"](x).repeat_interleave(self.k, dim=0)
            u = expression_code(labels, self.k, v.repeat_interleave(self.k, dim=0))
            return self.nets["decoder"](code, u), labels
        return self.nets["decoder"](z, expression_code(y, self.k, v)), y

    def step(self, t: int) -> dict[str, float]:
        """Iteration t of Algorithm 1; returns the value of every loss term it computed."""
        v, lam, d = self.variant, self.opts.lambdas, self._draw(t)
        x, y = d["x"], d["y"]
        stage2 = self.in_stage2(t)
        gan_trains = v.gan and (not stage2 or v.joint)
        logs: dict[str, torch.Tensor] = {}
        for net in self.nets.values():
            net.train()
        if gan_trains:
            enc, dec = self.nets["encoder"], self.nets["decoder"]
            code = enc(x)
            if v.d_z:  # lines 3–6: D_z on the prior against g(x)
                dz = self.nets["d_z"]
                real, fake = dz(d["z"]), dz(code.detach())
                logs["d_z"] = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                               + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
                self._update("d_z", logs["d_z"])
            x_hat = dec(code, expression_code(d["y_other"], self.k, d["v_hat"]))  # line 7, eq. 3
            if v.d_img:  # lines 8–9, eq. 23
                dimg = self.nets["d_img"]
                score_real, cls_real = dimg(x)
                logs["d_adv_img"] = dimg.critic(x_hat.detach()).mean() - score_real.mean()
                logs["gp"] = gradient_penalty(dimg.critic, x, x_hat.detach(), d["gp_gen"])
                loss = lam[4] * (logs["d_adv_img"] + self.opts.gp_weight * logs["gp"])
                if v.d_img_cls:
                    logs["d_cls_real"] = F.cross_entropy(cls_real, y)
                    loss = loss + logs["d_cls_real"]
                self._update("d_img", loss)
            x_rec = dec(code, expression_code(y, self.k, d["v_rec"]))  # line 10, eq. 11
            g_terms = []
            if v.d_img:
                score_fake, cls_fake = self.nets["d_img"](x_hat)
                logs["g_adv_img"] = -score_fake.mean()
                g_terms.append(logs["g_adv_img"])
                if v.d_img_cls:
                    logs["g_cls_d"] = F.cross_entropy(cls_fake, d["y_other"])
                    g_terms.append(lam[3] * logs["g_cls_d"])
            if v.d_z:
                score = self.nets["d_z"](code)
                logs["g_adv_z"] = F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
                g_terms.append(lam[0] * logs["g_adv_z"])
            if v.rec:
                logs["rec"] = (x_rec - x).abs().mean()
                g_terms.append(lam[1] * logs["rec"])
            if self.identity is not None:
                f_rec, f_x = self.identity(torch.cat([x_rec, x])).chunk(2)
                logs["id"] = (f_rec - f_x.detach()).abs().mean()
                g_terms.append(lam[2] * logs["id"])
        if stage2:  # lines 14–16, eqs. 19–21, 26
            r = self.nets["recognizer"]
            x_pf = None
            if v.gan:
                with torch.set_grad_enabled(gan_trains):
                    x_pf, y_pf = self.synthesize(x, y, d["v_pf"], d["z"])
            # One forward pass over x, x^{p,f} and x^{p,r} (R has no batch statistics, so this
            # is the same as three passes, in fewer and larger operations).
            parts = [x] + ([x_pf.detach()] if x_pf is not None else []) + ([d["x_pr"]] if x_pf is not None
                                                                             and v.intra else [])
            feats = r.features(torch.cat(parts)).split([len(p) for p in parts])
            f_x = feats[0]
            logs["r_cls_real"] = F.cross_entropy(r.cls(f_x), y)
            loss_r = logs["r_cls_real"]
            if x_pf is not None:
                f_pf = feats[1]
                logs["r_cls_fake"] = F.cross_entropy(r.cls(f_pf), y_pf)
                loss_r = loss_r + logs["r_cls_fake"]
                if v.intra:
                    logs["intra_rr"], logs["intra_rf"] = intra_class_loss(f_x, feats[2], f_pf, v.rdbp)
                    loss_r = loss_r + lam[5] * (logs["intra_rr"] + logs["intra_rf"])
            self._update("r", loss_r)
            if gan_trains:  # eq. 25: R's classification of the synthetic images also trains G
                logs["g_cls_r"] = F.cross_entropy(r(x_pf), y_pf)
                g_terms.append(lam[3] * logs["g_cls_r"])
        if gan_trains:  # line 19
            self._update("g", torch.stack(g_terms).sum())
        return {name: float(value.detach()) for name, value in logs.items()}

    @property
    def recognizer_steps(self) -> int:
        """Optimizer steps R has taken (Adam's own count, kept in checkpoints): the budget
        every FESR variant gives R, `joint_iters`."""
        opt = self.optims.get("r")
        return max((int(state["step"]) for state in opt.state.values()), default=0) if opt else 0

    def _update(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optims[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # --- state ------------------------------------------------------------------------
    def state_dict(self, names: tuple[str, ...] | None = None) -> dict:
        nets = {k: n.state_dict() for k, n in self.nets.items() if names is None or k in names}
        opts = {k: o.state_dict() for k, o in self.optims.items()
                if names is None or k in {"g": ("encoder",), "d_img": ("d_img",), "d_z": ("d_z",),
                                          "r": ("recognizer",)}[k][0] in names}
        return {"nets": nets, "optims": opts}

    def load_state_dict(self, state: dict) -> None:
        for k, s in state["nets"].items():
            self.nets[k].load_state_dict(s)
        for k, s in state["optims"].items():
            self.optims[k].load_state_dict(s)

    def gan_state(self) -> dict:
        """FESGAN's networks and optimisers: what stage 1 leaves for stage 2."""
        return self.state_dict(("encoder", "decoder", "d_img", "d_z"))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch: int = 256) -> np.ndarray:
        r = self.nets["recognizer"].eval()
        out = [F.softmax(r(images[i:i + batch].to(self.device)), 1).cpu() for i in range(0, len(images), batch)]
        return torch.cat(out).numpy()

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch: int = 256) -> np.ndarray:
        r = self.nets["recognizer"].eval()
        return torch.cat([r.features(images[i:i + batch].to(self.device)).cpu()
                          for i in range(0, len(images), batch)]).numpy()

    def recognizer_copy(self) -> dict:
        return copy.deepcopy({k: v.cpu() for k, v in self.nets["recognizer"].state_dict().items()})

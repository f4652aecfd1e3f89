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
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables.configs.fesr import PAPER_LAMBDAS, FESROptions
from trainables.configs.fesr_variants import Variant
from trainables.gans import fesgan
from trainables.gans.checkpoint import bundle_state, load_bundle_state
from trainables.gans.contract import floats, update
from trainables.gans.fesgan import build_fesgan, expression_code, intra_class_loss
from trainables.nets.kernels import placed
from trainables.nets.fesgan import CODE_DIM

__all__ = ["PAPER_LAMBDAS", "FESROptions", "FESRTrainer", "draw_batch", "dropout_seed", "synthesize", "expression_code", "intra_class_loss"]


def dropout_seed(seed: int, t: int) -> int:
    """The seed of iteration t's dropout masks (torch's global generator)."""
    return seed * 1_000_003 + t


def draw_batch(images: torch.Tensor, labels: torch.Tensor, by_class: list[torch.Tensor], batch_size: int,
               seed: int, t: int) -> dict[str, torch.Tensor]:
    """Iteration t's batch (the dict trainables.gans.fesgan's steps take), drawn on the CPU
    from a generator seeded by (seed, t): a pure function of them and the data."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + t)
    n, b, k = len(labels), batch_size, len(by_class)
    idx = torch.randint(0, n, (b,), generator=gen)
    y = labels[idx]
    partner = torch.stack([by_class[c][torch.randint(0, len(by_class[c]), (1,), generator=gen)][0]
                           for c in y.tolist()])
    other = (y + torch.randint(1, k, (b,), generator=gen)) % k  # y′ ≠ y
    return {"x": images[idx], "y": y, "x_pr": images[partner], "y_other": other,
            "v_hat": torch.rand(b, k, generator=gen), "v_rec": torch.rand(b, k, generator=gen),
            "v_pf": torch.rand(b, k, generator=gen), "z": torch.rand(b, CODE_DIM, generator=gen) * 2 - 1,
            "gp_alpha": torch.rand(b, 1, 1, 1, generator=torch.Generator().manual_seed(seed * 7_919 + t))}


def synthesize(bundle, variant: Variant, k: int, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor,
               z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R's synthetic images and their labels: x^{p,f} = G_dec([z, u(y)]) (eq. 13), one per
    real image, labelled y; or, for FESR_Real, every real input x decoded from g(x) into
    all K expressions (Section IV-D: "we generate images with all expressions from the
    input images"), K per real image, labelled by expression, each input's K sharing
    its intensities v; or, for FESR_Real-matched, g(x_i) decoded into the expression of
    the batch's next input, y_{i+1} (batches are drawn independently, so it is independent
    of x_i): one per real image and the same labels as the prior's images, so only the
    identity source differs from FESR_JL-IL. Fused members' x is (N, M, 1, S, S) for M
    members (trainables.fused.fesr), and their labels (N·k, M) for k classes."""
    if variant.synthetic_from == "gx":
        labels = torch.arange(k, device=x.device).repeat(len(x))
        if x.dim() == 5:
            labels = labels[:, None].expand(-1, x.shape[1])
        code = bundle.nets["encoder"](x).repeat_interleave(k, dim=0)
        u = expression_code(labels, k, v.repeat_interleave(k, dim=0))
        return bundle.nets["decoder"](code, u), labels
    if variant.synthetic_from == "gx_matched":
        labels = y.roll(-1, 0)
        return bundle.nets["decoder"](bundle.nets["encoder"](x), expression_code(labels, k, v)), labels
    return bundle.nets["decoder"](z, expression_code(y, k, v)), y


class FESRTrainer:
    """The variant's bundle (trainables.gans.fesgan) and one iteration of Algorithm 1.
    `identity` maps images to identity features (frozen), or is None (L_id off)."""

    def __init__(self, variant: Variant, opts: FESROptions, n_classes: int, images: torch.Tensor,
                 labels: torch.Tensor, device: torch.device,
                 identity: Callable[[torch.Tensor], torch.Tensor] | None = None, trunk: nn.Module | None = None):
        self.variant, self.opts, self.k, self.device = variant, opts, n_classes, device
        self.images, self.labels = images, labels
        self.by_class = [torch.nonzero(labels == c).flatten() for c in range(n_classes)]
        self.identity = identity if variant.identity else None
        torch.manual_seed(opts.seed)
        self.bundle = build_fesgan(variant, opts.size, opts.gan_width, opts.r_width, opts.lr, n_classes, device, trunk)
        self.nets, self.optims = self.bundle.nets, self.bundle.optims
        for net in self.nets.values():
            placed(net, device, opts.kernels)

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
        torch.manual_seed(dropout_seed(self.opts.seed, t))
        batch = draw_batch(self.images, self.labels, self.by_class, self.opts.batch_size, self.opts.seed, t)
        return {key: val.to(self.device) for key, val in batch.items()}

    def synthesize(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor,
                   z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """R's synthetic images and their labels (`synthesize` below, with this trainer's nets)."""
        return synthesize(self.bundle, self.variant, self.k, x, y, v, z)

    # --- how a step function runs: on this trial's bundle (a fused trainer's: its own) ----
    def _run(self, step: Callable, *tensors):
        return step(self.bundle, *tensors)

    def _update(self, optimizer: str, loss: torch.Tensor) -> None:
        update(self.optims[optimizer], loss)

    def _identity(self, bundle) -> Callable[[torch.Tensor], torch.Tensor] | None:
        return self.identity

    def _logs(self, logs: dict[str, torch.Tensor]) -> dict:
        return floats(logs)

    def _lambdas(self) -> tuple:
        return self.opts.lambdas

    def step(self, t: int) -> dict:
        """Iteration t of Algorithm 1: D_z's update (lines 3–6), D_img's (lines 8–9), in stage
        2 R's (lines 14–16), then G's (line 19); returns the value of every loss term computed."""
        v, lam, k, batch = self.variant, self._lambdas(), self.k, self._draw(t)
        stage2 = self.in_stage2(t)
        gan_trains = v.gan and (not stage2 or v.joint)
        logs: dict[str, torch.Tensor] = {}
        self.bundle.train()

        def run(optimizer: str, step: Callable, *tensors) -> None:
            loss, step_logs = self._run(step, *tensors)
            self._update(optimizer, loss)
            logs.update(step_logs)

        if gan_trains:
            tr = self._run(lambda b, batch: fesgan.translate(b, batch, k), batch)
            if v.d_z:
                run("d_z", fesgan.dz_step, batch, tr.code)
            if v.d_img:
                run("d_img", lambda b, batch, x_hat: fesgan.dimg_step(b, batch, x_hat, lam, self.opts.gp_weight,
                                                                       v.d_img_cls), batch, tr.x_hat)
        synthetic = None
        if stage2:
            if v.gan:
                with torch.set_grad_enabled(gan_trains):
                    synthetic = self._run(lambda b, batch: synthesize(b, v, k, batch["x"], batch["y"], batch["v_pf"],
                                                                      batch["z"]), batch)
            run("r", lambda b, batch, syn: fesgan.r_step(b, batch, syn, lam, v), batch, synthetic)
        if gan_trains:
            run("g", lambda b, batch, tr, syn: fesgan.g_step(b, batch, tr, lam, v, self._identity(b), syn),
                batch, tr, synthetic)
        return self._logs(logs)

    @property
    def recognizer_steps(self) -> int:
        """Optimizer steps R has taken (Adam's own count, kept in checkpoints): the budget
        every FESR variant gives R, `joint_iters`."""
        opt = self.optims.get("r")
        return max((int(state["step"]) for state in opt.state.values()), default=0) if opt else 0

    # --- state ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return bundle_state(self.bundle)

    def load_state_dict(self, state: dict) -> None:
        load_bundle_state(self.bundle, state)

    def gan_state(self) -> dict:
        """FESGAN's networks and optimisers: what stage 1 leaves for stage 2."""
        return bundle_state(self.bundle, nets=("encoder", "decoder", "d_img", "d_z"), optims=("g", "d_img", "d_z"))

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

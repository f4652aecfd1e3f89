"""The training loop of one CycleGAN (reference class R ↔ target class T), reporting once
per epoch with a resumable checkpoint.

One epoch is ceil(max(|R|, |T|) / batch) steps; each domain is drawn in an order fixed by
(seed, epoch), the smaller one cycled, so a resumed run repeats the interrupted one
exactly on the same device. Per step: the generators' update (adversarial + λ_cyc ×
cycle, both directions), then the discriminators' (with the gradient penalty for
wgan-gp). No image history pool (Shrivastava et al.), which Zhu et al. do not mention."""

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from trainables.losses import cycle_loss, disc_loss, gamma_at, gen_adv_loss, gradient_penalty, linear_decay
from trainables.nets.cyclegan import CycleGANNets, create_cyclegan
from trainables.reporting import Reporter


@dataclass(frozen=True)
class GANOptions:
    epochs: int
    batch_size: int
    lr_g: float
    lr_d: float
    adv_loss: str
    cycle_loss: str
    gamma_max: float
    gamma_schedule: str
    lambda_cyc: float
    real_label: float
    lr_decay: bool
    gp_weight: float
    width: float
    n_blocks: int
    seed: int


def _set_requires_grad(modules, flag: bool) -> None:
    for m in modules:
        for p in m.parameters():
            p.requires_grad_(flag)


def _optimizers(nets: CycleGANNets, opts: GANOptions):
    # β1 = 0.5 as in the CycleGAN and DCGAN practice; WGAN-GP's authors use (0, 0.9).
    betas = (0.0, 0.9) if opts.adv_loss == "wgan-gp" else (0.5, 0.999)
    gens = list(nets.generator_rt.parameters()) + list(nets.generator_tr.parameters())
    discs = list(nets.disc_r.parameters()) + list(nets.disc_t.parameters())
    return torch.optim.Adam(gens, lr=opts.lr_g, betas=betas), torch.optim.Adam(discs, lr=opts.lr_d, betas=betas)


def _step(nets: CycleGANNets, opt_g, opt_d, real_r, real_t, opts: GANOptions, gamma: float, gen) -> dict:
    G, F, D_r, D_t = nets.generator_rt, nets.generator_tr, nets.disc_r, nets.disc_t
    _set_requires_grad([D_r, D_t], False)
    fake_t, fake_r = G(real_r), F(real_t)
    adv_t, _ = gen_adv_loss(opts.adv_loss, D_t(fake_t))
    adv_r, _ = gen_adv_loss(opts.adv_loss, D_r(fake_r))
    cyc_r, logs_r = cycle_loss(opts.cycle_loss, real_r, F(fake_t), disc=D_r, adv_mode=opts.adv_loss, gamma=gamma)
    cyc_t, _ = cycle_loss(opts.cycle_loss, real_t, G(fake_r), disc=D_t, adv_mode=opts.adv_loss, gamma=gamma)
    loss_g = adv_t + adv_r + opts.lambda_cyc * (cyc_r + cyc_t)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()

    _set_requires_grad([D_r, D_t], True)
    fake_t, fake_r = fake_t.detach(), fake_r.detach()
    loss_d_t, _ = disc_loss(opts.adv_loss, D_t(real_t), D_t(fake_t), opts.real_label)
    loss_d_r, _ = disc_loss(opts.adv_loss, D_r(real_r), D_r(fake_r), opts.real_label)
    loss_d = loss_d_t + loss_d_r
    if opts.adv_loss == "wgan-gp":
        loss_d = loss_d + opts.gp_weight * (gradient_penalty(D_t, real_t, fake_t, gen)
                                            + gradient_penalty(D_r, real_r, fake_r, gen))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return {"loss_g": loss_g.item(), "loss_d": loss_d.item(), "loss_g_adv": (adv_t + adv_r).item(),
            "loss_cyc": (cyc_r + cyc_t).item(), **({"cyc_weight": logs_r["cyc_weight"]} if "cyc_weight" in logs_r else {})}


def _draw(n: int, steps: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """steps × batch indices into a domain of n images: whole permutations, cycled."""
    need = steps * batch
    order = torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(need / n))])
    return order[:need].view(steps, batch)


def train_cyclegan(reference: torch.Tensor, target: torch.Tensor, opts: GANOptions, reporter: Reporter,
                   device: torch.device, evaluate: Callable[[CycleGANNets, int], dict],
                   prefix: str = "gan") -> CycleGANNets:
    """Train on images in [-1, 1] (N×1×S×S); `evaluate(nets, epoch)` adds validation
    metrics (e.g. `val/fid_fer`) to each epoch's report. Returns the trained nets."""
    torch.manual_seed(opts.seed)
    nets = create_cyclegan(opts.width, opts.n_blocks)
    for m in nets.modules().values():
        m.to(device)
    opt_g, opt_d = _optimizers(nets, opts)
    start = 0
    restored = reporter.restore()
    if restored:
        state = torch.load(Path(restored) / "cyclegan.pt", map_location=device, weights_only=False)
        for name, m in nets.modules().items():
            m.load_state_dict(state[name])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        start = state["epoch"] + 1
    batch = min(opts.batch_size, len(reference), len(target))
    steps = math.ceil(max(len(reference), len(target)) / batch)
    total = opts.epochs * steps
    for epoch in range(start, opts.epochs):
        for m in nets.modules().values():
            m.train()
        gen = torch.Generator().manual_seed(opts.seed * 100_003 + epoch)
        torch.manual_seed(opts.seed * 100_003 + epoch)
        idx_r, idx_t = _draw(len(reference), steps, batch, gen), _draw(len(target), steps, batch, gen)
        sums: dict[str, float] = {}
        for i in range(steps):
            factor = linear_decay(epoch * steps + i, total) if opts.lr_decay else 1.0
            opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"] = opts.lr_g * factor, opts.lr_d * factor
            gamma = gamma_at(opts.gamma_schedule, opts.gamma_max, epoch + i / steps, opts.epochs)
            logs = _step(nets, opt_g, opt_d, reference[idx_r[i]].to(device), target[idx_t[i]].to(device),
                         opts, gamma, gen)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
        metrics = {f"{prefix}/{k}": v / steps for k, v in sums.items()}
        metrics.update({f"{prefix}/epoch": epoch, f"{prefix}/gamma": gamma})
        for m in nets.modules().values():
            m.eval()
        metrics.update(evaluate(nets, epoch))
        with tempfile.TemporaryDirectory(prefix="ferlab-gan-ckpt-") as tmp:
            state = {name: m.state_dict() for name, m in nets.modules().items()}
            torch.save({**state, "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "epoch": epoch},
                       Path(tmp) / "cyclegan.pt")
            reporter.report(metrics, checkpoint_dir=tmp)
    for m in nets.modules().values():
        m.eval()
    return nets

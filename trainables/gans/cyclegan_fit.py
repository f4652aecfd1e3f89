"""The training loop of one CycleGAN (reference class R ↔ target class T), reporting once
per epoch with a resumable checkpoint.

One epoch is ceil(max(|R|, |T|) / batch) steps; each domain is drawn in an order fixed by
(seed, epoch), the smaller one cycled, so a resumed run repeats the interrupted one
exactly on the same device. Per step: `n_critic − 1` discriminator updates, each on its
own batches with fresh (detached) fakes; then the generators' update (adversarial +
λ_cyc × cycle, both directions) and one more discriminator update on the generators'
batch and fakes. With n_critic = 1 (lsgan, vanilla) that is one update of each; wgan-gp
takes Gulrajani et al.'s n_critic = 5 critic updates per generator update, with the
gradient penalty. A step is one generator update whatever the loss, so every adversarial
loss gives the generators the same number of updates per epoch. No image history pool
(Shrivastava et al.), which Zhu et al. do not mention."""

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from trainables.core.reporting import Reporter
from trainables.gans.losses import cycle_loss, disc_loss, gamma_at, gen_adv_loss, gradient_penalty, linear_decay
from trainables.nets.cyclegan import CycleGANNets, create_cyclegan


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
    n_critic: int = 1  # discriminator updates per generator update (trainables.trials.cyclegan: 5 for wgan-gp)


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


def create_nets(opts: GANOptions) -> CycleGANNets:
    """The nets of `opts`: a wgan-gp critic has layer norm, not batch norm (see Discriminator)."""
    return create_cyclegan(opts.width, opts.n_blocks, disc_norm="layer" if opts.adv_loss == "wgan-gp" else "batch")


def _generator_step(nets: CycleGANNets, opt_g, real_r, real_t, opts: GANOptions, gamma: float):
    """One update of both generators; returns their detached fakes and the logs."""
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
    logs = {"loss_g": loss_g.item(), "loss_g_adv": (adv_t + adv_r).item(), "loss_cyc": (cyc_r + cyc_t).item(),
            **({"cyc_weight": logs_r["cyc_weight"]} if "cyc_weight" in logs_r else {})}
    return fake_t.detach(), fake_r.detach(), logs


def _disc_step(nets: CycleGANNets, opt_d, real_r, real_t, fake_r, fake_t, opts: GANOptions, gen) -> dict:
    """One update of both discriminators on real images and detached fakes."""
    D_r, D_t = nets.disc_r, nets.disc_t
    loss_d_t, _ = disc_loss(opts.adv_loss, D_t(real_t), D_t(fake_t), opts.real_label)
    loss_d_r, _ = disc_loss(opts.adv_loss, D_r(real_r), D_r(fake_r), opts.real_label)
    loss_d = loss_d_t + loss_d_r
    if opts.adv_loss == "wgan-gp":
        loss_d = loss_d + opts.gp_weight * (gradient_penalty(D_t, real_t, fake_t, gen)
                                            + gradient_penalty(D_r, real_r, fake_r, gen))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return {"loss_d": loss_d.item()}


def _step(nets: CycleGANNets, opt_g, opt_d, batches: list[tuple[torch.Tensor, torch.Tensor]], opts: GANOptions,
          gamma: float, gen) -> dict:
    """`batches`: n_critic (reference, target) pairs; the last is the generators' too."""
    for real_r, real_t in batches[:-1]:
        with torch.no_grad():
            fake_t, fake_r = nets.generator_rt(real_r), nets.generator_tr(real_t)
        _disc_step(nets, opt_d, real_r, real_t, fake_r, fake_t, opts, gen)
    real_r, real_t = batches[-1]
    fake_t, fake_r, logs = _generator_step(nets, opt_g, real_r, real_t, opts, gamma)
    return {**logs, **_disc_step(nets, opt_d, real_r, real_t, fake_r, fake_t, opts, gen)}


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
    nets = create_nets(opts)
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
        n = opts.n_critic
        idx_r, idx_t = _draw(len(reference), steps * n, batch, gen), _draw(len(target), steps * n, batch, gen)
        sums: dict[str, float] = {}
        for i in range(steps):
            factor = linear_decay(epoch * steps + i, total) if opts.lr_decay else 1.0
            opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"] = opts.lr_g * factor, opts.lr_d * factor
            gamma = gamma_at(opts.gamma_schedule, opts.gamma_max, epoch + i / steps, opts.epochs)
            batches = [(reference[idx_r[j]].to(device), target[idx_t[j]].to(device)) for j in range(i * n, (i + 1) * n)]
            logs = _step(nets, opt_g, opt_d, batches, opts, gamma, gen)
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

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

from trainables.gans.checkpoint import load_checkpoint, save_checkpoint
from trainables.gans.contract import GANBundle, floats, frozen, update
from trainables.gans.cyclegan import CycleGANLosses, bundle_of, d_step, g_step, translate
from trainables.gans.cyclegan import create_nets as gan_nets
from trainables.gans.losses import gamma_at, linear_decay
from trainables.nets.cyclegan import CycleGANNets
from trainables.core.reporting import Reporter


CHECKPOINT = "cyclegan.pt"


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


def create_nets(opts: GANOptions) -> CycleGANNets:
    """The nets of `opts` (see trainables.gans.cyclegan.create_nets)."""
    return gan_nets(opts.adv_loss, opts.width, opts.n_blocks)


def _losses(opts: GANOptions) -> CycleGANLosses:
    return CycleGANLosses(opts.adv_loss, opts.cycle_loss, opts.lambda_cyc, opts.real_label, opts.gp_weight)


def train_step(bundle: GANBundle, batches: list[tuple[torch.Tensor, torch.Tensor]], opts: GANOptions, gamma: float,
               gen) -> dict:
    """One generator update. `batches`: n_critic (reference, target) pairs; the first
    n_critic − 1 give the extra discriminator updates, each with fresh fakes; the last is
    the generators' batch, and the discriminators' update after theirs reuses its fakes."""
    losses, nets = _losses(opts), bundle.nets
    for batch in batches[:-1]:
        with torch.no_grad():
            fakes = translate(bundle, *batch)
        update(bundle.optims["d"], d_step(bundle, batch, fakes, losses, gen)[0])
    batch = batches[-1]
    with frozen(nets["disc_r"], nets["disc_t"]):
        fakes = translate(bundle, *batch)
        loss_g, logs = g_step(bundle, batch, fakes, losses, gamma)
        update(bundle.optims["g"], loss_g)
    loss_d, logs_d = d_step(bundle, batch, fakes, losses, gen)
    update(bundle.optims["d"], loss_d)
    return {**logs, **logs_d}


def _draw(n: int, steps: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """steps × batch indices into a domain of n images: whole permutations, cycled."""
    need = steps * batch
    order = torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(need / n))])
    return order[:need].view(steps, batch)


def train_cyclegan(reference: torch.Tensor, target: torch.Tensor, opts: GANOptions, reporter: Reporter,
                   device: torch.device, evaluate: Callable[[CycleGANNets, int], dict],
                   prefix: str = "gan") -> CycleGANNets:
    """Train on images in [-1, 1] (N×1×S×S); `evaluate(nets, epoch)` adds validation
    metrics (e.g. `val/fid_fer`) to each epoch's report, with `<prefix>/budget/steps`, the
    generator updates so far. Returns the trained nets."""
    torch.manual_seed(opts.seed)
    nets = create_nets(opts)
    for m in nets.modules().values():
        m.to(device)
    bundle = bundle_of(nets.modules(), opts.adv_loss, opts.lr_g, opts.lr_d)
    opt_g, opt_d = bundle.optims["g"], bundle.optims["d"]
    start = 0
    restored = reporter.restore()
    if restored:
        start = load_checkpoint(Path(restored) / CHECKPOINT, bundle, map_location=device)["epoch"] + 1
    batch = min(opts.batch_size, len(reference), len(target))
    steps = math.ceil(max(len(reference), len(target)) / batch)
    total = opts.epochs * steps
    for epoch in range(start, opts.epochs):
        bundle.train()
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
            logs = floats(train_step(bundle, batches, opts, gamma, gen))
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
        metrics = {f"{prefix}/{k}": v / steps for k, v in sums.items()}
        # generator updates so far (the discriminators take n_critic per generator update)
        metrics.update({f"{prefix}/epoch": epoch, f"{prefix}/gamma": gamma,
                        f"{prefix}/budget/steps": (epoch + 1) * steps})
        bundle.eval()
        metrics.update(evaluate(nets, epoch))
        with tempfile.TemporaryDirectory(prefix="ferlab-gan-ckpt-") as tmp:
            save_checkpoint(Path(tmp) / CHECKPOINT, bundle, epoch=epoch)
            reporter.report(metrics, checkpoint_dir=tmp)
    bundle.eval()
    return nets

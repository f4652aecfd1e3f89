"""Unsupervised DCGAN training (Radford et al. 2016): the non-saturating GAN loss, Adam
at lr 2e-4 with β1 = 0.5 (Radford's; Alharbawee & Pugeault state 0.9, the default of
trainables.synthetic.dcgan_pretrain). The trainer is given images only — there is no label
argument, so no label can reach it."""

from dataclasses import dataclass

import torch

from trainables.gans import dcgan
from trainables.gans.checkpoint import bundle_state, load_bundle_state
from trainables.gans.contract import update
from trainables.gans.dcgan import build_dcgan
from trainables.nets.dcgan import Z_DIM


@dataclass(frozen=True)
class DCGANOptions:
    iters: int = 2000
    batch_size: int = 128
    lr: float = 2e-4
    beta1: float = 0.5  # Adam's β1; β2 = 0.999
    width: float = 1.0
    size: int = 64
    seed: int = 0


class DCGANTrainer:
    def __init__(self, opts: DCGANOptions, images: torch.Tensor, device: torch.device):
        """`images`: N×1×S×S in [-1, 1], S = opts.size."""
        self.opts, self.images, self.device = opts, images, device
        torch.manual_seed(opts.seed)
        self.bundle = build_dcgan(opts.size, opts.width, opts.lr, opts.beta1, device)
        self.generator, self.discriminator = self.bundle.nets["generator"], self.bundle.nets["discriminator"]

    def step(self, t: int) -> dict[str, float]:
        """Iteration t: the discriminator's update, then the generator's on the same fakes."""
        o = self.opts
        gen = torch.Generator().manual_seed(o.seed * 1_000_003 + t)
        b = min(o.batch_size, len(self.images))
        x = self.images[torch.randint(0, len(self.images), (b,), generator=gen)].to(self.device)
        z = torch.randn(b, Z_DIM, generator=gen).to(self.device)
        batch = (x, z)
        self.bundle.train()
        fake = dcgan.generate(self.bundle, batch)
        d_loss, d_logs = dcgan.d_step(self.bundle, batch, fake)
        update(self.bundle.optims["d"], d_loss)
        g_loss, g_logs = dcgan.g_step(self.bundle, batch, fake)
        update(self.bundle.optims["g"], g_loss)
        return {"d": float(d_logs["loss_d"]), "g": float(g_logs["loss_g"])}

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator.eval()(z.to(self.device))

    def state_dict(self) -> dict:
        return bundle_state(self.bundle)

    def load_state_dict(self, state: dict) -> None:
        load_bundle_state(self.bundle, state)

"""Unsupervised DCGAN training (Radford et al. 2016): the non-saturating GAN loss, Adam
at lr 2e-4 with β1 = 0.5 (Radford's; Alharbawee & Pugeault state 0.9, the default of
trainables.gans.dcgan_pretrain). The trainer is given images only — there is no label
argument, so no label can reach it."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainables.nets.dcgan import Z_DIM, DCDiscriminator, DCGenerator


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
        self.generator = DCGenerator(opts.size, opts.width).to(device)
        self.discriminator = DCDiscriminator(opts.size, opts.width).to(device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), opts.lr, betas=(opts.beta1, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), opts.lr, betas=(opts.beta1, 0.999))

    def step(self, t: int) -> dict[str, float]:
        o = self.opts
        gen = torch.Generator().manual_seed(o.seed * 1_000_003 + t)
        b = min(o.batch_size, len(self.images))
        x = self.images[torch.randint(0, len(self.images), (b,), generator=gen)].to(self.device)
        z = torch.randn(b, Z_DIM, generator=gen).to(self.device)
        G, D = self.generator.train(), self.discriminator.train()
        fake = G(z)
        real_logit, fake_logit = D(x), D(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                  + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        g_logit = D(fake)
        g_loss = F.binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"d": d_loss.item(), "g": g_loss.item()}

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator.eval()(z.to(self.device))

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

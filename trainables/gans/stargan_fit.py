"""StarGAN training (Choi et al. 2018): WGAN-GP adversarial loss, domain classification
on real images for D and on translated images for G, and the reconstruction loss
‖x − G(G(x, c), c_x)‖₁. D takes `n_critic` steps per G step; the target domain of each
image is drawn at random (Choi et al. shuffle the labels; here a uniform draw over the
domains, so every expression is a target equally often)."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainables.gans.losses import gradient_penalty
from trainables.nets.stargan import StarDiscriminator, StarGenerator


@dataclass(frozen=True)
class StarGANOptions:
    iters: int = 2000  # D steps; G takes one every n_critic
    batch_size: int = 16
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    n_critic: int = 5
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    width: float = 1.0
    n_blocks: int = 6
    size: int = 48
    seed: int = 0


def domain_classification_loss(logits: torch.Tensor, domains: torch.Tensor) -> torch.Tensor:
    """L_cls: cross-entropy of D's domain logits against the domain indices, batch mean
    (one expression per face, so a softmax over domains, as Choi et al. for RaFD)."""
    return F.cross_entropy(logits, domains)


def reconstruction_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """L_rec: mean absolute difference between x and G(G(x, c), c_x)."""
    return (original - reconstructed).abs().mean()


class StarGANTrainer:
    """G, D, their Adam optimisers (β = 0.5, 0.999) and one iteration of Choi et al.'s loop
    on `images` (N×1×S×S in [-1, 1]) with `domains` (N,) in 0..n_domains-1."""

    def __init__(self, opts: StarGANOptions, n_domains: int, images: torch.Tensor, domains: torch.Tensor,
                 device: torch.device):
        self.opts, self.n_domains, self.device = opts, n_domains, device
        self.images, self.domains = images, domains
        torch.manual_seed(opts.seed)
        self.generator = StarGenerator(n_domains, opts.width, opts.n_blocks).to(device)
        self.discriminator = StarDiscriminator(opts.size, n_domains, opts.width).to(device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), opts.lr_g, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), opts.lr_d, betas=(0.5, 0.999))

    def step(self, t: int) -> dict[str, float]:
        o = self.opts
        gen = torch.Generator().manual_seed(o.seed * 1_000_003 + t)
        idx = torch.randint(0, len(self.images), (o.batch_size,), generator=gen)
        x, c_org = self.images[idx].to(self.device), self.domains[idx].to(self.device)
        c_trg = torch.randint(0, self.n_domains, (o.batch_size,), generator=gen).to(self.device)
        G, D = self.generator.train(), self.discriminator.train()

        src_real, cls_real = D(x)
        fake = G(x, c_trg).detach()
        d_adv = D.critic(fake).mean() - src_real.mean()
        d_cls = domain_classification_loss(cls_real, c_org)
        d_gp = gradient_penalty(D.critic, x, fake, gen)
        d_loss = d_adv + o.lambda_cls * d_cls + o.lambda_gp * d_gp
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        out = {"d_adv": d_adv.item(), "d_cls": d_cls.item(), "d_gp": d_gp.item()}
        if (t + 1) % o.n_critic:
            return out

        fake = G(x, c_trg)
        src_fake, cls_fake = D(fake)
        g_adv = -src_fake.mean()
        g_cls = domain_classification_loss(cls_fake, c_trg)
        g_rec = reconstruction_loss(x, G(fake, c_org))
        g_loss = g_adv + o.lambda_cls * g_cls + o.lambda_rec * g_rec
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {**out, "g_adv": g_adv.item(), "g_cls": g_cls.item(), "g_rec": g_rec.item()}

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

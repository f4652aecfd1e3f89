"""StarGAN training (Choi et al. 2018): WGAN-GP adversarial loss, domain classification
on real images for D and on translated images for G, and the reconstruction loss
‖x − G(G(x, c), c_x)‖₁. D takes `n_critic` steps per G step; the target domain of each
image is drawn at random (Choi et al. shuffle the labels; here a uniform draw over the
domains, so every expression is a target equally often)."""

from dataclasses import dataclass

import torch

from trainables.gans import stargan
from trainables.gans.checkpoint import bundle_state, load_bundle_state
from trainables.gans.contract import floats, update
from trainables.gans.stargan import StarGANWeights, build_stargan
from trainables.gans.losses import classification_loss, reconstruction_loss

__all__ = ["StarGANOptions", "StarGANTrainer", "domain_classification_loss", "reconstruction_loss"]


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


domain_classification_loss = classification_loss  # L_cls (one expression per face: a softmax over domains)


class StarGANTrainer:
    """The bundle (trainables.gans.stargan) and one iteration of Choi et al.'s loop on
    `images` (N×1×S×S in [-1, 1]) with `domains` (N,) in 0..n_domains-1."""

    def __init__(self, opts: StarGANOptions, n_domains: int, images: torch.Tensor, domains: torch.Tensor,
                 device: torch.device):
        self.opts, self.n_domains, self.device = opts, n_domains, device
        self.images, self.domains = images, domains
        torch.manual_seed(opts.seed)
        self.bundle = build_stargan(n_domains, opts.size, opts.width, opts.n_blocks, opts.lr_g, opts.lr_d, device)
        self.generator, self.discriminator = self.bundle.nets["generator"], self.bundle.nets["discriminator"]
        self.weights = StarGANWeights(opts.lambda_cls, opts.lambda_rec, opts.lambda_gp)

    def step(self, t: int) -> dict[str, float]:
        """Iteration t: D's update, and G's after every n_critic-th."""
        o = self.opts
        gen = torch.Generator().manual_seed(o.seed * 1_000_003 + t)
        idx = torch.randint(0, len(self.images), (o.batch_size,), generator=gen)
        x, c_org = self.images[idx].to(self.device), self.domains[idx].to(self.device)
        c_trg = torch.randint(0, self.n_domains, (o.batch_size,), generator=gen).to(self.device)
        batch = (x, c_org, c_trg)
        self.bundle.train()
        d_loss, out = stargan.d_step(self.bundle, batch, self.weights, gen)
        update(self.bundle.optims["d"], d_loss)
        if (t + 1) % o.n_critic:
            return floats(out)
        g_loss, g_logs = stargan.g_step(self.bundle, batch, self.weights)
        update(self.bundle.optims["g"], g_loss)
        return floats({**out, **g_logs})

    def state_dict(self) -> dict:
        return bundle_state(self.bundle)

    def load_state_dict(self, state: dict) -> None:
        load_bundle_state(self.bundle, state)

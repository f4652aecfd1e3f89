"""Identity sources by name: generators of *new* faces for the synthetic-ratio study
(Picha et al. §3.1 draw identities from StyleGAN; none can be downloaded here, so the
source is a generative model trained on the real training split).

- `dcgan`: an unconditional DCGAN (trainables.nets.dcgan) trained on the training
  images without labels; an identity is G(z), z ~ N(0, I).
- `fesgan`: FESGAN (trainables.nets.fesgan, trained as the FESGAN-only variant FG-IP,
  which needs no identity network); an identity is the decoder's face for a code z ~
  U(−1, 1) with the expression code u = 0, halfway between every expression.

Each source is trained once per (data, split, options) and shared through the cache
(trainables.synthetic.shared_gans)."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from trainables.core.caches import state_hash
from trainables.data.cache import cache_root, sha256_json
from trainables.gans.dcgan_fit import DCGANOptions, DCGANTrainer
from trainables.synthetic.shared_gans import shared_state, train_resumable
from trainables.nets.dcgan import Z_DIM, DCGenerator


@dataclass(frozen=True)
class SourceOptions:
    iters: int = 2000
    width: float = 0.25
    batch_size: int = 64
    size: int = 48
    seed: int = 0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """N×1×S×S in [-1, 1] → uint8 N×S×S."""
    return ((x[:, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


class IdentitySource:
    """`sample(n, seed)`: n new faces, uint8 n×S×S, the first m the same for any n ≥ m."""

    def __init__(self, name: str, generator: torch.nn.Module, draw: Callable[[torch.Generator, int], tuple],
                 device: torch.device):
        self.name, self.generator, self.draw, self.device = name, generator.eval(), draw, device
        self.weights_hash = state_hash(generator)

    @torch.no_grad()
    def sample(self, n: int, seed: int, batch: int = 256) -> np.ndarray:
        gen = torch.Generator().manual_seed(seed)
        out = []
        for start in range(0, n, batch):
            # Always a full batch, cut afterwards: a longer draw repeats a shorter one's
            # computation exactly (a convolution's rounding can depend on the batch size).
            inputs = self.draw(gen, batch)
            out.append(to_uint8(self.generator(*(t.to(self.device) for t in inputs)))[:n - start])
        return np.concatenate(out) if out else np.zeros((0, 1, 1), np.uint8)


def _path(kind: str, data_key: str, opts: SourceOptions, cache_dir) -> Path:
    key = sha256_json({"data": data_key, "options": asdict(opts)})
    return cache_root(cache_dir) / "identity_sources" / f"{kind}-{key[:32]}.pt"


def dcgan_source(images: torch.Tensor, labels: torch.Tensor, n_classes: int, opts: SourceOptions, data_key: str,
                 device: torch.device, cache_dir) -> tuple[IdentitySource, dict]:
    del labels, n_classes  # unsupervised: the DCGAN never sees a label
    dc = DCGANOptions(iters=opts.iters, batch_size=opts.batch_size, width=opts.width, size=opts.size, seed=opts.seed)

    def build(partial: Path) -> dict:
        trainer = DCGANTrainer(dc, images, device)
        losses = train_resumable(trainer, dc.iters, partial)
        return {"generator": trainer.generator.state_dict(), "losses": losses}

    state, hit = shared_state(_path("dcgan", data_key, opts, cache_dir), build)
    generator = DCGenerator(opts.size, opts.width).to(device)
    generator.load_state_dict(state["generator"])
    source = IdentitySource("dcgan", generator, lambda gen, n: (torch.randn(n, Z_DIM, generator=gen),), device)
    return source, {f"identity_source/{k}": v for k, v in state["losses"].items()} | {
        "identity_source/from_cache": float(hit)}


class _ZeroExpression(torch.nn.Module):
    """FESGAN's decoder with the expression code u = 0."""

    def __init__(self, decoder: torch.nn.Module, n_classes: int):
        super().__init__()
        self.decoder, self.n_classes = decoder, n_classes

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, torch.zeros(len(z), self.n_classes, device=z.device))


def fesgan_source(images: torch.Tensor, labels: torch.Tensor, n_classes: int, opts: SourceOptions, data_key: str,
                  device: torch.device, cache_dir) -> tuple[IdentitySource, dict]:
    from trainables.gans.fesr_fit import FESROptions, FESRTrainer
    from trainables.configs.fesr_variants import get_variant
    from trainables.nets.fesgan import CODE_DIM, Decoder

    fo = FESROptions(size=opts.size, gan_width=opts.width, batch_size=opts.batch_size, pretrain_iters=opts.iters,
                     joint_iters=0, seed=opts.seed)

    def build(partial: Path) -> dict:
        trainer = FESRTrainer(get_variant("FG-IP"), fo, n_classes, images, labels, device)
        losses = train_resumable(trainer, fo.pretrain_iters, partial)
        return {"decoder": trainer.nets["decoder"].state_dict(), "losses": losses}

    state, hit = shared_state(_path("fesgan", data_key, opts, cache_dir), build)
    decoder = Decoder(opts.size, n_classes, opts.width).to(device)
    decoder.load_state_dict(state["decoder"])
    source = IdentitySource("fesgan", _ZeroExpression(decoder, n_classes),
                            lambda gen, n: (torch.rand(n, CODE_DIM, generator=gen) * 2 - 1,), device)
    return source, {f"identity_source/{k}": v for k, v in state["losses"].items()} | {
        "identity_source/from_cache": float(hit)}


IDENTITY_SOURCES = {"dcgan": dcgan_source, "fesgan": fesgan_source}

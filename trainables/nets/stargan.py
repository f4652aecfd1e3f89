"""StarGAN (Choi et al. 2018) for grayscale faces in [-1, 1]: one generator G(x, c) that
translates a face into the domain c (here an expression), and a discriminator with an
adversarial (WGAN critic, PatchGAN) head and a domain-classification head.

Choi et al.'s nets are for 128×128 RGB: G = 7×7/64, two 4×4 stride-2 convs (128, 256),
six residual blocks, two 4×4 stride-½ deconvs, 7×7 to the image, tanh, instance norm
throughout; D = 4×4 stride-2 convs from 64 channels doubling down to a 2×2 map, leaky
ReLU 0.01, no normalisation. Here D stops at the first map of 2 or 3 pixels (48 → 3×3,
64 → 2×2), and `width` scales every channel count (1.0 = theirs)."""

import math

import torch
from torch import nn


def _ch(c: int, width: float) -> int:
    return max(4, int(c * width))


class _Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.body(x)


class StarGenerator(nn.Module):
    """G(x, c): the one-hot target domain c is tiled over the image and concatenated to it."""

    def __init__(self, n_domains: int, width: float = 1.0, n_blocks: int = 6):
        super().__init__()
        self.n_domains = n_domains
        c1, c2, c3 = _ch(64, width), _ch(128, width), _ch(256, width)

        def norm_relu(c):
            return [nn.InstanceNorm2d(c, affine=True), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(
            nn.Conv2d(1 + n_domains, c1, 7, 1, 3, bias=False), *norm_relu(c1),
            nn.Conv2d(c1, c2, 4, 2, 1, bias=False), *norm_relu(c2),
            nn.Conv2d(c2, c3, 4, 2, 1, bias=False), *norm_relu(c3),
            *[_Residual(c3) for _ in range(n_blocks)],
            nn.ConvTranspose2d(c3, c2, 4, 2, 1, bias=False), *norm_relu(c2),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), *norm_relu(c1),
            nn.Conv2d(c1, 1, 7, 1, 3, bias=False), nn.Tanh())

    def forward(self, x: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """`domain`: target domain indices (N,) or one-hot rows (N×n_domains)."""
        if domain.dim() == 1:
            domain = nn.functional.one_hot(domain, self.n_domains).to(x.dtype)
        tiled = domain[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.net(torch.cat([x, tiled], dim=1))


class StarDiscriminator(nn.Module):
    """(critic score map N×1×h×w, domain logits N×n_domains)."""

    def __init__(self, size: int, n_domains: int, width: float = 1.0):
        super().__init__()
        if size % 16:
            raise ValueError(f"StarGAN image size must be a multiple of 16, got {size}")
        n_layers = int(math.log2(size // 2))
        layers, c_in = [], 1
        for i in range(n_layers):
            c_out = _ch(64 * 2 ** i, width)
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.01)]
            c_in = c_out
        self.trunk = nn.Sequential(*layers)
        final = size // 2 ** n_layers
        self.src = nn.Conv2d(c_in, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(c_in, n_domains, final, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.src(h), self.cls(h).flatten(1)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        return self.src(self.trunk(x))

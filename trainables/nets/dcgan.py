"""DCGAN (Radford et al. 2016) for grayscale faces in [-1, 1] at 48 or 64 pixels.

G: z (100) → a 4×4 (64 px) or 3×3 (48 px) map of 8·64 channels by a transposed conv,
then four stride-2 transposed convs halving the channels, batch norm and ReLU, tanh out.
D mirrors it: four stride-2 convs (no batch norm on the first), leaky ReLU 0.2, then one
conv to a single logit. `features` is D's penultimate layer, flattened. Weights start
from N(0, 0.02) (batch-norm scales from N(1, 0.02)) as in the paper. `width` scales the
channel counts (1.0 = Radford's 64·2^i)."""

import torch
from torch import nn

Z_DIM = 100
SIZES = (48, 64)


def _check(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"DCGAN image size must be one of {SIZES}, got {size}")
    return size // 16


def init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGenerator(nn.Module):
    def __init__(self, size: int = 64, width: float = 1.0):
        super().__init__()
        start = _check(size)
        c = [max(4, int(64 * width * m)) for m in (8, 4, 2, 1)]
        self.net = nn.Sequential(
            nn.ConvTranspose2d(Z_DIM, c[0], start, 1, 0, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(True),
            nn.ConvTranspose2d(c[0], c[1], 4, 2, 1, bias=False), nn.BatchNorm2d(c[1]), nn.ReLU(True),
            nn.ConvTranspose2d(c[1], c[2], 4, 2, 1, bias=False), nn.BatchNorm2d(c[2]), nn.ReLU(True),
            nn.ConvTranspose2d(c[2], c[3], 4, 2, 1, bias=False), nn.BatchNorm2d(c[3]), nn.ReLU(True),
            nn.ConvTranspose2d(c[3], 1, 4, 2, 1, bias=False), nn.Tanh())
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCDiscriminator(nn.Module):
    def __init__(self, size: int = 64, width: float = 1.0):
        super().__init__()
        end = _check(size)
        c = [max(4, int(64 * width * m)) for m in (1, 2, 4, 8)]
        self.trunk = nn.Sequential(
            nn.Conv2d(1, c[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c[0], c[1], 4, 2, 1, bias=False), nn.BatchNorm2d(c[1]), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c[1], c[2], 4, 2, 1, bias=False), nn.BatchNorm2d(c[2]), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c[2], c[3], 4, 2, 1, bias=False), nn.BatchNorm2d(c[3]), nn.LeakyReLU(0.2, True))
        self.head = nn.Conv2d(c[3], 1, end, 1, 0, bias=False)
        self.apply(init_weights)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).flatten()

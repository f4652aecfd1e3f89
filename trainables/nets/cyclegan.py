"""Zhu et al.'s CycleGAN for 48×48×1 faces: generator (their Table 4) and discriminator
(Table 5), returned as one named bundle. Images are in [-1, 1] (tanh output)."""

from dataclasses import dataclass

import torch
from torch import nn

NORMS = ("batch", "layer")


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, padding_mode="reflect"),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_bn_relu(channels, channels, 3, 1),
                                  nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect"),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """Table 4: 7×7/64, 3×3/128 s2, 3×3/256 s2, 6 residual blocks, two stride-½
    deconvolutions back to 48×48, then a 7×7 conv to one channel and tanh."""

    def __init__(self, width: float = 1.0, n_blocks: int = 6):
        super().__init__()
        c1, c2, c3 = (max(4, int(c * width)) for c in (64, 128, 256))
        self.net = nn.Sequential(
            *_conv_bn_relu(1, c1, 7, 1), *_conv_bn_relu(c1, c2, 3, 2), *_conv_bn_relu(c2, c3, 3, 2),
            *[ResidualBlock(c3) for _ in range(n_blocks)],
            nn.ConvTranspose2d(c3, c2, 3, 2, padding=1, output_padding=1), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c2, c1, 3, 2, padding=1, output_padding=1), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
            nn.Conv2d(c1, 1, 7, 1, padding=3, padding_mode="reflect"), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Discriminator(nn.Module):
    """Table 5: four 4×4 stride-2 convs (64-128-256-512) and a 4×4 conv to one channel:
    a patch score map (3×3 at 48×48 input), no sigmoid — the adversarial loss decides.
    `features(x)` is the last hidden layer, f_D of Birenbaum's weighted cycle loss.

    `norm`: `batch` (Table 5), or `layer` for a WGAN-GP critic. The gradient penalty is
    per sample (the critic's gradient with respect to each input alone); batch norm makes
    every score depend on the whole batch, so that gradient is not the one penalised, and
    Gulrajani et al. (2017, "Improved Training of Wasserstein GANs", §4) drop batch norm
    from the critic and recommend layer norm in its place (here GroupNorm with one group:
    each image normalised over channels and pixels, with a per-channel scale and shift)."""

    def __init__(self, width: float = 1.0, norm: str = "batch"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown discriminator norm {norm!r}; known: {', '.join(NORMS)}")
        chans = [1] + [max(4, int(c * width)) for c in (64, 128, 256, 512)]
        layers: list[nn.Module] = []
        for k, (c_in, c_out) in enumerate(zip(chans, chans[1:])):
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1))
            if k > 0:  # no normalisation on the first layer, as in DCGAN/CycleGAN practice
                layers.append(nn.BatchNorm2d(c_out) if norm == "batch" else nn.GroupNorm(1, c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.hidden = nn.Sequential(*layers)
        # 'same' padding for an even kernel, spelled out (torch warns on padding="same" here)
        self.head = nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(chans[-1], 1, 4, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x))


@dataclass
class CycleGANNets:
    """G: reference → target, F: target → reference, and one discriminator per domain."""

    generator_rt: Generator
    generator_tr: Generator
    disc_r: Discriminator
    disc_t: Discriminator

    def modules(self) -> dict[str, nn.Module]:
        return dict(self.__dict__)


def create_cyclegan(width: float = 1.0, n_blocks: int = 6, disc_norm: str = "batch") -> CycleGANNets:
    return CycleGANNets(Generator(width, n_blocks), Generator(width, n_blocks), Discriminator(width, disc_norm),
                        Discriminator(width, disc_norm))

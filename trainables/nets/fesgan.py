"""FESR's networks (Joint Deep Learning of Facial Expression Synthesis and Recognition):
FESGAN's encoder, decoder, image discriminator and latent discriminator (their Table I)
and the recognition network R (Table II), for 48, 64 or 128 pixel faces in [-1, 1].

Table I is written for 128×128: five stride-2 convolutions take the encoder to 4×4. At
other sizes the stride-2 stack stops at the first map of 3 or 4 pixels (48: four convs to
3×3; 64: four to 4×4), and the decoder mirrors it. Table I does not say how the decoder
turns the (64 + K)-vector into a map; here a linear layer makes the encoder's last map.
`width` scales every channel count (1.0 = the paper's)."""

import torch
from torch import nn

from trainables.nets.layers import MeanScore

CODE_DIM = 64  # Table I: FC(64), Tanh


def _channels(width: float, base: tuple[int, ...]) -> list[int]:
    return [max(4, int(c * width)) for c in base]


def _groups(channels: int) -> int:
    return next(g for g in (4, 3, 2, 1) if channels % g == 0)


def downsamplings(size: int) -> int:
    """How many stride-2 steps take `size` to a 3- or 4-pixel map (128 → 5, 64 → 4, 48 → 4)."""
    if size not in (48, 64, 128):
        raise ValueError(f"FESGAN image size must be 48, 64 or 128, got {size}")
    n = 0
    while size > 4:
        size //= 2
        n += 1
    return n


class Encoder(nn.Module):
    """G_enc: Conv(64,4,2)…Conv(1024,4,2), each with instance norm and leaky ReLU, then
    FC(64) and tanh: the face code g(x)."""

    def __init__(self, size: int, width: float = 1.0):
        super().__init__()
        n = downsamplings(size)
        chans = [1] + _channels(width, (64, 128, 256, 512, 1024))[:n]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.InstanceNorm2d(c_out, affine=True),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.conv = nn.Sequential(*layers)
        self.end = size >> n
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(chans[-1] * self.end ** 2, CODE_DIM), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class Decoder(nn.Module):
    """G_dec: [code, u(y′)] → a linear layer to the encoder's last map, then DeConv(…,4,2)
    with instance norm and ReLU back to the input size, the last to one channel and tanh."""

    def __init__(self, size: int, n_classes: int, width: float = 1.0):
        super().__init__()
        n = downsamplings(size)
        chans = _channels(width, (512, 256, 128, 64, 32))[-n:]
        self.start, self.first = size >> n, chans[0]
        self.fc = nn.Linear(CODE_DIM + n_classes, chans[0] * self.start ** 2)
        self.to_map = nn.Unflatten(1, (chans[0], self.start, self.start))
        layers: list[nn.Module] = [nn.InstanceNorm2d(chans[0], affine=True), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.InstanceNorm2d(c_out, affine=True),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(chans[-1], 1, 4, 2, 1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.to_map(self.fc(torch.cat([code, expression], dim=-1))))


class ImageDiscriminator(nn.Module):
    """D_img: a shared stack of Conv(…,4,2) + leaky ReLU (no normalisation: WGAN-GP's
    penalty is per sample) to an 8×8 or smaller map; an adversarial head (Conv(1,4,2):
    the mean of its map is the critic score, no sigmoid) and Table I's auxiliary K-class
    head, Conv(1024,4,2), leaky ReLU, Conv(K,4,1): unpadded on the 4×4 map (64 and 128
    px) it gives the K logits directly; at 48 px the map is 3×3 and the last kernel 3×3."""

    def __init__(self, size: int, n_classes: int, width: float = 1.0):
        super().__init__()
        n = downsamplings(size) - 1
        chans = [1] + _channels(width, (64, 128, 256, 512))[:n]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        self.shared = nn.Sequential(*layers)
        self.adv = nn.Conv2d(chans[-1], 1, 4, 2, 1)
        self.score = MeanScore()
        top = _channels(width, (1024,))[0]
        end = size >> (n + 1)  # the class head's map: 4 at 64 and 128 px, 3 at 48
        self.cls = nn.Sequential(nn.Conv2d(chans[-1], top, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Conv2d(top, n_classes, end, 1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(critic score per image, class logits)."""
        h = self.shared(x)
        return self.score(self.adv(h)), self.cls(h)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.adv(self.shared(x)))


class LatentDiscriminator(nn.Module):
    """D_z: FC(64), FC(32), FC(16) with leaky ReLU, FC(1); logits (the sigmoid of Table I
    is in the loss, as binary cross-entropy with logits)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(CODE_DIM, 64), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(64, 32), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(32, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 1))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code).squeeze(-1)


class ScratchTrunk(nn.Module):
    """The default stand-in for R's first layers (Table II: Light CNN-29's Conv1–Pool3,
    frozen, which cannot be downloaded here): three conv + max-pool blocks, /8 spatially,
    trained with R. Group norm (per image, so R still has no batch statistics) stands in
    for what pre-training gives Light CNN's layers: without it R starts very slowly."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        c = _channels(width, (48, 96, 192))
        self.out_channels = c[-1]
        layers: list[nn.Module] = []
        for c_in, c_out in zip([1] + c, c):
            layers += [nn.Conv2d(c_in, c_out, 3, 1, 1), nn.GroupNorm(_groups(c_out), c_out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Recognizer(nn.Module):
    """R (Table II): R_ext = trunk, Conv(256,3,2), Conv(512,3,2), FC(2048), FC(512) with
    dropout 0.5; R_cls = FC(K). `features(x)` is R_ext(x), the space of the intra-class
    loss. A trunk loaded from a file is frozen, as the paper freezes Light CNN's layers."""

    def __init__(self, size: int, n_classes: int, width: float = 1.0, trunk: nn.Module | None = None):
        super().__init__()
        self.frozen_trunk = trunk is not None
        self.trunk = trunk if trunk is not None else ScratchTrunk(width)
        for p in self.trunk.parameters() if self.frozen_trunk else ():
            p.requires_grad_(False)
        with torch.no_grad():
            trunk_out = self.trunk(torch.zeros(1, 1, size, size))
        c1, c2, f1, f2 = _channels(width, (256, 512, 2048, 512))
        convs = nn.Sequential(nn.Conv2d(trunk_out.shape[1], c1, 3, 2, 1), nn.ReLU(inplace=True),
                              nn.Conv2d(c1, c2, 3, 2, 1), nn.ReLU(inplace=True), nn.Flatten())
        with torch.no_grad():
            flat = convs(trunk_out).shape[1]
        self.ext = nn.Sequential(convs, nn.Linear(flat, f1), nn.ReLU(inplace=True),
                                 nn.Linear(f1, f2), nn.ReLU(inplace=True), nn.Dropout(0.5))
        self.cls = nn.Linear(f2, n_classes)

    def train(self, mode: bool = True):
        """A frozen trunk stays as loaded (its batch-norm statistics, if any, unchanged;
        an exported program cannot switch modes at all)."""
        self.training = mode
        for name, child in self.named_children():
            if not (self.frozen_trunk and name == "trunk"):
                child.train(mode)
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.ext(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.features(x))


class IdentityNet(nn.Module):
    """The default identity extractor F_id for L_id (Light CNN-29 cannot be downloaded):
    a small CNN classifying the training subjects; its 128-d penultimate layer is F_id."""

    def __init__(self, size: int, n_subjects: int, width: float = 1.0):
        super().__init__()
        c = _channels(width, (32, 64, 128))
        layers: list[nn.Module] = []
        for c_in, c_out in zip([1] + c, c):
            layers += [nn.Conv2d(c_in, c_out, 3, 1, 1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
        self.ext = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(c[-1] * 4, 128))
        self.head = nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, n_subjects))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.ext(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.ext(x))

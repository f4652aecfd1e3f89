"""The papers' expression classifiers. Input: float N×1×S×S in [0, 1]; output: logits."""

import torch
from torch import nn


def _conv_bn_relu(c_in: int, c_out: int, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=padding), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class ZhuCNN(nn.Module):
    """Zhu et al. Table 3. 'Max-Pooling&Norm' is read as 3×3/2 max pooling followed by
    local response normalisation (the TensorFlow CIFAR-10 tutorial net it mirrors)."""

    def __init__(self, n_classes: int, width: float = 1.0):
        super().__init__()
        c1, c2 = int(64 * width), int(128 * width)
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1), nn.LocalResponseNorm(4, alpha=0.001 / 9.0, beta=0.75, k=1.0),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1), nn.LocalResponseNorm(4, alpha=0.001 / 9.0, beta=0.75, k=1.0),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * 12 * 12, 256), nn.ReLU(inplace=True),
            nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Linear(256, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class PichaCNN(nn.Module):
    """Picha et al. Table 1 ('same' padding: the table keeps 64×64 through layer 2)."""

    def __init__(self, n_classes: int, width: float = 1.0):
        super().__init__()
        c = [int(v * width) for v in (32, 64, 128, 128)]
        self.features = nn.Sequential(
            nn.Conv2d(1, c[0], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[0], c[1], 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c[3] * 8 * 8, 1024), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(1024, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class SimpleClassifier(nn.Module):
    """Birenbaum's Keras summary: the first conv is 'valid' (48→46), the rest 'same';
    BN after every conv but the first; dropout after each pool and dense layer."""

    def __init__(self, n_classes: int, width: float = 1.0, dropout: float = 0.25):
        super().__init__()
        c = [int(v * width) for v in (64, 128, 256, 512)]
        self.features = nn.Sequential(
            nn.Conv2d(1, c[0], 3), nn.ReLU(inplace=True),
            *_conv_bn_relu(c[0], c[0]), nn.MaxPool2d(2), nn.Dropout(dropout),
            *_conv_bn_relu(c[0], c[1]), *_conv_bn_relu(c[1], c[1]), nn.MaxPool2d(2), nn.Dropout(dropout),
            *_conv_bn_relu(c[1], c[2]), *_conv_bn_relu(c[2], c[2]), nn.MaxPool2d(2), nn.Dropout(dropout),
            *_conv_bn_relu(c[2], c[3]), *_conv_bn_relu(c[3], c[3]), nn.MaxPool2d(2), nn.Dropout(dropout),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c[3] * 2 * 2, 512), nn.ReLU(inplace=True), nn.Dropout(2 * dropout),
            nn.Linear(512, 256), nn.ReLU(inplace=True), nn.Dropout(2 * dropout),
            nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(2 * dropout),
            nn.Linear(128, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

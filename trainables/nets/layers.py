"""Plain layers that the nets compose where torch has no module, so that a net's forward
only composes modules and runs fused unchanged (trainables.nets.fused_layers)."""

import torch
from torch import nn


class MeanScore(nn.Module):
    """An image's map averaged to one score: (N, C, H, W) → (N,)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))

"""The CPU kernel switch (ferlab-12): a trial's `kernels` option.

"fast" (the default) runs a trial's convolutional nets channels-last on the CPU: oneDNN's
convolution, pooling and their backward passes are faster there than in torch's default
NCHW layout for the small feature maps of cpu-scale trials (`python -m study.bench --only
trial_throughput` measures both side by side). "plain" keeps NCHW. The two agree to float
rounding, not bit for bit. On a GPU the switch changes nothing.

Tried and left out: flushing denormals (no visible gain in a hand-run A/B); bf16 autocast (on a
CPU with AMX, where a large bf16 matrix product is several times the fp32 one, a FESR trial was
slower: its stage-1 iterations gained less than its stage-2 ones lost, the small convolutions
being bound by memory and the casts adding to it); `torch.compile` (no gain after a long
compile, as ferlab-12 records)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

KERNELS = ("fast", "plain")


def placed(net: nn.Module, device: torch.device, kernels: str) -> nn.Module:
    """`net` (in place) in the memory layout that `kernels` chooses on `device`."""
    if kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {', '.join(KERNELS)}, got {kernels!r}")
    if device.type == "cpu" and kernels == "fast":
        import torch  # here, not with the module: a config names its kernels without torch

        return net.to(memory_format=torch.channels_last)
    return net

"""The one shape every GAN here has: a named bundle of nets and their optimisers, and
pure step functions over it.

A step computes one loss from the bundle and a batch and returns `(loss, logs)`, logs
being detached scalar tensors named after the loss terms (`floats` turns them into
numbers where the loop reports: a step that syncs with the host for every log cannot be
run for fused trials or captured as a CUDA graph); it never calls an optimiser.
A batch holds tensors only: every random draw of a step is made by the loop, into the
batch. The loop that
calls it does the wiring: data, `update` (zero_grad, backward, step), schedules,
reporting and checkpoints (trainables.gans.checkpoint). Each method's steps live in
its own module (cyclegan, dcgan, stargan, fesgan) and cite the paper's equations."""

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GANBundle:
    """The nets of one GAN by name (e.g. `generator`, `disc_t`, `recognizer`) and the
    optimisers by name (e.g. `g`, `d`); an optimiser may own several nets."""

    nets: dict[str, nn.Module]
    optims: dict[str, torch.optim.Optimizer]

    def parameters(self):
        """Every net's parameters, net by net."""
        for net in self.nets.values():
            yield from net.parameters()

    def train(self) -> "GANBundle":
        for net in self.nets.values():
            net.train()
        return self

    def eval(self) -> "GANBundle":
        for net in self.nets.values():
            net.eval()
        return self


def adam(params, lr: float, betas: tuple[float, float] = (0.5, 0.999)) -> torch.optim.Adam:
    """Adam with β1 = 0.5, the DCGAN practice every method here starts from."""
    return torch.optim.Adam(params, lr=lr, betas=betas)


def floats(logs: dict[str, torch.Tensor]) -> dict[str, float]:
    """A step's logs as Python floats."""
    return {name: float(value) for name, value in logs.items()}


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimiser step on `loss`: the only place a loop touches gradients."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextmanager
def frozen(*modules: nn.Module):
    """Parameters of `modules` need no gradient inside the block (a generator's update
    does not need its discriminators' gradients); restored on exit."""
    for m in modules:
        m.requires_grad_(False)
    try:
        yield
    finally:
        for m in modules:
            m.requires_grad_(True)

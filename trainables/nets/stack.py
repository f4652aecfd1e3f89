"""What K fused members (trainables.nets.fused_layers) keep apart: their dropout masks
and their optimiser state. Every fused parameter has a leading member axis.

Randomness is each member's own. A fused dropout layer draws member i's mask from
`generators[i]` inside `member_generators(nets, gens)`, exactly as `F.dropout` draws on
the CPU — so a fused member repeats its unfused trial's masks when `gens[i]` is seeded as
that trial seeds the global generator. Without generators (the GPU path, where graph
capture wants one stream) the K masks come from the global generator: the same
distribution, not the unfused trial's masks. Which generators a fused net draws from is
that net's own (its `MaskDraw`), so two fused nets in one process never share them."""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable

import torch


@dataclass
class MaskDraw:
    """Where a fused net's dropout masks come from: member i's from `generators[i]`, drawn in
    `layout` (torch.channels_last where the unfused nets run channels-last), or, without
    generators, torch's global generator."""

    generators: list[torch.Generator] | None = None
    layout: torch.memory_format = torch.contiguous_format


@contextmanager
def member_generators(nets: Iterable, generators: list[torch.Generator] | None,
                      layout=torch.contiguous_format):
    """Inside the block, member i of each of the fused `nets` draws its dropout masks from
    `generators[i]`, in `layout`."""
    draws = [net.draw for net in nets]
    previous = [(d.generators, d.layout) for d in draws]
    for draw in draws:
        draw.generators, draw.layout = generators, layout
    try:
        yield
    finally:
        for draw, (generators_before, layout_before) in zip(draws, previous):
            draw.generators, draw.layout = generators_before, layout_before


def member_optimizer_state(state: dict, i: int) -> dict:
    """Member i's slice of the state dict of an optimizer over fused parameters, in the
    layout of the same optimizer over one plain net's (Adam's and SGD's per-parameter
    state is element-wise; the step count is the members' shared one). A member optimiser's
    groups (trainables.fused.member_optim) give member i its own learning rate."""
    groups = [{**{k: v for k, v in group.items() if k != "member_lr"}, "lr": group["member_lr"][i]}
              if "member_lr" in group else group for group in state["param_groups"]]
    return {"state": {index: {key: (value.clone() if key == "step" else value[i].clone())
                              for key, value in param_state.items()}
                      for index, param_state in state["state"].items()},
            "param_groups": groups}


def load_member_optimizer_state(optimizer: torch.optim.Optimizer, i: int, state: dict) -> None:
    """Put a plain net's optimizer state (or a member's) into member i's slice."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, param_state in state["state"].items():
        slot = optimizer.state[params[int(index)]]
        for key, value in param_state.items():
            if key == "step":  # the members step together: one count
                slot[key] = value.clone()
            else:
                slot.setdefault(key, torch.zeros_like(params[int(index)]))[i].copy_(value)

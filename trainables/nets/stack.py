"""K nets of one architecture as one stacked net: every parameter and buffer gets a
leading member axis, and a member's forward is the plain net's forward under
`torch.func.vmap`, so K trials' nets run as one set of larger kernels (HFTA's idea,
Wang et al., MLSys 2021, here through vmap rather than hand-fused layers).

Members stay independent: no operation mixes them, so the gradient of the sum of the
members' losses is, member by member, the gradient of its own loss, and an element-wise
optimiser (Adam) over the stacked tensors is K separate optimisers.

Randomness is each member's own. `nn.Dropout` draws from torch's global generator, which
a vmapped forward cannot split by member; a stack replaces it by `MemberDropout`, which
inside `member_generators(stacks, gens)` draws member i's mask from `gens[i]` exactly as
`F.dropout` draws on the CPU — so a fused member repeats its unfused trial's masks when
`gens[i]` is seeded as that trial seeds the global generator. Without generators (the GPU
path, where graph capture wants one stream) the K masks come from the global generator:
the same distribution, not the unfused trial's masks. Which generators a stack draws from is
that stack's own (its `MaskDraw`), so two stacks in one process never share them."""

import copy
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

@dataclass
class MaskDraw:
    """Where a stack's dropout masks come from: member i's from `generators[i]`, drawn in
    `layout` (torch.channels_last where the unfused nets run channels-last), or, without
    generators, torch's global generator."""

    generators: list[torch.Generator] | None = None
    layout: torch.memory_format = torch.contiguous_format


@contextmanager
def member_generators(stacks: Iterable["NetStack"], generators: list[torch.Generator] | None,
                      layout=torch.contiguous_format):
    """Inside the block, member i of each of `stacks` draws its dropout masks from
    `generators[i]`, in `layout`."""
    draws = [stack.draw for stack in stacks]
    previous = [(d.generators, d.layout) for d in draws]
    for draw in draws:
        draw.generators, draw.layout = generators, layout
    try:
        yield
    finally:
        for draw, (generators_before, layout_before) in zip(draws, previous):
            draw.generators, draw.layout = generators_before, layout_before


class _Dropout(torch.autograd.Function):
    """x ⊙ mask / (1 − p), the mask Bernoulli(1 − p); under vmap one mask per member."""

    @staticmethod
    def forward(x, p, draw):
        mask = torch.empty_like(x).bernoulli_(1 - p).div_(1 - p)
        return x * mask, mask

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output[1])
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx, grad, _):
        mask, = ctx.saved_tensors
        return grad * mask, None, None

    @staticmethod
    def vmap(info, in_dims, x, p, draw):
        x = x.movedim(in_dims[0], 0)
        if draw.generators is None:
            masks = torch.empty_like(x).bernoulli_(1 - p).div_(1 - p)
        else:
            if len(draw.generators) != info.batch_size:
                raise ValueError(f"{len(draw.generators)} member generators for a stack of {info.batch_size}")
            layout = draw.layout if x.dim() == 5 else torch.preserve_format
            masks = torch.stack([torch.empty_like(x[i], memory_format=layout).bernoulli_(1 - p, generator=g).div_(1 - p)
                                 for i, g in enumerate(draw.generators)])
        return (x * masks, masks), (0, 0)


class MemberDropout(nn.Module):
    def __init__(self, p: float, draw: MaskDraw):
        super().__init__()
        self.p, self.draw = p, draw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return _Dropout.apply(x, self.p, self.draw)[0]


class _Method(nn.Module):
    """Calls a method of the wrapped net by name, so `functional_call` reaches more than forward."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, method: str, *args):
        return getattr(self.net, method)(*args)


class NetStack:
    """The stacked parameters and buffers of K nets with the same architecture."""

    def __init__(self, nets: list[nn.Module]):
        shapes = {tuple((k, tuple(v.shape)) for k, v in n.state_dict().items()) for n in nets}
        if len(shapes) != 1:
            raise ValueError("a stack needs nets of one architecture; these differ in their parameters' shapes")
        self.k = len(nets)
        self.draw = MaskDraw()
        template = copy.deepcopy(nets[0])
        for name, module in list(template.named_modules()):
            for child_name, child in list(module.named_children()):
                if isinstance(child, nn.Dropout):
                    setattr(module, child_name, MemberDropout(child.p, self.draw))
        self.caller = _Method(template).to("meta")
        params, buffers = stack_module_state(nets)
        trainable = {name: p.requires_grad for name, p in nets[0].named_parameters()}
        self.params = {name: nn.Parameter(t.detach().clone(), requires_grad=trainable[name])
                       for name, t in params.items()}
        self.buffers = {name: t.clone() for name, t in buffers.items()}
        self._training = nets[0].training
        # the unfused nets' feature-map layout (conv outputs follow their weights')
        self.layout = (torch.channels_last if any(p.dim() == 4 and not p.is_contiguous() for p in nets[0].parameters())
                       else torch.contiguous_format)

    def parameters(self):
        return list(self.params.values())

    def trainable_parameters(self):
        return [p for p in self.params.values() if p.requires_grad]

    def train(self, mode: bool = True) -> "NetStack":
        self.caller.train(mode)  # through the net's own train(): a frozen trunk's rule holds
        return self

    def eval(self) -> "NetStack":
        return self.train(False)

    def state(self) -> dict[str, torch.Tensor]:
        """Parameters and buffers by name, each with the member axis first (vmap's inputs)."""
        return {**self.params, **self.buffers}

    def member(self, state: dict[str, torch.Tensor]) -> "MemberNet":
        """The net of one member inside a vmapped function, `state` being vmap's slice of `state()`."""
        return MemberNet(self.caller, {"net." + k: v for k, v in state.items()})

    def member_state_dict(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's state dict, loadable into one plain net."""
        return {name: t[i].detach().clone() for name, t in self.state().items()}

    def load_member_state_dict(self, i: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, t in self.state().items():
                t[i].copy_(state[name])

    def to(self, device) -> "NetStack":
        for table in (self.params, self.buffers):
            for name, t in table.items():
                moved = t.data.to(device) if isinstance(t, nn.Parameter) else t.to(device)
                if isinstance(t, nn.Parameter):
                    t.data = moved
                else:
                    table[name] = moved
        return self


class MemberNet:
    """One member's net called with its own slice of the stack: `net(x)`, `net.features(x)`,
    `net.cls(f)` — whatever the plain net offers — inside the vmapped function."""

    def __init__(self, caller: _Method, state: dict[str, torch.Tensor]):
        self._caller, self._state = caller, state

    def __call__(self, *args):
        return functional_call(self._caller, self._state, ("forward", *args))

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args: functional_call(self._caller, self._state, (method, *args))


def member_optimizer_state(state: dict, i: int) -> dict:
    """Member i's slice of the state dict of an optimizer over a stack's parameters, in the
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

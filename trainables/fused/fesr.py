"""K FESR trials of one variant and one recipe, differing only in seed and data (seeds ×
folds), trained as one stacked model: one iteration of Algorithm 1 for all K members is
the unfused trainer's iteration (trainables.gans.fesr_fit) with each step function vmapped
over the members and each optimiser stepping the stacked parameters.

Each member keeps its own data stream, seed, dropout masks and optimiser state. On the
CPU a member's losses and weights are its unfused trial's up to float rounding (batched
kernels sum in another order); tests/test_fused.py holds the tolerance. On a GPU the
dropout masks come from one stream (trainables.nets.stack), and a member is the same
training in distribution rather than bit for bit.

A member's state (`member_state`) has the unfused trainer's checkpoint layout, so a
member can be checkpointed, resumed, evaluated and reported as a trial of its own."""

import dataclasses
from typing import Callable

import torch
from torch.func import vmap

from trainables.gans.contract import GANBundle, update
from trainables.gans.fesr_fit import FESROptions, FESRTrainer, draw_batch, dropout_seed
from trainables.configs.fesr_variants import Variant
from trainables.fused.device_draws import DeviceDraws
from trainables.nets.stack import NetStack, load_member_optimizer_state, member_generators, member_optimizer_state

OPTIMISED = {"g": ("encoder", "decoder"), "d_img": ("d_img",), "d_z": ("d_z",), "r": ("recognizer",)}


class FusedFESRTrainer(FESRTrainer):
    """`opts[i]` and `data[i]` = (images, labels) are member i's; the options may differ only
    in `seed`. `identities[i]` is member i's F_id: the bound `features` of a net (stacked
    here) or one callable all members share (e.g. a loaded file), or None for L_id off.

    `draws`: "cpu" draws each member's batch and dropout masks as its unfused trial does
    (exact); "device" draws all of them on the device from torch's default generator
    (trainables.fused.device_draws: the same distributions, no host work, capturable).
    `capturable`: optimisers that can be captured in a CUDA graph (trainables.fused.graphs)."""

    def __init__(self, variant: Variant, opts: list[FESROptions], n_classes: int,
                 data: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device,
                 identities: list[Callable | None] | None = None, trunk=None, draws: str = "cpu",
                 capturable: bool = False):
        recipes = {dataclasses.replace(o, seed=0) for o in opts}
        if len(recipes) != 1:
            raise ValueError("fused FESR trials may differ only in their seed; these differ in "
                             + ", ".join(f.name for f in dataclasses.fields(FESROptions) if f.name != "seed"
                                         and len({getattr(o, f.name) for o in opts}) > 1))
        if len(data) != len(opts):
            raise ValueError(f"{len(opts)} members' options but {len(data)} members' data")
        identities = identities or [None] * len(opts)
        cpu = torch.device("cpu")
        members = [FESRTrainer(variant, o, n_classes, x, y, cpu, ident, trunk)
                   for o, (x, y), ident in zip(opts, data, identities)]
        self.variant, self.opts, self.k, self.device = variant, opts[0], n_classes, device
        if draws not in ("cpu", "device"):
            raise ValueError(f"draws must be 'cpu' or 'device', got {draws!r}")
        self.member_opts, self.draws = list(opts), draws
        self.data = [(m.images, m.labels, m.by_class) for m in members]
        stacks = {name: NetStack([m.nets[name] for m in members]).to(device) for name in members[0].nets}
        optims = {name: torch.optim.Adam([p for net in nets if net in stacks for p in stacks[net].trainable_parameters()],
                                         lr=self.opts.lr, betas=(0.5, 0.999), capturable=capturable)
                  for name, nets in OPTIMISED.items() if name in members[0].optims}  # as contract.adam, stacked
        self.bundle = GANBundle(stacks, optims)
        self.nets, self.optims = stacks, optims
        self.identity, self.identity_stack = _identity_of(identities, device)
        self._generators = None
        self._device_draws = DeviceDraws(self.data, self.opts.batch_size, n_classes, device) if draws == "device" else None

    @property
    def members(self) -> int:
        return len(self.member_opts)

    # --- the unfused step's hooks, vmapped over members --------------------------------
    def _draw(self, t: int):
        if self._device_draws is not None:
            return self._device_draws()
        batches = [draw_batch(x, y, by_class, self.opts.batch_size, o.seed, t)
                   for (x, y, by_class), o in zip(self.data, self.member_opts)]
        self._generators = [torch.Generator().manual_seed(dropout_seed(o.seed, t)) for o in self.member_opts]
        return {key: torch.stack([b[key] for b in batches]).to(self.device) for key in batches[0]}

    def _run(self, step: Callable, *tensors):
        stacks = dict(self.bundle.nets)
        if self.identity_stack is not None:
            stacks["identity"] = self.identity_stack

        def member(states, *args):
            return step(GANBundle({name: stacks[name].member(s) for name, s in states.items()}, {}), *args)

        with member_generators(stacks.values(), self._generators):
            in_dims = (0, *(None if arg is None else 0 for arg in tensors))
            return vmap(member, in_dims, randomness="error")({name: s.state() for name, s in stacks.items()}, *tensors)

    def _update(self, optimizer: str, loss: torch.Tensor) -> None:
        update(self.optims[optimizer], loss.sum())

    def _identity(self, bundle):
        return bundle.nets["identity"].features if "identity" in bundle.nets else self.identity

    def _logs(self, logs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each loss term's values, one per member (tensors: no host sync per iteration)."""
        return logs

    # --- members as trials ----------------------------------------------------------------
    def member_state(self, i: int) -> dict:
        """Member i's nets and optimisers in the unfused trainer's layout (checkpoint.bundle_state)."""
        return {"nets": {name: stack.member_state_dict(i) for name, stack in self.bundle.nets.items()},
                "optims": {name: member_optimizer_state(opt.state_dict(), i) for name, opt in self.optims.items()}}

    def load_member_state(self, i: int, state: dict) -> None:
        """Put a member state (of a fused or an unfused trainer) into member i."""
        for name, net_state in state["nets"].items():
            self.bundle.nets[name].load_member_state_dict(i, net_state)
        for name, opt_state in state["optims"].items():
            load_member_optimizer_state(self.optims[name], i, opt_state)

    def state_dict(self) -> dict:
        return {"members": [self.member_state(i) for i in range(self.members)]}

    def load_state_dict(self, state: dict) -> None:
        for i, member in enumerate(state["members"]):
            self.load_member_state(i, member)


def _identity_of(identities: list, device) -> tuple[Callable | None, NetStack | None]:
    """(a callable every member shares, or None; a stack of the members' identity nets, or None)."""
    if all(ident is None for ident in identities):
        return None, None
    if all(ident is identities[0] for ident in identities):
        return identities[0], None
    nets = [getattr(ident, "__self__", None) for ident in identities]
    if any(net is None or getattr(ident, "__name__", "") != "features" for net, ident in zip(nets, identities)):
        raise ValueError("fused members' identity extractors must be one shared callable or each a net's `features`")
    return None, NetStack(nets).to(device).eval()

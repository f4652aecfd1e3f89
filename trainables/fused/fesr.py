"""K FESR trials of one variant and one recipe, differing only in seed and data (seeds ×
folds), trained as one model of fused layers (trainables.nets.fused_layers): one iteration
of Algorithm 1 for all K members is the unfused trainer's iteration (trainables.gans.fesr_fit)
with each net fused, every tensor carrying the members on the axis after the batch
((N, K, …)), each loss computed per member (trainables.gans.losses.per_member) and each
optimiser stepping the stacked parameters.

Each member keeps its own data stream, seed, dropout masks and optimiser state. On the
CPU a member's losses and weights are its unfused trial's up to float rounding (fused
kernels sum in another order); tests/test_fused.py holds the tolerance. On a GPU the
dropout masks come from one stream (trainables.nets.stack), and a member is the same
training in distribution rather than bit for bit.

A member's state (`member_state`) has the unfused trainer's checkpoint layout, so a
member can be checkpointed, resumed, evaluated and reported as a trial of its own."""

import dataclasses
from typing import Callable

import torch

from trainables.gans.contract import GANBundle, update
from trainables.gans.fesr_fit import PAPER_LAMBDAS, FESROptions, FESRTrainer, draw_batch, dropout_seed
from trainables.gans.losses import per_member
from trainables.configs.fesr_variants import Variant
from trainables.fused.device_draws import DeviceDraws
from trainables.nets.fused_layers import FusedNet
from trainables.nets.stack import load_member_optimizer_state, member_generators, member_optimizer_state

OPTIMISED = {"g": ("encoder", "decoder"), "d_img": ("d_img",), "d_z": ("d_z",), "r": ("recognizer",)}


class FusedFESRTrainer(FESRTrainer):
    """`opts[i]` and `data[i]` = (images, labels) are member i's; the options may differ only
    in `seed` and the loss weights `lambdas` (each loss is per member, so each member weighs
    its own). `identities[i]` is member i's F_id: the bound `features` of a net (fused here)
    or one callable all members share (e.g. a loaded file), or None for L_id off.

    `draws`: "cpu" draws each member's batch and dropout masks as its unfused trial does
    (exact); "device" draws all of them on the device from torch's default generator
    (trainables.fused.device_draws: the same distributions, no host work, capturable).
    `capturable`: optimisers that can be captured in a CUDA graph (trainables.fused.graphs)."""

    def __init__(self, variant: Variant, opts: list[FESROptions], n_classes: int,
                 data: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device,
                 identities: list[Callable | None] | None = None, trunk=None, draws: str = "cpu",
                 capturable: bool = False):
        recipes = {dataclasses.replace(o, seed=0, lambdas=PAPER_LAMBDAS) for o in opts}
        if len(recipes) != 1:
            raise ValueError("fused FESR trials may differ only in their seed and loss weights; these differ in "
                             + ", ".join(f.name for f in dataclasses.fields(FESROptions) if f.name not in
                                         ("seed", "lambdas") and len({getattr(o, f.name) for o in opts}) > 1))
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
        fused = {name: FusedNet([m.nets[name] for m in members]).to(device) for name in members[0].nets}
        optims = {name: torch.optim.Adam([p for net in nets if net in fused for p in fused[net].trainable_parameters()],
                                         lr=self.opts.lr, betas=(0.5, 0.999), capturable=capturable)
                  for name, nets in OPTIMISED.items() if name in members[0].optims}  # as contract.adam, stacked
        self.bundle = GANBundle(fused, optims)
        self.nets, self.optims = fused, optims
        # λ1..λ6 as one value per member, each weighing that member's losses
        self.member_lambdas = tuple(torch.tensor(values, device=device) for values in zip(*(o.lambdas for o in opts)))
        self.identity, self.identity_stack = _identity_of(identities, device)
        # the nets as the step functions call them, members on the axis after the batch
        self._calls = {name: MemberCalls(net) for name, net in fused.items()}
        if self.identity_stack is not None:
            self._calls["identity"] = MemberCalls(self.identity_stack)
        self._generators = None
        self._device_draws = DeviceDraws(self.data, self.opts.batch_size, n_classes, device) if draws == "device" else None

    @property
    def members(self) -> int:
        return len(self.member_opts)

    # --- the unfused step's hooks, on fused nets and per-member losses --------------------
    def _draw(self, t: int):
        if self._device_draws is not None:
            return {key: value.transpose(0, 1) for key, value in self._device_draws().items()}
        batches = [draw_batch(x, y, by_class, self.opts.batch_size, o.seed, t)
                   for (x, y, by_class), o in zip(self.data, self.member_opts)]
        self._generators = [torch.Generator().manual_seed(dropout_seed(o.seed, t)) for o in self.member_opts]
        return {key: torch.stack([b[key] for b in batches], dim=1).to(self.device) for key in batches[0]}

    def _run(self, step: Callable, *tensors):
        with member_generators(self.bundle.nets.values(), self._generators), per_member():
            return step(GANBundle(self._calls, {}), *tensors)

    def _update(self, optimizer: str, loss: torch.Tensor) -> None:
        update(self.optims[optimizer], loss.sum())

    def _identity(self, bundle):
        if "identity" in bundle.nets:
            return bundle.nets["identity"].features
        return None if self.identity is None else per_image(self.identity)

    def _logs(self, logs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each loss term's values, one per member (tensors: no host sync per iteration)."""
        return logs

    def _lambdas(self) -> tuple[torch.Tensor, ...]:
        return self.member_lambdas

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


class MemberCalls:
    """A fused net called as the steps call a plain one, with members on the axis after
    the batch: images (N, K, C, H, W) in and out (the fused net's (N, K·C, H, W) inside),
    vectors (N, K, F) and scores (N, K) as they are."""

    def __init__(self, net: FusedNet):
        self.net = net

    def _images_in(self, x):
        return x.flatten(1, 2).contiguous(memory_format=self.net.layout) if x.dim() == 5 else x

    def _out(self, y):
        if isinstance(y, tuple):
            return tuple(self._out(v) for v in y)
        return y.unflatten(1, (self.net.k, -1)) if y.dim() == 4 else y

    def __call__(self, *args):
        return self._out(self.net(*(self._images_in(a) for a in args)))

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args: self._out(getattr(self.net, method)(*(self._images_in(a) for a in args)))


def per_image(extract: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A plain feature extractor (one that all members share) applied to every member's images."""
    return lambda x: extract(x.flatten(0, 1)).unflatten(0, x.shape[:2])


def _identity_of(identities: list, device) -> tuple[Callable | None, FusedNet | None]:
    """(a callable every member shares, or None; a stack of the members' identity nets, or None)."""
    if all(ident is None for ident in identities):
        return None, None
    if all(ident is identities[0] for ident in identities):
        return identities[0], None
    nets = [getattr(ident, "__self__", None) for ident in identities]
    if any(net is None or getattr(ident, "__name__", "") != "features" for net, ident in zip(nets, identities)):
        raise ValueError("fused members' identity extractors must be one shared callable or each a net's `features`")
    return None, FusedNet(nets).to(device).eval()

"""K nets of one architecture as one net of fused layers (HFTA, Wang et al., MLSys 2021):
each layer of the plain net becomes one layer holding all K members' weights, so K trials
run as one set of larger kernels without vmap.

Activations keep two layouts, both with the batch first, as in the plain net, so that a
forward that concatenates or splits batches runs fused unchanged. Images are (N, K·C, H, W),
member k's channels being k·C … (k+1)·C − 1: a convolution is one `conv2d` with K× the
groups and the bias fused, instance, group and batch norm over K·C channels are exactly per
member, and the tensor stays channels-last where the plain nets run so. Vectors are
(N, K, F): a linear layer is one `baddbmm` over the members. `nn.Flatten` and
`nn.Unflatten` move between the two; a per-image score (trainables.nets.layers.MeanScore)
is (N, K). A plain net whose
forward only composes its layers (and flattens or unflattens through those modules) runs
fused unchanged: `fuse_nets` copies the first net and swaps each leaf module for its fused
layer, so the net's own `forward`, `features` or `train` still apply.

Every parameter and buffer has a leading member axis, (K, *the plain shape): member i's
state is each tensor's [i], so a member's checkpoint is a plain net's, and the optimiser
slicing in trainables.nets.stack serves every fused net. Dropout draws member i's masks
from its own generator inside `member_generators` (trainables.nets.stack), as its unfused
trial draws them."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from trainables.nets.layers import MeanScore
from trainables.nets.stack import MaskDraw


def _stacked(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The members' tensors along a new first axis (a convolution's output follows its
    input's layout, so the weights need not be channels-last)."""
    return torch.stack([t.detach() for t in tensors])


def _parameter(tensors: list[torch.Tensor]) -> nn.Parameter:
    return nn.Parameter(_stacked(tensors), requires_grad=tensors[0].requires_grad)


def _flat(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.flatten(0, 1)


class _FusedConv(nn.Module):
    """What a fused convolution and a fused transposed one keep: the members' weights and
    biases, and the plain layer's geometry (K× its groups at run time)."""

    def __init__(self, convs: list[nn.Conv2d] | list[nn.ConvTranspose2d]):
        super().__init__()
        c = convs[0]
        if c.padding_mode != "zeros":
            raise ValueError(f"fused convolutions pad with zeros only, not {c.padding_mode!r}")
        self.k, self.stride, self.padding, self.output_padding = len(convs), c.stride, c.padding, c.output_padding
        self.dilation, self.groups = c.dilation, c.groups
        self.weight = _parameter([m.weight for m in convs])
        self.bias = None if c.bias is None else _parameter([m.bias for m in convs])


class FusedConv2d(_FusedConv):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, _flat(self.weight), _flat(self.bias), self.stride, self.padding, self.dilation,
                        self.groups * self.k)


class FusedConvTranspose2d(_FusedConv):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, _flat(self.weight), _flat(self.bias), self.stride, self.padding,
                                  self.output_padding, self.groups * self.k, self.dilation)


class FusedLinear(nn.Module):
    def __init__(self, linears: list[nn.Linear]):
        super().__init__()
        self.k = len(linears)
        self.weight = _parameter([m.weight for m in linears])
        self.bias = None if linears[0].bias is None else _parameter([m.bias for m in linears])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        by_member = x.transpose(0, 1)  # (K, N, F)
        if self.bias is None:
            return torch.bmm(by_member, self.weight.transpose(1, 2)).transpose(0, 1)
        return torch.baddbmm(self.bias.unsqueeze(1), by_member, self.weight.transpose(1, 2)).transpose(0, 1)


class FusedBatchNorm2d(nn.Module):
    """Batch norm over K·C channels: each channel's statistics are its member's alone."""

    def __init__(self, norms: list[nn.BatchNorm2d]):
        super().__init__()
        n = norms[0]
        self.k, self.eps, self.momentum = len(norms), n.eps, n.momentum
        self.track_running_stats = n.track_running_stats
        self.weight = None if n.weight is None else _parameter([m.weight for m in norms])
        self.bias = None if n.bias is None else _parameter([m.bias for m in norms])
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            kept = getattr(n, name) is not None
            self.register_buffer(name, _stacked([getattr(m, name) for m in norms]) if kept else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked[0])
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean.view(-1) if keep and self.running_mean is not None else None,
                            self.running_var.view(-1) if keep and self.running_var is not None else None,
                            _flat(self.weight), _flat(self.bias), use_batch, momentum, self.eps)


class FusedInstanceNorm2d(nn.Module):
    def __init__(self, norms: list[nn.InstanceNorm2d]):
        super().__init__()
        n = norms[0]
        if n.track_running_stats:
            raise ValueError("fused instance norm keeps no running statistics (track_running_stats=False only)")
        self.k, self.eps = len(norms), n.eps
        self.weight = _parameter([m.weight for m in norms]) if n.affine else None
        self.bias = _parameter([m.bias for m in norms]) if n.affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=_flat(self.weight), bias=_flat(self.bias), eps=self.eps)


class FusedGroupNorm(nn.Module):
    """Group norm with K× the groups: groups are runs of adjacent channels, so none spans two members."""

    def __init__(self, norms: list[nn.GroupNorm]):
        super().__init__()
        n = norms[0]
        self.k, self.num_groups, self.eps = len(norms), n.num_groups, n.eps
        self.weight = _parameter([m.weight for m in norms]) if n.affine else None
        self.bias = _parameter([m.bias for m in norms]) if n.affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups * self.k, _flat(self.weight), _flat(self.bias), self.eps)


class FusedLocalResponseNorm(nn.Module):
    """Local response norm across each member's own channels: its window must not reach
    into the next member's, so the members become an extra spatial axis."""

    def __init__(self, norms: list[nn.LocalResponseNorm]):
        super().__init__()
        n = norms[0]
        self.k, self.size, self.alpha, self.beta, self.bias = len(norms), n.size, n.alpha, n.beta, n.k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, kc, h, w = x.shape
        by_member = x.reshape(n, self.k, kc // self.k, h, w).transpose(1, 2)  # (N, C, K, H, W)
        out = F.local_response_norm(by_member, self.size, self.alpha, self.beta, self.bias)
        return out.transpose(1, 2).reshape(n, kc, h, w)


class FusedDropout(nn.Module):
    """x ⊙ mask / (1 − p), the mask Bernoulli(1 − p): member i's from `draw.generators[i]` in
    its unfused trial's shape and layout, or, without generators, torch's global generator."""

    def __init__(self, dropouts: list[nn.Dropout], draw: MaskDraw):
        super().__init__()
        self.k, self.p, self.draw = len(dropouts), dropouts[0].p, draw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        q = 1 - self.p
        generators = self.draw.generators
        if generators is None:
            return x * torch.empty_like(x).bernoulli_(q).div_(q)
        if len(generators) != self.k:
            raise ValueError(f"{len(generators)} member generators for {self.k} fused members")
        if x.dim() == 4:  # images: (N, K·C, H, W)
            n, kc, h, w = x.shape
            masks = [torch.empty(n, kc // self.k, h, w, dtype=x.dtype, device=x.device,
                                 memory_format=self.draw.layout).bernoulli_(q, generator=g) for g in generators]
            mask = torch.cat(masks, dim=1)
        else:  # vectors: (N, K, F)
            n, _, f = x.shape
            mask = torch.stack([torch.empty(n, f, dtype=x.dtype, device=x.device).bernoulli_(q, generator=g)
                                for g in generators], dim=1)
        return x * mask.div_(q)


class FusedFlatten(nn.Module):
    """Images (N, K·C, H, W) to vectors (N, K, C·H·W), each in the plain flatten's order."""

    def __init__(self, flattens: list[nn.Flatten]):
        super().__init__()
        f = flattens[0]
        if (f.start_dim, f.end_dim) != (1, -1):
            raise ValueError(f"a fused Flatten flattens all but the batch axis, not dims {f.start_dim}..{f.end_dim}")
        self.k = len(flattens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # vectors already: the plain flatten of (N, F) changes nothing
            return x
        return x.unflatten(1, (self.k, -1)).flatten(2)


class FusedUnflatten(nn.Module):
    """Vectors (N, K, C·H·W) to images (N, K·C, H, W)."""

    def __init__(self, unflattens: list[nn.Unflatten]):
        super().__init__()
        u = unflattens[0]
        if u.dim != 1 or len(u.unflattened_size) != 3:
            raise ValueError("a fused Unflatten turns vectors into images: dim 1 into (C, H, W)")
        self.k, self.size = len(unflattens), tuple(u.unflattened_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(2, self.size).flatten(1, 2)


class FusedMeanScore(nn.Module):
    """Each member's map averaged to one score per image: (N, K·C, H, W) → (N, K)."""

    def __init__(self, scores: list[MeanScore]):
        super().__init__()
        self.k = len(scores)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, (self.k, -1)).mean(dim=(2, 3, 4))


# Layers that act on each channel (or element) alone: the same module serves the fused layout.
PER_CHANNEL = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.MaxPool2d, nn.AvgPool2d,
               nn.AdaptiveAvgPool2d)
FUSED = {nn.Conv2d: FusedConv2d, nn.ConvTranspose2d: FusedConvTranspose2d, nn.Linear: FusedLinear,
         nn.BatchNorm2d: FusedBatchNorm2d, nn.InstanceNorm2d: FusedInstanceNorm2d, nn.GroupNorm: FusedGroupNorm,
         nn.LocalResponseNorm: FusedLocalResponseNorm, nn.Flatten: FusedFlatten, nn.Unflatten: FusedUnflatten,
         MeanScore: FusedMeanScore}


def _fused_leaf(members: list[nn.Module], draw: MaskDraw, path: str) -> nn.Module:
    kind = type(members[0])
    if kind in PER_CHANNEL:
        return copy.deepcopy(members[0])
    if kind is nn.Dropout:
        return FusedDropout(members, draw)
    if kind in FUSED:
        return FUSED[kind](members)
    known = ", ".join(sorted(t.__name__ for t in (*PER_CHANNEL, *FUSED, nn.Dropout)))
    raise ValueError(f"cannot fuse layer {path or 'the net'} ({kind.__name__}); fused layers exist for {known}")


def fuse_nets(nets: list[nn.Module], draw: MaskDraw) -> nn.Module:
    """One net whose every leaf layer is the fused layer of the K nets' layers at that path.
    The nets must share one architecture; a module with parameters of its own (not in a
    leaf layer) cannot be fused."""
    shapes = {tuple((k, tuple(v.shape)) for k, v in n.state_dict().items()) for n in nets}
    if len(shapes) != 1:
        raise ValueError("fused nets need one architecture; these differ in their parameters' shapes")
    fused = copy.deepcopy(nets[0])
    for path, module in nets[0].named_modules():
        children = list(module.children())
        if children and any(True for _ in module.parameters(recurse=False)):
            raise ValueError(f"cannot fuse {path or 'the net'} ({type(module).__name__}): it holds parameters of its "
                             "own outside its layers")
        if children:
            continue
        layer = _fused_leaf([n.get_submodule(path) for n in nets], draw, path)
        if not path:
            return layer
        parent, _, name = path.rpartition(".")
        setattr(fused.get_submodule(parent), name, layer)
    return fused


def to_vectors(x: torch.Tensor) -> torch.Tensor:
    """The members' vectors (K, N, F) in the fused layout (N, K, F)."""
    return x.transpose(0, 1)


def from_vectors(x: torch.Tensor) -> torch.Tensor:
    """Fused vectors (N, K, …), or scores (N, K), as the members' (K, N, …)."""
    return x.transpose(0, 1)


def to_images(x: torch.Tensor, layout=torch.contiguous_format) -> torch.Tensor:
    """The members' images (K, N, C, H, W) in the fused layout (N, K·C, H, W)."""
    return x.transpose(0, 1).flatten(1, 2).contiguous(memory_format=layout)


def from_images(x: torch.Tensor, k: int) -> torch.Tensor:
    """Fused images (N, K·C, H, W) as the members' (K, N, C, H, W)."""
    return x.unflatten(1, (k, -1)).transpose(0, 1)


class FusedNet:
    """K nets of one architecture as one net of fused layers, with what the fused trainers
    use: members' state in and out, parameters, train/eval, `draw`, `layout`."""

    def __init__(self, nets: list[nn.Module]):
        self.k = len(nets)
        self.draw = MaskDraw()
        self.net = fuse_nets(nets, self.draw)
        self.layout = (torch.channels_last if any(p.dim() == 4 and not p.is_contiguous() for p in nets[0].parameters())
                       else torch.contiguous_format)

    def __call__(self, *args):
        return self.net(*args)

    def __getattr__(self, method: str):
        if method.startswith("_") or method in ("net", "k", "draw", "layout"):
            raise AttributeError(method)
        return getattr(self.net, method)

    def parameters(self) -> list[nn.Parameter]:
        return list(self.net.parameters())

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.net.parameters() if p.requires_grad]

    def train(self, mode: bool = True) -> "FusedNet":
        self.net.train(mode)
        return self

    def eval(self) -> "FusedNet":
        return self.train(False)

    def state(self) -> dict[str, torch.Tensor]:
        return self.net.state_dict(keep_vars=True)

    def member_state_dict(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's state dict, loadable into one plain net."""
        return {name: t[i].detach().clone() for name, t in self.state().items()}

    def load_member_state_dict(self, i: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, t in self.state().items():
                t[i].copy_(state[name])

    def to(self, device) -> "FusedNet":
        self.net.to(device)
        return self

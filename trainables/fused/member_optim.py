"""Optimisers over stacked parameters (a leading member axis) in which each member has its
own learning rate, as HFTA's fused optimisers allow: members of one fused run may then differ
in learning rate, not only in seed.

Each update is torch's own single-tensor Adam, AdamW or Nesterov SGD, written with the
learning rate as a per-member tensor, so member i steps as `torch.optim` would step its
unfused net (to float rounding). The state has torch's per-parameter layout (`step`,
`exp_avg`, `exp_avg_sq`; `momentum_buffer`), so trainables.nets.stack's member slicing
turns it into a plain optimiser's state. The group's learning rates are `member_lr`."""

import math

import torch


class MemberOptimizer(torch.optim.Optimizer):
    """`kind`: "adam", "adamw" or "sgd" (Nesterov momentum); `lrs`: one learning rate per member."""

    def __init__(self, params, kind: str, lrs: list[float], betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.9):
        if kind not in ("adam", "adamw", "sgd"):
            raise ValueError(f"member optimisers are adam, adamw or sgd, not {kind!r}")
        super().__init__(params, {"lr": float(lrs[0]), "member_lr": [float(v) for v in lrs], "betas": tuple(betas),
                                  "eps": eps, "weight_decay": weight_decay, "momentum": momentum})
        self.kind = kind
        for group in self.param_groups:
            for p in group["params"]:
                if p.shape[0] != len(lrs):
                    raise ValueError(f"a parameter of shape {tuple(p.shape)} has no member axis of {len(lrs)}")

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None:
            raise ValueError("member optimisers take no closure")
        for group in self.param_groups:
            first = group["params"][0]
            lrs = torch.tensor(group["member_lr"], dtype=first.dtype, device=first.device)
            for p in group["params"]:
                if p.grad is None:
                    continue
                lr = lrs.view(-1, *([1] * (p.dim() - 1)))
                if self.kind == "sgd":
                    self._sgd(p, lr, group)
                else:
                    self._adam(p, lr, group)

    def _adam(self, p: torch.Tensor, lr: torch.Tensor, group: dict) -> None:
        beta1, beta2 = group["betas"]
        grad, wd = p.grad, group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = torch.tensor(0.0)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        step = float(state["step"])
        if wd and self.kind == "adamw":
            p.mul_(1 - lr * wd)
        elif wd:
            grad = grad.add(p, alpha=wd)
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = lr / (1 - beta1 ** step)
        denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2 ** step)).add_(group["eps"])
        p.sub_(step_size * (state["exp_avg"] / denom))

    def _sgd(self, p: torch.Tensor, lr: torch.Tensor, group: dict) -> None:
        grad, wd, momentum = p.grad, group["weight_decay"], group["momentum"]
        if wd:
            grad = grad.add(p, alpha=wd)
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = grad.detach().clone()
        else:
            state["momentum_buffer"].mul_(momentum).add_(grad)
        p.sub_(lr * grad.add(state["momentum_buffer"], alpha=momentum))

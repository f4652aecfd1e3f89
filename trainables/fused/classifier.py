"""K classifier trials of one recipe, differing only in seed, learning rate and data (seeds ×
folds × learning rates), trained as one net of fused layers (trainables.nets.fused_layers):
each report round is trainables.core.fit's round for every member at once, one forward
through the fused layers, the loss per member, and one optimizer stepping the stacked
parameters with each member's own learning rate (trainables.fused.member_optim).

Each member keeps its own batch order and augmentation (its `Round`), its own dropout
masks (its generator, seeded as its unfused trial seeds torch's) and its batch-norm
statistics. The members step in lockstep, so the recipe needs a step budget
(`FitOptions.steps`): without one, a round's steps follow each member's data size."""

import copy
import dataclasses

import torch
from torch import nn
from torch.func import vmap

from trainables.core.fit import (SGD_MOMENTUM, FitOptions, Round, TensorSplit, dropout_seed, lr_factor, normalise,
                                 training_loss)
from trainables.fused.member_optim import MemberOptimizer
from trainables.nets.fused_layers import FusedNet, from_vectors, to_images
from trainables.nets.stack import load_member_optimizer_state, member_generators, member_optimizer_state


class FusedClassifier:
    """`nets[i]` (same architecture, initialised as member i's trial initialises it) and
    `opts[i]` are member i's."""

    def __init__(self, nets: list[nn.Module], opts: list[FitOptions], device: torch.device):
        recipes = {dataclasses.replace(o, seed=0, lr=0.0) for o in opts}
        if len(recipes) != 1:
            raise ValueError("fused classifier trials may differ only in their seed and learning rate; these differ "
                             "in " + ", ".join(f.name for f in dataclasses.fields(FitOptions) if f.name not in
                                                ("seed", "lr") and len({getattr(o, f.name) for o in opts}) > 1))
        if opts[0].steps is None:
            raise ValueError("fused classifier trials need a step budget (FitOptions.steps): without one each "
                             "member's round has as many steps as its data has batches")
        self.opts, self.device = list(opts), device
        self.template = nets[0]
        self.stack = FusedNet(nets).to(device)
        o = opts[0]
        self.optimizer = MemberOptimizer(self.stack.parameters(), o.optimizer, [m.lr for m in opts], betas=o.betas,
                                         weight_decay=o.weight_decay, momentum=SGD_MOMENTUM)

    def train_round(self, splits: list[TensorSplit], epoch: int) -> list[tuple[float, float]]:
        """Round `epoch` for every member on its own training split; each member's mean
        training loss and accuracy, as trainables.core.fit's round returns them."""
        opts = self.opts[0]
        plans = [Round.of(o, len(split.x), epoch) for o, split in zip(self.opts, splits)]
        generators = [torch.Generator().manual_seed(dropout_seed(o, epoch)) for o in self.opts]
        self.stack.train()
        loss_sum, correct, seen = torch.zeros(len(splits), dtype=torch.float64), torch.zeros(len(splits)), 0

        def member_loss(logits, y):
            return training_loss(logits, y, opts)

        for i in range(plans[0].steps):
            batches = [plan.batch(split, i, o) for plan, split, o in zip(plans, splits, self.opts)]
            x = torch.stack([b[0] for b in batches]).to(self.device)
            y = torch.stack([b[1] for b in batches]).to(self.device)
            factor = lr_factor(opts.schedule, plans[0].first + i, plans[0].total)
            for group in self.optimizer.param_groups:
                group["member_lr"] = [o.lr * factor for o in self.opts]
            with member_generators([self.stack], generators, self.stack.layout):
                logits = from_vectors(self.stack(to_images(normalise(x), self.stack.layout)))
            losses = vmap(member_loss)(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            self.optimizer.step()
            loss_sum += losses.detach().cpu().double() * y.shape[1]
            correct += (logits.argmax(2) == y).sum(1).cpu()
            seen += y.shape[1]
        return [(float(loss_sum[k]) / seen, float(correct[k]) / seen) for k in range(len(splits))]

    def member_net(self, i: int) -> nn.Module:
        """Member i as a plain net (for validation, selection, testing and checkpoints)."""
        net = copy.deepcopy(self.template)
        net.load_state_dict(self.stack.member_state_dict(i))
        return net.to(self.device)

    def member_state(self, i: int) -> dict:
        """Member i's net and optimizer state, as an unfused fit's checkpoint holds them."""
        return {"net": self.stack.member_state_dict(i),
                "opt": member_optimizer_state(self.optimizer.state_dict(), i)}

    def load_member_state(self, i: int, state: dict) -> None:
        self.stack.load_member_state_dict(i, state["net"])
        load_member_optimizer_state(self.optimizer, i, state["opt"])

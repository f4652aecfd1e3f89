"""The supervised epoch loop shared by every classifier trainable: train, select the epoch
on validation, report once per epoch with a resumable checkpoint, and evaluate test at
the validation-best epoch and at the last one."""

import copy
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables.configs.fit import ADAM_BETAS, OPTIMIZERS, SCHEDULES
from trainables.core.metrics import classification_metrics
from trainables.core.reporting import Reporter
from trainables.data import batch_augment


SGD_MOMENTUM = 0.9  # Nesterov


@dataclass(frozen=True)
class FitOptions:
    epochs: int
    batch_size: int
    lr: float
    optimizer: str
    weight_decay: float
    schedule: str
    augment: bool
    label_smoothing: float
    seed: int
    hflip_tta: bool = False
    class_weights: tuple[float, ...] | None = None  # loss weight per class (None: unweighted)
    # The optimizer-step budget: None trains `epochs` passes over the data (steps follow
    # the training set's size); a number splits that many steps evenly over the `epochs`
    # report rounds, so arms with more (synthetic) training data get no more updates.
    steps: int | None = None
    steps_before: int = 0  # optimizer steps this net already had (DAG's pre-training)
    betas: tuple[float, float] = ADAM_BETAS  # Adam's and AdamW's (β1, β2); sgd takes none

    def __post_init__(self):
        check_name("optimizer", self.optimizer, OPTIMIZERS)
        check_name("schedule", self.schedule, SCHEDULES)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1) (Adam's β1, β2), got {self.betas}")
        if self.steps is not None and self.steps < self.epochs:
            raise ValueError(f"a budget of {self.steps} steps cannot fill {self.epochs} report rounds")


def check_name(what: str, name: str, known: tuple[str, ...]) -> None:
    if name not in known:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(known)}")


def round_steps(opts: FitOptions, n_train: int, epoch: int) -> tuple[int, int]:
    """(index of the round's first optimizer step, the round's number of steps)."""
    if opts.steps is None:
        per_epoch = math.ceil(n_train / opts.batch_size)
        return epoch * per_epoch, per_epoch
    first = opts.steps * epoch // opts.epochs
    return first, opts.steps * (epoch + 1) // opts.epochs - first


def total_steps(opts: FitOptions, n_train: int) -> int:
    return opts.steps if opts.steps is not None else opts.epochs * math.ceil(n_train / opts.batch_size)


@dataclass
class TensorSplit:
    """Images as uint8 N×1×S×S, labels as contiguous class indices. Kept as bytes and made
    float [0, 1] a batch at a time (`as_unit_float`): a float32 copy of a FER2013 split is
    4× its size in every concurrent trial (bench.data's memory row)."""

    x: torch.Tensor
    y: torch.Tensor


def make_optimizer(net: nn.Module | list, opts: FitOptions) -> torch.optim.Optimizer:
    """The recipe's optimizer over a net's parameters (or a list of parameters); an
    unknown name raises, listing the known ones."""
    check_name("optimizer", opts.optimizer, OPTIMIZERS)
    params = net.parameters() if isinstance(net, nn.Module) else net
    betas = tuple(opts.betas)
    if opts.optimizer == "adam":
        return torch.optim.Adam(params, lr=opts.lr, betas=betas, weight_decay=opts.weight_decay)
    if opts.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=opts.lr, betas=betas, weight_decay=opts.weight_decay)
    return torch.optim.SGD(params, lr=opts.lr, momentum=SGD_MOMENTUM, nesterov=True, weight_decay=opts.weight_decay)


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Learning-rate multiplier as a pure function of the step. 'onecycle': linear warm-up
    over the first 15 % then cosine decay to zero; 'cosine': cosine from the start;
    'constant': 1. An unknown name raises, listing the known ones."""
    check_name("schedule", schedule, SCHEDULES)
    t = step / max(total_steps, 1)
    if schedule == "constant":
        return 1.0
    if schedule == "onecycle":
        warm = 0.15
        if t < warm:
            return 0.1 + 0.9 * t / warm
        t = (t - warm) / (1 - warm)
    return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def as_unit_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels as float in [0, 1]; float input is taken as already there."""
    return x.float().div_(255) if x.dtype == torch.uint8 else x


def normalise(x: torch.Tensor) -> torch.Tensor:
    # Fixed centring rather than per-dataset statistics: the nets without BN (Zhu) only
    # need inputs around zero, and a constant keeps checkpoints dataset-independent.
    return (x - 0.5) / 0.25


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = 512,
            hflip_tta: bool = False) -> torch.Tensor:
    """Softmax probabilities, N×K, on the CPU. With `hflip_tta` the mean of the image's and
    its mirror's probabilities — used on validation and test alike, so the epoch chosen
    on validation is chosen by the same predictor that is tested."""
    net.eval()
    out = []
    for i in range(0, len(x), batch_size):
        batch = normalise(as_unit_float(x[i : i + batch_size].to(device)))
        probs = F.softmax(net(batch), dim=1)
        if hflip_tta:
            probs = (probs + F.softmax(net(batch.flip(-1)), dim=1)) / 2
        out.append(probs.cpu())
    return torch.cat(out)


def _evaluate(net, split: TensorSplit, device, hflip_tta: bool) -> tuple[float, float]:
    probs = predict(net, split.x, device, hflip_tta=hflip_tta)
    loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), split.y).item()
    acc = (probs.argmax(1) == split.y).float().mean().item()
    return loss, acc


@dataclass
class Round:
    """One report round's draws, fixed by (seed, epoch) so a resumed run repeats it exactly:
    its optimizer steps (`first`, `steps`, of `total`), the order images are taken in (a
    pass over the data, or under a step budget the round's share of steps drawn from
    fresh shuffles, every image once before any twice) and the generator that augments."""

    gen: torch.Generator
    first: int
    steps: int
    total: int
    order: torch.Tensor

    @classmethod
    def of(cls, opts: FitOptions, n_train: int, epoch: int) -> "Round":
        gen = torch.Generator().manual_seed(opts.seed * 100_003 + epoch)
        first, steps = round_steps(opts, n_train, epoch)
        passes = 1 if opts.steps is None else math.ceil(steps * opts.batch_size / n_train)
        order = torch.cat([torch.randperm(n_train, generator=gen) for _ in range(passes)])
        return cls(gen, first, steps, total_steps(opts, n_train), order)

    def batch(self, split: TensorSplit, i: int, opts: FitOptions) -> tuple[torch.Tensor, torch.Tensor]:
        """Step i's images (float [0, 1], augmented when asked) and labels, on the CPU."""
        idx = self.order[i * opts.batch_size : (i + 1) * opts.batch_size]
        x, y = as_unit_float(split.x[idx]), split.y[idx]
        return (batch_augment(x, self.gen) if opts.augment else x), y


def dropout_seed(opts: FitOptions, epoch: int) -> int:
    """The seed of a round's dropout masks (torch's global generator)."""
    return opts.seed * 100_003 + epoch


def training_loss(logits: torch.Tensor, y: torch.Tensor, opts: FitOptions) -> torch.Tensor:
    weight = None if opts.class_weights is None else torch.tensor(opts.class_weights, device=logits.device)
    return F.cross_entropy(logits, y, weight=weight, label_smoothing=opts.label_smoothing)


def _train_epoch(net, opt, split: TensorSplit, opts: FitOptions, epoch: int, device) -> tuple[float, float]:
    """One report round (`Round`); returns the round's mean training loss and accuracy."""
    net.train()
    plan = Round.of(opts, len(split.x), epoch)
    torch.manual_seed(dropout_seed(opts, epoch))
    total_loss = correct = seen = 0.0
    for i in range(plan.steps):
        x, y = plan.batch(split, i, opts)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        for group in opt.param_groups:
            group["lr"] = opts.lr * lr_factor(opts.schedule, plan.first + i, plan.total)
        logits = net(normalise(x))
        loss = training_loss(logits, y, opts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return total_loss / seen, correct / seen


@dataclass
class Selection:
    """The round chosen on validation so far (the first of equal best accuracies) and the
    reports made: what a fit's checkpoint keeps besides the net and its optimizer."""

    best_val: float = -1.0
    best_epoch: int = -1
    best_state: dict | None = None
    history: list = field(default_factory=list)

    def round_report(self, net: nn.Module, val: TensorSplit, opts: FitOptions, epoch: int, n_train: int, device,
                     train_loss: float, train_acc: float) -> dict:
        """Round `epoch`'s report; raises FloatingPointError when its training loss is not
        finite (the net has diverged: every later round would only repeat NaN)."""
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training loss is {train_loss} in report round {epoch}: the net diverged")
        val_loss, val_acc = _evaluate(net, val, device, opts.hflip_tta)
        if val_acc > self.best_val:
            self.best_val, self.best_epoch = val_acc, epoch
            self.best_state = copy.deepcopy({k: v.cpu() for k, v in net.state_dict().items()})
        first, steps = round_steps(opts, n_train, epoch)
        metrics = {"epoch": epoch, "train/loss": train_loss, "train/acc": train_acc, "val/loss": val_loss,
                   "val/acc": val_acc, "val/acc_best": self.best_val, "best_epoch": self.best_epoch,
                   "budget/steps": opts.steps_before + first + steps,
                   "selection/at_fraction": (self.best_epoch + 1) / opts.epochs}
        self.history.append(metrics)
        return metrics

    def best_net(self, net: nn.Module) -> nn.Module:
        best = copy.deepcopy(net)
        best.load_state_dict(self.best_state)
        return best

    def state(self) -> dict:
        return {"best_state": self.best_state, "best_val": self.best_val, "best_epoch": self.best_epoch,
                "history": self.history}

    @classmethod
    def of(cls, state: dict) -> "Selection":
        return cls(state["best_val"], state["best_epoch"], state["best_state"], state["history"])


def fit(net: nn.Module, train: TensorSplit, val: TensorSplit, opts: FitOptions, reporter: Reporter,
        device: torch.device, on_finish) -> dict:
    """Train for `opts.epochs` report rounds (passes over the data, or shares of a step
    budget), reporting once per round with `budget/steps`, the optimizer steps the net has
    had so far (with `opts.steps_before`). On the last round `on_finish(last_net,
    best_net)` returns the final test metrics, which go into that epoch's report.

    Every report says `selection/at_fraction` = (best_epoch + 1) / epochs, the share of the
    report rounds run up to the round chosen on validation so far (the first of equal
    best accuracies): 1.0 at the end means the last round was chosen, so the net was
    still improving when its budget ran out.

    Resumes from `reporter.restore()` when a checkpoint exists."""
    net.to(device)
    opt = make_optimizer(net, opts)
    start, selection = 0, Selection()
    restored = reporter.restore()
    if restored:
        state = torch.load(Path(restored) / "state.pt", map_location=device, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        start, selection = state["epoch"] + 1, Selection.of(state)
    metrics: dict = {}
    for epoch in range(start, opts.epochs):
        train_loss, train_acc = _train_epoch(net, opt, train, opts, epoch, device)
        metrics = selection.round_report(net, val, opts, epoch, len(train.x), device, train_loss, train_acc)
        if epoch == opts.epochs - 1:
            metrics.update(on_finish(net, selection.best_net(net)))
        with tempfile.TemporaryDirectory(prefix="ferlab-ckpt-") as tmp:
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "epoch": epoch, **selection.state()},
                       Path(tmp) / "state.pt")
            reporter.report(metrics, checkpoint_dir=tmp)
    return metrics


def finished_fit(checkpoint_dir: str | Path, device) -> tuple[dict, dict]:
    """The chosen weights and the last report of a fit that ran to its end, from its last
    checkpoint: a trial killed right after a stage's last epoch resumes from there."""
    state = torch.load(Path(checkpoint_dir) / "state.pt", map_location=device, weights_only=False)
    return state["best_state"], state["history"][-1]


def held_out_metrics(net: nn.Module, test: TensorSplit, class_names: list[str], device, suffix: str = "",
                 hflip_tta: bool = False) -> tuple[dict, np.ndarray]:
    """`test/...` metrics (keys end in `suffix`) and the probabilities they came from."""
    probs = predict(net, test.x, device, hflip_tta=hflip_tta)
    preds = probs.argmax(1).numpy()
    found = classification_metrics(test.y.numpy(), preds, class_names)
    return {f"test/{k}{suffix}": v for k, v in found.items()}, probs.numpy()

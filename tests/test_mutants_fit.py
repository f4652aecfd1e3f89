"""trainables.core.fit, the epoch loop every classifier shares, on tiny nets and hand-worked
cases: the options' checks, the step budget's split, the optimizer and the learning-rate
schedules, prediction and evaluation, a round's draws, the training loss and step, the
selection of the epoch and its reports, and fit end to end with its resume. Written to kill
the survivors of mutation testing ([tool.mutmut] in pyproject.toml); the expected numbers
do not come from the code."""

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from trainables.core import fit as fit_module
from trainables.core.fit import (FitOptions, Round, Selection, TensorSplit, as_unit_float, check_name, dropout_seed,
                                 finished_fit, fit, lr_factor, make_optimizer, normalise, predict, round_steps,
                                 total_steps, training_loss)
from trainables.data import batch_augment

CPU = torch.device("cpu")


def options(**changes) -> FitOptions:
    base = dict(epochs=2, batch_size=2, lr=0.1, optimizer="sgd", weight_decay=0.0, schedule="constant",
                augment=False, label_smoothing=0.0, seed=0)
    return FitOptions(**{**base, **changes})


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def linear_net(seed: int = 0, classes: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, classes))


def linear_logits(net: nn.Module, x: torch.Tensor, mirrored: bool = False) -> np.ndarray:
    """The linear net's logits by hand, on (x/255 − 0.5)/0.25, optionally of the mirror images."""
    pixels = x.numpy().astype(np.float64)
    if mirrored:
        pixels = pixels[..., ::-1]
    z = ((pixels / 255 - 0.5) / 0.25).reshape(len(x), -1)
    linear = net[-1]
    return z @ linear.weight.detach().numpy().T.astype(np.float64) + linear.bias.detach().numpy()


class Lookup(nn.Module):
    """Image k (every pixel k) gets row k of `table` as its logits."""

    def __init__(self, table):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table, dtype=torch.float32))

    def forward(self, x):
        k = ((x[:, 0, 0, 0] * 0.25 + 0.5) * 255).round().long()
        return self.table[k]


def constant_images(n: int) -> torch.Tensor:
    return torch.arange(n, dtype=torch.uint8)[:, None, None, None].expand(n, 1, 4, 4).clone()


class FakeReporter:
    """Keeps every report and a copy of every checkpoint under `keep`; restores from `restored`."""

    def __init__(self, keep: Path, restored=None):
        self.keep, self.restored, self.reports, self.checkpoints, self.checkpoint_names = keep, restored, [], [], []

    def restore(self):
        return self.restored

    def report(self, metrics, checkpoint_dir=None):
        self.reports.append(dict(metrics))
        self.checkpoint_names.append(Path(checkpoint_dir).name)
        kept = self.keep / str(len(self.checkpoints))
        shutil.copytree(checkpoint_dir, kept)
        self.checkpoints.append(kept)


# --- options


def test_betas_must_be_two_numbers_from_zero_up_to_but_not_one():
    assert options(betas=(0.0, 0.5)).betas == (0.0, 0.5)
    for bad in [(0.5, 1.0), (-0.1, 0.5), (1.0, 0.5), (0.5,), (0.1, 0.2, 0.3)]:
        message = f"betas must be two numbers in [0, 1) (Adam's β1, β2), got {bad}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            options(betas=bad)


def test_options_defaults():
    opts = options()
    assert opts.hflip_tta is False and opts.class_weights is None and opts.steps is None
    assert opts.steps_before == 0 and opts.betas == (0.9, 0.999)


def test_a_step_budget_needs_a_step_per_report_round():
    assert options(epochs=3, steps=3).steps == 3
    with pytest.raises(ValueError, match="^a budget of 2 steps cannot fill 3 report rounds$"):
        options(epochs=3, steps=2)


def test_unknown_names_are_refused_listing_the_known_ones():
    check_name("colour", "red", ("red", "blue"))
    with pytest.raises(ValueError, match="^unknown colour 'green'; known: red, blue$"):
        check_name("colour", "green", ("red", "blue"))
    with pytest.raises(ValueError, match="^unknown optimizer 'nadam'; known: adam, adamw, sgd$"):
        options(optimizer="nadam")
    with pytest.raises(ValueError, match="^unknown schedule 'step'; known: onecycle, cosine, constant$"):
        options(schedule="step")


# --- the step budget


def test_a_pass_per_round_without_a_budget_rounds_the_last_batch_up():
    opts = options(epochs=3, batch_size=4)  # 10 images: batches of 4, 4, 2
    assert [round_steps(opts, 10, epoch) for epoch in range(3)] == [(0, 3), (3, 3), (6, 3)]
    assert total_steps(opts, 10) == 9
    assert round_steps(options(batch_size=5), 10, 1) == (2, 2)


def test_a_budget_is_split_over_the_rounds_by_floor_division():
    opts = options(epochs=3, batch_size=4, steps=10)  # ⌊10·e/3⌋ = 0, 3, 6, 10
    assert [round_steps(opts, 1000, epoch) for epoch in range(3)] == [(0, 3), (3, 3), (6, 4)]
    assert total_steps(opts, 1000) == 10
    assert [round_steps(options(epochs=4, steps=7), 5, epoch) for epoch in range(4)] == [(0, 1), (1, 2), (3, 2), (5, 2)]


# --- optimizer and schedule


def test_adam_and_adamw_take_the_options_lr_betas_and_weight_decay():
    net = nn.Linear(2, 2)
    for name, kind in [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]:
        opt = make_optimizer(net, options(optimizer=name, lr=0.03, betas=(0.5, 0.9), weight_decay=0.02))
        assert type(opt) is kind
        group = opt.param_groups[0]
        assert group["lr"] == 0.03 and group["betas"] == (0.5, 0.9) and group["weight_decay"] == 0.02
        assert group["params"] == list(net.parameters())


def test_sgd_is_nesterov_with_momentum_point_nine():
    params = list(nn.Linear(2, 2).parameters())
    opt = make_optimizer(params, options(optimizer="sgd", lr=0.2, weight_decay=0.001))
    assert type(opt) is torch.optim.SGD
    group = opt.param_groups[0]
    assert group["lr"] == 0.2 and group["momentum"] == 0.9 and group["nesterov"] is True
    assert group["weight_decay"] == 0.001 and group["params"] == params


def test_make_optimizer_refuses_an_unknown_name_that_slipped_past_the_options():
    opts = options()
    object.__setattr__(opts, "optimizer", "rmsprop")
    with pytest.raises(ValueError, match="^unknown optimizer 'rmsprop'; known: adam, adamw, sgd$"):
        make_optimizer(nn.Linear(2, 2), opts)


def test_onecycle_warms_up_linearly_from_a_tenth_over_15_percent_then_decays_by_cosine():
    assert lr_factor("onecycle", 0, 100) == pytest.approx(0.1)
    assert lr_factor("onecycle", 10, 100) == pytest.approx(0.1 + 0.9 * 10 / 15)
    assert lr_factor("onecycle", 15, 100) == 1.0  # the cosine's start, exactly
    assert lr_factor("onecycle", 575, 1000) == pytest.approx(0.5)  # (0.575 − 0.15)/0.85 = ½ of the cosine
    assert lr_factor("onecycle", 320, 1000) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))
    assert lr_factor("onecycle", 100, 100) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor("onecycle", 200, 100) == pytest.approx(0.0, abs=1e-12)  # past the end: held at zero


def test_cosine_and_constant_schedules():
    assert lr_factor("cosine", 0, 100) == 1.0
    assert lr_factor("cosine", 25, 100) == pytest.approx(0.5 + 0.5 * math.sqrt(0.5))
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 150, 100) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor("cosine", 1, 0) == pytest.approx(0.0, abs=1e-12)  # no steps: divided by 1
    assert lr_factor("constant", 0, 10) == 1.0 and lr_factor("constant", 7, 10) == 1.0
    with pytest.raises(ValueError, match="^unknown schedule 'linear'; known: onecycle, cosine, constant$"):
        lr_factor("linear", 0, 10)


# --- pixels and prediction


def test_bytes_become_unit_floats_and_floats_pass_through_untouched():
    out = as_unit_float(torch.tensor([0, 51, 255], dtype=torch.uint8))
    assert out.dtype == torch.float32 and out.tolist() == pytest.approx([0.0, 0.2, 1.0])
    floats = torch.tensor([0.25, 0.5, 3.0])
    assert as_unit_float(floats) is floats and floats.tolist() == [0.25, 0.5, 3.0]


def test_normalise_centres_half_at_zero_with_a_quarter_as_unit():
    assert normalise(torch.tensor([0.0, 0.5, 1.0, 0.75])).tolist() == [-2.0, 0.0, 2.0, 1.0]


def test_predict_gives_softmax_rows_in_eval_mode_whatever_the_batch_size():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, 3))
    net.train()
    x = images(5)
    expected = softmax(linear_logits(net, x))
    for batch_size in (1, 2, 3, 5, 8):
        probs = predict(net, x, CPU, batch_size=batch_size)
        assert probs.shape == (5, 3) and not probs.requires_grad
        np.testing.assert_allclose(probs.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict(net, x, CPU).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_predict_with_hflip_tta_averages_the_image_and_its_mirror():
    net, x = linear_net(), images(5)
    plain, mirrored = softmax(linear_logits(net, x)), softmax(linear_logits(net, x, mirrored=True))
    assert np.abs(plain - mirrored).max() > 1e-2  # the net tells an image from its mirror
    for batch_size in (2, 512):
        probs = predict(net, x, CPU, batch_size=batch_size, hflip_tta=True)
        np.testing.assert_allclose(probs.numpy(), (plain + mirrored) / 2, rtol=1e-5, atol=1e-6)


def test_predict_takes_512_images_a_batch_by_default():
    seen = []
    inner = linear_net()

    class Counting(nn.Module):
        def forward(self, x):
            seen.append(len(x))
            return inner(x)

    assert predict(Counting(), images(600), CPU).shape == (600, 3)
    assert seen == [512, 88]


def test_evaluate_is_the_mean_nll_of_probabilities_clamped_at_1e_12_and_the_accuracy():
    # rows: p = (¾, ¼) right; p = (1, 0) wrong with p(true) = 0 → clamped; p = (⅕, ⅘) wrong
    net = Lookup([[math.log(3), 0.0], [0.0, -1000.0], [0.0, math.log(4)]])
    val = TensorSplit(constant_images(3), torch.tensor([0, 1, 0]))
    loss, acc = fit_module._evaluate(net, val, CPU, False)
    assert loss == pytest.approx((-math.log(0.75) - math.log(1e-12) - math.log(0.2)) / 3, rel=1e-5)
    assert acc == pytest.approx(1 / 3)


def test_evaluate_predicts_with_hflip_tta_when_asked():
    net, x = linear_net(), images(6)
    probs = (softmax(linear_logits(net, x)) + softmax(linear_logits(net, x, mirrored=True))) / 2
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    loss, acc = fit_module._evaluate(net, TensorSplit(x, y), CPU, True)
    assert loss == pytest.approx(-np.log(probs[np.arange(6), y.numpy()]).mean(), rel=1e-5)
    assert acc == pytest.approx((probs.argmax(1) == y.numpy()).mean())


# --- a round's draws


def test_a_round_without_a_budget_is_one_shuffle_seeded_by_seed_and_epoch():
    opts = options(seed=2, epochs=4, batch_size=2)
    plan = Round.of(opts, 5, 3)
    gen = torch.Generator().manual_seed(2 * 100_003 + 3)
    assert plan.order.tolist() == torch.randperm(5, generator=gen).tolist()
    assert (plan.first, plan.steps, plan.total) == (9, 3, 12)
    assert torch.rand(4, generator=plan.gen).tolist() == torch.rand(4, generator=gen).tolist()


def test_a_round_under_a_budget_draws_fresh_shuffles_every_image_once_before_any_twice():
    opts = options(seed=1, epochs=2, batch_size=3, steps=4)  # 2 steps of 3 from 4 images: ⌈6/4⌉ = 2 shuffles
    plan = Round.of(opts, 4, 1)
    gen = torch.Generator().manual_seed(100_003 + 1)
    first, second = torch.randperm(4, generator=gen), torch.randperm(4, generator=gen)
    assert plan.order.tolist() == first.tolist() + second.tolist()
    assert sorted(plan.order[:4].tolist()) == sorted(plan.order[4:].tolist()) == [0, 1, 2, 3]
    assert (plan.first, plan.steps, plan.total) == (2, 2, 4)
    assert len(Round.of(options(epochs=2, batch_size=2, steps=10), 4, 0).order) == 12  # ⌈5·2/4⌉ = 3 shuffles


def test_a_round_batch_is_its_slice_of_the_order_as_unit_floats_augmented_when_asked():
    x, y = images(6), torch.tensor([0, 1, 2, 0, 1, 2])
    split = TensorSplit(x, y)
    plan = Round(torch.Generator().manual_seed(5), 0, 3, 3, torch.tensor([5, 3, 1, 0, 2, 4]))
    bx, by = plan.batch(split, 1, options(batch_size=2))
    assert by.tolist() == [1, 0]
    assert torch.equal(bx, x[[1, 0]].float() / 255)
    bx, by = plan.batch(split, 2, options(batch_size=2, augment=True))
    expected = batch_augment(x[[2, 4]].float() / 255, torch.Generator().manual_seed(5))
    assert by.tolist() == [2, 1] and torch.allclose(bx, expected)
    assert not torch.allclose(bx, x[[2, 4]].float() / 255)


def test_dropout_seed_is_seed_times_100003_plus_epoch():
    assert dropout_seed(options(seed=3), 7) == 300_016


# --- the loss and a round of training


def test_training_loss_is_cross_entropy_with_the_class_weights_and_label_smoothing():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0], [1.0, 1.0, 3.0]])
    y = np.array([0, 2, 1, 0])
    lp = np.log(softmax(logits.numpy().astype(np.float64)))
    w, eps = np.array([1.0, 2.0, 4.0]), 0.2
    wy = w[y]
    smoothed = ((1 - eps) * (wy * -lp[np.arange(4), y]).sum() + eps / 3 * -(lp * w).sum()) / wy.sum()
    got = training_loss(logits, torch.tensor(y), options(class_weights=(1.0, 2.0, 4.0), label_smoothing=0.2))
    assert got.item() == pytest.approx(smoothed, rel=1e-5)
    plain = training_loss(logits, torch.tensor(y), options())
    assert plain.item() == pytest.approx(-lp[np.arange(4), y].mean(), rel=1e-5)


class RecordingOptimizer:
    """Takes no steps; keeps each param group's lr at each step, and how grads were cleared."""

    def __init__(self, net):
        self.param_groups = [{"params": [net[-1].weight], "lr": 0.0}, {"params": [net[-1].bias], "lr": 0.0}]
        self.lrs, self.cleared = [], []

    def zero_grad(self, set_to_none=True):
        self.cleared.append(set_to_none)

    def step(self):
        self.lrs.append([group["lr"] for group in self.param_groups])


def test_a_training_round_returns_the_mean_loss_and_accuracy_over_its_images_and_sets_lr_per_step():
    seen = []
    inner = linear_net(classes=2)

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            seen.append((self.training, x.clone(), torch.rand(()).item()))
            return self.inner(x)

    net = Recording()
    net.eval()
    x = images(5)
    logits = linear_logits(inner, x)
    right = logits.argmax(1)
    y = np.where(np.arange(5) < 3, right, 1 - right)  # three of five right
    opts = options(epochs=2, batch_size=2, lr=0.1, schedule="cosine", seed=4)
    opt = RecordingOptimizer(inner)
    loss, acc = fit_module._train_epoch(net, opt, TensorSplit(x, torch.tensor(y)), opts, 1, CPU)

    lp = np.log(softmax(logits))
    assert loss == pytest.approx(-lp[np.arange(5), y].mean(), rel=1e-5)
    assert acc == pytest.approx(0.6)
    expected_lrs = [0.1 * 0.5 * (1 + math.cos(math.pi * k / 6)) for k in (3, 4, 5)]  # steps 3-5 of 6
    assert [lr[0] for lr in opt.lrs] == pytest.approx(expected_lrs)
    assert [lr[1] for lr in opt.lrs] == pytest.approx(expected_lrs)
    assert opt.cleared == [True, True, True]  # grads freed, not zeroed, between steps

    order = torch.randperm(5, generator=torch.Generator().manual_seed(4 * 100_003 + 1))
    assert [len(batch) for _, batch, _ in seen] == [2, 2, 1] and all(training for training, _, _ in seen)
    torch.testing.assert_close(torch.cat([batch for _, batch, _ in seen]), (x[order].float() / 255 - 0.5) / 0.25)
    torch.manual_seed(4 * 100_003 + 1)
    assert [draw for _, _, draw in seen] == [torch.rand(()).item() for _ in range(3)]


def test_a_training_round_steps_on_each_batchs_own_gradient():
    net, x, y = linear_net(), images(4), torch.tensor([0, 1, 2, 1])
    opts = options(epochs=1, batch_size=2, lr=0.5, seed=3)
    weight, bias = net[-1].weight.detach().clone(), net[-1].bias.detach().clone()
    order = torch.randperm(4, generator=torch.Generator().manual_seed(3 * 100_003))
    for batch in (order[:2], order[2:]):
        z = ((x[batch].float() / 255 - 0.5) / 0.25).reshape(2, -1)
        p = torch.softmax(z @ weight.T + bias, dim=1)
        delta = (p - torch.eye(3)[y[batch]]) / 2  # ∂ mean CE / ∂ logits
        weight, bias = weight - 0.5 * delta.T @ z, bias - 0.5 * delta.sum(0)
    fit_module._train_epoch(net, torch.optim.SGD(net.parameters(), lr=0.5), TensorSplit(x, y), opts, 0, CPU)
    torch.testing.assert_close(net[-1].weight.detach(), weight)
    torch.testing.assert_close(net[-1].bias.detach(), bias)


# --- selection and reports


def test_a_diverged_round_raises_naming_its_loss_and_round():
    val = TensorSplit(constant_images(2), torch.tensor([0, 1]))
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(FloatingPointError, match=f"^training loss is {bad} in report round 3: the net diverged$"):
            Selection().round_report(Lookup([[1.0, 0.0], [0.0, 1.0]]), val, options(epochs=5), 3, 10, CPU, bad, 0.5)


def test_a_fresh_selection_has_nothing_chosen():
    assert Selection().state() == {"best_state": None, "best_val": -1.0, "best_epoch": -1, "history": []}


def test_round_reports_keep_the_first_of_equal_best_accuracies_and_say_everything():
    # val: image k has label 0; row k of the table decides whether it is right
    val = TensorSplit(constant_images(2), torch.tensor([0, 0]))
    net = Lookup([[0.0, 1.0], [0.0, 1.0]])  # 0 of 2 right
    opts = options(epochs=4, steps=10, steps_before=7)  # rounds of ⌊10·e/4⌋: 0, 2, 5, 7, 10
    selection = Selection()
    reports = []

    def report(epoch, table):
        with torch.no_grad():
            net.table.copy_(torch.tensor(table))
        reports.append(selection.round_report(net, val, opts, epoch, 99, CPU, 0.25 + epoch, 0.125 * epoch))

    report(0, [[0.0, 1.0], [0.0, 1.0]])
    assert selection.best_epoch == 0 and selection.best_val == 0.0
    report(1, [[1.0, 0.0], [0.0, 1.0]])
    chosen = net.table.detach().clone()
    report(2, [[0.0, 1.0], [2.0, 0.0]])  # as good as round 1: round 1 stays chosen
    assert selection.best_epoch == 1 and torch.equal(selection.best_state["table"], chosen)
    report(3, [[1.0, 0.0], [1.0, 0.0]])
    p = 1 / (1 + math.e)  # softmax of (0, 1) at the wrong class
    assert reports[1] == {"epoch": 1, "train/loss": 1.25, "train/acc": 0.125,
                          "val/loss": pytest.approx((-math.log(1 - p) - math.log(p)) / 2),
                          "val/acc": 0.5, "val/acc_best": 0.5, "best_epoch": 1,
                          "budget/steps": 7 + 2 + 3, "selection/at_fraction": 0.5}
    assert reports[2]["best_epoch"] == 1 and reports[2]["selection/at_fraction"] == 0.5
    assert reports[2]["budget/steps"] == 7 + 5 + 2 and reports[2]["val/acc_best"] == 0.5
    assert reports[3]["best_epoch"] == 3 and reports[3]["selection/at_fraction"] == 1.0
    assert reports[3]["budget/steps"] == 17 and reports[3]["val/acc"] == 1.0
    assert reports[0]["selection/at_fraction"] == 0.25 and reports[0]["val/acc_best"] == 0.0
    assert selection.history == reports


def test_the_chosen_state_is_a_copy_the_net_cannot_change_later():
    net = Lookup([[0.0, 1.0]])
    val = TensorSplit(constant_images(1), torch.tensor([1]))
    selection = Selection()
    selection.round_report(net, val, options(), 0, 4, CPU, 0.5, 0.5)
    with torch.no_grad():
        net.table.add_(1.0)
    assert selection.best_state["table"].tolist() == [[0.0, 1.0]]
    best = selection.best_net(net)
    assert best is not net and best.table.tolist() == [[0.0, 1.0]]
    assert net.table.tolist() == [[1.0, 2.0]]


def test_a_selection_survives_its_state_round_trip():
    selection = Selection(0.75, 2, {"w": torch.tensor([1.0])}, [{"epoch": 0}, {"epoch": 1}])
    state = selection.state()
    assert set(state) == {"best_state", "best_val", "best_epoch", "history"}
    again = Selection.of(state)
    assert (again.best_val, again.best_epoch, again.history) == (0.75, 2, [{"epoch": 0}, {"epoch": 1}])
    assert again.best_state["w"].tolist() == [1.0]


# --- fit end to end


def tiny_problem():
    train = TensorSplit(images(6, seed=1), torch.tensor([0, 1, 2, 0, 1, 2]))
    val = TensorSplit(images(4, seed=2), torch.tensor([2, 1, 0, 0]))
    opts = options(epochs=3, batch_size=2, lr=0.05, optimizer="sgd", schedule="onecycle", seed=7, hflip_tta=True)
    return train, val, opts


def test_fit_reports_every_round_and_finishes_with_the_last_and_chosen_nets(tmp_path):
    train, val, opts = tiny_problem()
    net, reporter, finished = linear_net(seed=1), FakeReporter(tmp_path), []

    def on_finish(last, best):
        finished.append((last, best))
        return {"test/acc": 0.5}

    final = fit(net, train, val, opts, reporter, CPU, on_finish)
    assert [r["epoch"] for r in reporter.reports] == [0, 1, 2]
    assert final == reporter.reports[-1] and final["test/acc"] == 0.5
    assert all("test/acc" not in r for r in reporter.reports[:-1])
    assert len(finished) == 1 and finished[0][0] is net
    assert [r["budget/steps"] for r in reporter.reports] == [3, 6, 9]
    for r in reporter.reports:  # a share of the 6 training images, and a positive loss
        assert r["train/acc"] * 6 == pytest.approx(round(r["train/acc"] * 6)) and 0 <= r["train/acc"] <= 1
        assert r["train/loss"] > 0
    assert all(name.startswith("ferlab-ckpt-") for name in reporter.checkpoint_names)

    state = torch.load(reporter.checkpoints[-1] / "state.pt", weights_only=False)
    assert set(state) == {"net", "opt", "epoch", "best_state", "best_val", "best_epoch", "history"}
    assert state["epoch"] == 2 and state["history"] == reporter.reports
    assert state["best_epoch"] == final["best_epoch"] and state["best_val"] == final["val/acc_best"]
    for key, value in net.state_dict().items():
        assert torch.equal(state["net"][key], value)
    best = finished[0][1]
    assert best is not net
    for key, value in best.state_dict().items():
        assert torch.equal(state["best_state"][key], value)
    assert state["opt"]["param_groups"][0]["momentum"] == 0.9

    probs = (softmax(linear_logits(net, val.x)) + softmax(linear_logits(net, val.x, mirrored=True))) / 2
    assert final["val/loss"] == pytest.approx(-np.log(probs[np.arange(4), val.y.numpy()]).mean(), rel=1e-5)
    assert final["val/acc"] == pytest.approx((probs.argmax(1) == val.y.numpy()).mean())
    assert finished_fit(reporter.checkpoints[-1], CPU)[1] == final


def test_fit_resumes_after_the_checkpointed_round_and_ends_where_a_straight_run_does(tmp_path):
    train, val, opts = tiny_problem()
    straight_net, straight = linear_net(seed=1), FakeReporter(tmp_path / "straight")
    final = fit(straight_net, train, val, opts, straight, CPU, lambda last, best: {"test/acc": np.float64(1.0)})

    finished = []
    resumed_net, resumed = linear_net(seed=9), FakeReporter(tmp_path / "resumed", restored=str(straight.checkpoints[0]))
    again = fit(resumed_net, train, val, opts, resumed, CPU,
                lambda last, best: finished.append(last) or {"test/acc": 1.0})
    assert [r["epoch"] for r in resumed.reports] == [1, 2]
    assert finished == [resumed_net]
    assert again == pytest.approx(final)
    for key, value in straight_net.state_dict().items():
        torch.testing.assert_close(resumed_net.state_dict()[key], value)

    done = FakeReporter(tmp_path / "done", restored=str(straight.checkpoints[-1]))  # its last report: a numpy number
    assert fit(linear_net(seed=9), train, val, opts, done, CPU, lambda last, best: {}) == {}
    assert done.reports == []


def test_finished_fit_reads_the_chosen_weights_and_the_last_report_numpy_numbers_included(tmp_path):
    history = [{"epoch": 0}, {"epoch": 1, "test/acc": np.float64(0.5)}]
    torch.save({"best_state": {"w": torch.tensor([3.0])}, "history": history}, tmp_path / "state.pt")
    best_state, last = finished_fit(tmp_path, CPU)
    assert best_state["w"].tolist() == [3.0] and last == {"epoch": 1, "test/acc": 0.5}


def test_test_metrics_are_prefixed_and_suffixed_and_come_with_their_probabilities():
    # image k's logits favour class (0, 1, 1, 0); labels (0, 1, 0, 0): 3 of 4 right
    table = [[1.0, 0.0], [0.0, 2.0], [0.0, 1.0], [3.0, 0.0]]
    test = TensorSplit(constant_images(4), torch.tensor([0, 1, 0, 0]))
    found, probs = fit_module.held_out_metrics(Lookup(table), test, ["calm", "happy"], CPU, suffix="_at_best_val")
    np.testing.assert_allclose(probs, softmax(np.array(table)), rtol=1e-5)
    assert set(found) == {f"test/{k}_at_best_val" for k in
                          ("acc", "macro_f1", "top_pred_share", "acc_calm", "acc_happy", "ovr_acc_calm",
                           "ovr_acc_happy")}
    assert found["test/acc_at_best_val"] == 0.75 and found["test/top_pred_share_at_best_val"] == 0.5
    assert found["test/acc_calm_at_best_val"] == pytest.approx(2 / 3) and found["test/acc_happy_at_best_val"] == 1.0
    plain, _ = fit_module.held_out_metrics(Lookup(table), test, ["calm", "happy"], CPU)
    assert plain["test/acc"] == 0.75 and "test/acc_at_best_val" not in plain


def test_test_metrics_predict_with_hflip_tta_only_when_asked():
    net, x = linear_net(), images(5)
    test = TensorSplit(x, torch.tensor([0, 1, 2, 0, 1]))
    plain, mirrored = softmax(linear_logits(net, x)), softmax(linear_logits(net, x, mirrored=True))
    _, probs = fit_module.held_out_metrics(net, test, ["a", "b", "c"], CPU, hflip_tta=True)
    np.testing.assert_allclose(probs, (plain + mirrored) / 2, rtol=1e-5, atol=1e-6)
    _, probs = fit_module.held_out_metrics(net, test, ["a", "b", "c"], CPU)
    np.testing.assert_allclose(probs, plain, rtol=1e-5, atol=1e-6)

"""Train and evaluate one expression classifier on one dataset, split and seed.

The function takes a plain config dict and a reporter (trainables.core.reporting), so it runs
under Ray Tune and in a plain process alike. The epoch is chosen on validation only;
test metrics are reported at that epoch (`..._at_best_val`) and at the last one.

With `cross_dataset` (trainables.core.cross_data) the trial also tests on another
dataset's held-out images of the classes both share: blind (`blind/...`, the net of the
chosen epoch), and, with `cross_steps`, after fine-tuning that net for `cross_steps`
steps on the other dataset's training split, the epoch chosen on its validation split
(`finetuned/test/..._at_best_val`; the stage's other reports under `finetuned/` too).
Both are measured on the same held-out images (`data/n_blind` of them)."""

import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from trainables.configs.classifier import ClassifierConfig, ClassifierTrial, parse_trial, step_budget
from trainables.configs.classifier import parse_config  # noqa: F401 (re-exported)
from trainables.core.cross_data import blind_metrics, load_cross_real
from trainables.core.fit import (FitOptions, TensorSplit, finished_fit, fit,
                                 held_out_metrics)
from trainables.core.real_data import (RealData, concat_splits, device_for, images_split,
                                       load_real_data, split_counts, tensor_split)
from trainables.core.reporting import Reporter, StageReporter, restored_carried, write_test_artifacts
from trainables.nets import create_net, net_spec
from trainables.nets.kernels import placed


def build_net(cfg: ClassifierConfig, n_classes: int, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(cfg.seed)
    options = {"width": cfg.width} | ({} if cfg.dropout is None else {"dropout": cfg.dropout})
    return placed(create_net(cfg.net, n_classes=n_classes, **options), device, cfg.kernels)


def replace_head(net: torch.nn.Module, n_classes: int, seed: int) -> torch.nn.Module:
    """A fresh last layer for another class set (fine-tuning on another dataset). Every
    classifier net ends in `classifier[-1]`, a Linear layer."""
    old = net.classifier[-1]
    if not isinstance(old, torch.nn.Linear):
        raise TypeError(f"{type(net).__name__}.classifier[-1] is {type(old).__name__}, not Linear")
    torch.manual_seed(seed)
    net.classifier[-1] = torch.nn.Linear(old.in_features, n_classes).to(old.weight.device)
    return net


def keep_head_rows(net: torch.nn.Module, rows: list[int]) -> torch.nn.Module:
    """The last layer cut to the outputs `rows` (the classes another dataset shares), its
    weights kept: fine-tuning then starts from the blind predictor, not from a fresh head."""
    old = net.classifier[-1]
    if not isinstance(old, torch.nn.Linear):
        raise TypeError(f"{type(net).__name__}.classifier[-1] is {type(old).__name__}, not Linear")
    head = torch.nn.Linear(old.in_features, len(rows)).to(old.weight.device)
    with torch.no_grad():
        head.weight.copy_(old.weight[rows])
        head.bias.copy_(old.bias[rows])
    net.classifier[-1] = head
    return net


def fit_options(cfg: ClassifierConfig, epochs: int | None = None, steps: int | None = None,
                steps_before: int = 0) -> FitOptions:
    """The fit's options: the config's, with `epochs` and `steps` for one stage of a
    staged budget (DAG's pre-training and fine-tuning) when given."""
    return FitOptions(epochs=epochs or cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer,
                      weight_decay=cfg.weight_decay, schedule=cfg.schedule, augment=cfg.augment == "classical",
                      label_smoothing=cfg.label_smoothing, seed=cfg.seed, hflip_tta=cfg.hflip_tta,
                      steps=steps or cfg.steps, steps_before=steps_before, betas=(cfg.beta1, cfg.beta2))


def train_classifier(config: dict, reporter: Reporter) -> dict:
    """Run one trial; returns the last epoch's metrics (with the final test metrics)."""
    trial = parse_trial(config)
    if trial.classifier.threads:
        torch.set_num_threads(trial.classifier.threads)
    real = load_real_data(trial.classifier.data, trial.classifier.seed)
    cfg = step_budget(trial.classifier, len(real.splits.train))
    trial = dataclasses.replace(trial, classifier=cfg)
    if trial.cross.cross_dataset is None:
        return train_on_real(cfg, real, reporter)
    return train_with_cross_test(trial, real, reporter)


def train_with_cross_test(trial: ClassifierTrial, real: RealData, reporter: Reporter) -> dict:
    """The classifier on its own dataset, tested blind on the cross dataset at the chosen
    epoch; then, with `cross_steps`, that net fine-tuned on the cross dataset (a stage of
    its own, resumable like DAG's in trainables.trials.cyclegan)."""
    cfg, cross = trial.classifier, trial.cross
    device = device_for(cfg.device)
    # before the long source stage: a bad cross dataset (no shared classes) fails at once
    target = load_cross_real(cross, cfg.data, cfg.seed, real.class_names)
    held_out = tensor_split(target.data.images, target.labels, target.splits.test, net_spec(cfg.net).input_size)

    def blind(best_net) -> dict:
        return {**blind_metrics(best_net, held_out, real.class_names, target.class_names, device, cfg.hflip_tta),
                "data/n_blind": len(held_out.y)}

    if cross.cross_steps == 0:
        return train_on_real(cfg, real, reporter, also=blind)
    restored = reporter.restore()
    with tempfile.TemporaryDirectory(prefix="ferlab-carried-") as tmp:
        carried = Path(tmp)
        restored_carried(restored, carried)
        source_state, source_metrics = carried / "source.pt", carried / "source_metrics.json"
        if not source_state.exists():
            stage = StageReporter(reporter, "classifier", restored, carried)
            chosen: dict = {}
            found = train_on_real(cfg, real, stage, chosen=chosen, also=blind)
            if "state" not in chosen:  # killed after the stage's last checkpoint: its choice is there
                chosen["state"], found = finished_fit(stage.restore(), device)
            torch.save(chosen["state"], source_state)
            source_metrics.write_text(json.dumps({k: float(v) for k, v in found.items()}))
        metrics = json.loads(source_metrics.read_text())
        net = build_net(cfg, len(real.class_names), device)
        net.load_state_dict(torch.load(source_state, map_location=device, weights_only=True))
        keep_head_rows(net, [real.class_names.index(c) for c in target.class_names])
        target_cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset=cross.cross_dataset),
                                         epochs=min(cfg.epochs, cross.cross_steps), steps=cross.cross_steps)
        stage = StageReporter(reporter, "finetune", restored, carried, metrics, prefix="finetuned")
        found = train_on_real(target_cfg, target, stage, net=net, steps_before=int(metrics["budget/steps"]))
        return {**metrics, **{f"finetuned/{k}": v for k, v in found.items()}}


def train_on_real(cfg: ClassifierConfig, real: RealData, reporter: Reporter,
                  extra_train: tuple[np.ndarray, np.ndarray] | None = None,
                  net: torch.nn.Module | None = None, chosen: dict | None = None,
                  epochs: int | None = None, steps: int | None = None, steps_before: int = 0,
                  also: Callable[[torch.nn.Module], dict] | None = None) -> dict:
    """Train on the real training split, plus `extra_train` (uint8 images, class indices:
    synthetic data) when given, starting from `net` when given (fine-tuning); select the
    epoch on the real validation split and test at it. `chosen`, when given, receives the
    chosen epoch's weights under "state". `steps`/`steps_before`: this stage's share of
    a staged budget, and the steps `net` already had. `also(best_net)` adds its
    metrics to the final ones (the blind cross test)."""
    device = device_for(cfg.device)
    train, val, test = real_splits(cfg, real, extra_train)
    net = net if net is not None else build_net(cfg, len(real.class_names), device)
    n_synthetic = 0 if extra_train is None else len(extra_train[1])
    on_finish = finisher(cfg, real, reporter, test, len(train.y), n_synthetic, chosen, also)
    return fit(net, train, val, fit_options(cfg, epochs, steps, steps_before), reporter, device, on_finish)


def real_splits(cfg: ClassifierConfig, real: RealData, extra_train: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[TensorSplit, TensorSplit, TensorSplit]:
    """(train, val, test) at the net's input size; `extra_train` joins the training split."""
    size = net_spec(cfg.net).input_size
    train, val, test = (tensor_split(real.data.images, real.labels, idx, size)
                        for idx in (real.splits.train, real.splits.val, real.splits.test))
    if extra_train is not None:
        train = concat_splits(train, images_split(*extra_train, size))
    return train, val, test


def finisher(cfg: ClassifierConfig, real: RealData, reporter: Reporter, test: TensorSplit, n_train: int,
             n_synthetic: int, chosen: dict | None = None,
             also: Callable[[torch.nn.Module], dict] | None = None) -> Callable[[torch.nn.Module, torch.nn.Module], dict]:
    """The fit's `on_finish`: test metrics at the last and the chosen round, the test
    predictions as artifacts, the data counts."""
    device = device_for(cfg.device)

    def on_finish(last_net, best_net) -> dict:
        last, _ = held_out_metrics(last_net, test, real.class_names, device, hflip_tta=cfg.hflip_tta)
        best, probs = held_out_metrics(best_net, test, real.class_names, device, suffix="_at_best_val",
                                   hflip_tta=cfg.hflip_tta)
        with tempfile.TemporaryDirectory(prefix="ferlab-results-") as workdir:
            write_test_artifacts(reporter, workdir, real.splits.test, test.y.numpy(), probs, real.class_names)
        counts = {**split_counts(cfg.data, real), "data/n_train": n_train, "data/n_synthetic": n_synthetic}
        if chosen is not None:
            chosen["state"] = best_net.state_dict()
        return {**last, **best, **counts, **(also(best_net) if also is not None else {})}

    return on_finish

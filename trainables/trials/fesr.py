"""One FESR or FESGAN trial: a variant (trainables.configs.fesr_variants) on one fold and seed.

Stage 1 (FESGAN alone, P_pre iterations) depends only on the data, split, FESGAN options
and seed, not on what follows, so its result is cached and shared: the FESR variants
that pre-train (SL, JL-IL, JL-RDBP, JL, Real) train it once per fold and seed. Stage 2
trains R (and, jointly, FESGAN). R's iteration is chosen on the validation split (carved
from the training folds by subject) and tested on the held-out fold; `test/...` metrics
are reported at that iteration (`_at_best_val`) and at the last one, as for every
classifier here. Stage-2 reports say `selection/at_fraction`, where R's chosen iteration
lies in its budget (near 1: still improving when the budget ended). The variants whose R
trains on synthetic images also report the quality of those images (`synth/...`,
trainables.synthetic.fesgan_eval.synthesis_gate); FESGAN-only variants (FG…) report the synthesis
metrics of trainables.synthetic.fesgan_eval instead.

Reports come every `report_every` iterations, each with a checkpoint that resumes the
run exactly, and each says `budget/steps`, the optimizer steps R has taken so far: every
FESR variant ends at `joint_iters`, so the ablation compares R trained equally long."""

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainables.core.caches import torch_save_atomic
from trainables.configs.fesr import LAMBDA_KEYS, FESRConfig, parse_config  # noqa: F401 (LAMBDA_KEYS re-exported)
from trainables.core.metrics import classification_metrics
from trainables.core.real_data import RealData, device_for, load_real_data, split_counts
from trainables.core.reporting import write_test_artifacts
from trainables.core.reporting import Reporter
from trainables.data import resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.gans.fesr_fit import FESRTrainer
from trainables.configs.fesr_variants import get_variant, pretrained_gan_key
from trainables.gans.checkpoint import load_checkpoint, save_checkpoint
from trainables.nets.kernels import placed
from trainables.synthetic.identity import IdentityOptions, identity_extractor, load_module


def to_gan_range(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 N×H×W → float N×1×S×S in [-1, 1]."""
    return torch.from_numpy(resize_images(images, size)).float().div_(127.5).sub_(1).unsqueeze(1)


def _split_hash(real: RealData) -> str:
    return hashlib.sha256(b"|".join(np.asarray(s, np.int64).tobytes() for s in (real.splits.train, real.splits.val, real.splits.test))).hexdigest()


STAGE1_VERSION = 2  # 2: D_img's class head as Table I; a changed stage 1 must not load an older cached one


def pretrained_path(cfg: FESRConfig, real: RealData, identity_key: str) -> Path:
    """Where stage 1's FESGAN is kept: keyed by everything stage 1 depends on."""
    opts = dataclasses.asdict(cfg.fesr)
    opts["lambdas"] = opts["lambdas"][:5]  # λ6 weighs R's intra-class loss: stage 2 only
    key = sha256_json({"version": STAGE1_VERSION, "content": real.data.content_hash, "split": _split_hash(real),
                       "switches": pretrained_gan_key(get_variant(cfg.variant)), "identity": identity_key,
                       "options": {k: v for k, v in opts.items() if k not in ("joint_iters", "report_every", "r_width", "kernels")}})
    return cache_root(cfg.data.cache_dir) / "fesgan" / f"stage1-{key[:32]}.pt"


class Checkpoint:
    """What a report's checkpoint holds: the trainer, the iteration, the chosen R."""

    NAME = "state.pt"

    @staticmethod
    def save(directory: Path, trainer: FESRTrainer, t: int, best: dict, history: list) -> None:
        save_checkpoint(Path(directory) / Checkpoint.NAME, trainer.bundle, t=t, best=best, history=history)

    @staticmethod
    def load(directory: str, trainer: FESRTrainer, device) -> dict:
        """Restore `trainer` in place; returns t, best and history."""
        return load_checkpoint(Path(directory) / Checkpoint.NAME, trainer.bundle, map_location=device)


@dataclass
class TrialSetup:
    trainer: FESRTrainer
    real: RealData
    images: torch.Tensor  # every image, in the GAN's range at the trial's size
    labels: torch.Tensor
    identity: object  # the identity extractor, or None
    identity_metrics: dict  # which identity extractor is used


def build_trainer(cfg: FESRConfig, device: torch.device) -> TrialSetup:
    """The trial's data and its trainer, ready for iteration 0 (also what bench.gpu times)."""
    variant = get_variant(cfg.variant)
    real = load_real_data(cfg.data, cfg.seed)
    size, splits = cfg.fesr.size, real.splits
    images = to_gan_range(real.data.images, size)
    labels = torch.from_numpy(real.labels).long()
    train_x, train_y = images[splits.train], labels[splits.train]
    subjects = None if real.data.subjects is None else np.asarray(real.data.subjects)[splits.train]
    fixed: dict = {}
    identity = None
    if variant.identity or not variant.recognizer:  # FESGAN variants use it to measure verification rates
        identity, fixed = identity_extractor(
            cfg.identity, train_x, subjects,
            IdentityOptions(size, cfg.identity_width, cfg.identity_epochs, seed=cfg.seed),
            real.data.content_hash, device, cfg.data.cache_dir)
        if identity is not None:  # a trained net's bound `features`, or a loaded module
            placed(getattr(identity, "__self__", identity), device, cfg.fesr.kernels)
    trunk = load_module(cfg.trunk_weights, device) if cfg.trunk_weights else None
    trainer = FESRTrainer(variant, cfg.fesr, len(real.class_names), train_x, train_y, device, identity, trunk)
    return TrialSetup(trainer, real, images, labels, identity, fixed)


def train_fesr(config: dict, reporter: Reporter) -> dict:
    """Run one trial; returns the last report (with the final test metrics)."""
    cfg = parse_config(config)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = device_for(cfg.device)
    setup = build_trainer(cfg, device)
    run = TrialRun(cfg, setup, reporter, device)
    restored = reporter.restore()
    if restored:
        run.restore(restored)
    elif run.stage1_cache is not None and run.stage1_cache.exists():
        setup.trainer.load_state_dict(torch.load(run.stage1_cache, map_location=device, weights_only=True))
        run.stage1_loaded()
    metrics: dict = {}
    while run.t < setup.trainer.total_iters:
        if run.add(setup.trainer.step(run.t)):
            metrics = run.report()
    return metrics


class TrialRun:
    """One trial's progress between reports: the iteration `t`, the loss sums since the
    last report, the R chosen on validation, the history; and its report (validation,
    stage 1's cache, the final test metrics, the checkpoint). A fused member
    (trainables.trials.fesr_fused) is a TrialRun whose trainer holds the member's state."""

    def __init__(self, cfg: FESRConfig, setup: TrialSetup, reporter: Reporter, device):
        self.cfg, self.setup, self.reporter, self.device = cfg, setup, reporter, device
        self.variant = get_variant(cfg.variant)
        self.fixed = dict(setup.identity_metrics)
        self.t, self.best, self.history = 0, {"acc": -1.0, "t": -1, "state": None}, []
        self.sums: dict[str, float] = {}
        self.count = 0
        identity_key = cfg.identity if self.variant.identity else "none"
        trainer = setup.trainer
        self.stage1_cache = pretrained_path(cfg, setup.real, identity_key) \
            if trainer.pretrain_iters and self.variant.recognizer else None

    def restore(self, restored: str) -> None:
        state = Checkpoint.load(restored, self.setup.trainer, self.device)
        self.t, self.best, self.history = state["t"], state["best"], state["history"]

    def stage1_loaded(self) -> None:
        self.t = self.setup.trainer.pretrain_iters
        self.fixed["fesgan/stage1_from_cache"] = 1.0

    def add(self, logs: dict[str, float]) -> bool:
        """Count iteration t's losses; whether a report is due after it."""
        for name, value in logs.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.count += 1
        self.t += 1
        trainer = self.setup.trainer
        return not (self.t % self.cfg.fesr.report_every) or self.t == trainer.total_iters or self.boundary

    @property
    def boundary(self) -> bool:
        return self.t == self.setup.trainer.pretrain_iters and self.variant.recognizer

    def report(self) -> dict:
        """The report after iteration t, from the trainer's current state; checkpointed."""
        t, trainer, setup = self.t, self.setup.trainer, self.setup
        metrics = {**self.fixed, "iteration": t, "stage": 2.0 if trainer.in_stage2(t - 1) else 1.0,
                   "budget/steps": float(trainer.recognizer_steps),
                   **{f"loss/{k}": v / self.count for k, v in self.sums.items()}}
        self.sums, self.count = {}, 0
        if trainer.in_stage2(t - 1):
            val_x, val_y = setup.images[setup.real.splits.val], setup.labels[setup.real.splits.val].numpy()
            acc = float((trainer.predict(val_x).argmax(1) == val_y).mean())
            if acc > self.best["acc"]:
                self.best = {"acc": acc, "t": t, "state": trainer.recognizer_copy()}
            metrics.update({"val/acc": acc, "val/acc_best": self.best["acc"], "best_iteration": self.best["t"],
                            "selection/at_fraction": selection_fraction(self.best["t"], trainer)})
        if self.boundary and self.stage1_cache is not None and not self.stage1_cache.exists():
            torch_save_atomic(trainer.gan_state(), self.stage1_cache)
        if t == trainer.total_iters:
            metrics.update(finish(self.cfg, trainer, setup.real, setup.images, setup.labels, self.best, self.reporter,
                                  self.device, setup.identity))
        self.history.append({k: v for k, v in metrics.items() if k.startswith(("loss/", "val/"))})
        with tempfile.TemporaryDirectory(prefix="ferlab-fesr-") as tmp:
            Checkpoint.save(Path(tmp), trainer, t, self.best, self.history)
            self.reporter.report(metrics, checkpoint_dir=tmp)
        return metrics


def selection_fraction(chosen_t: int, trainer: FESRTrainer) -> float:
    """Where R's chosen iteration lies in its budget: its stage-2 iterations up to the chosen
    report over `joint_iters` (R trains in stage 2 only), so (chosen report + 1) / reports
    when the reports are evenly spaced, as fit.py's (best_epoch + 1) / epochs."""
    return (chosen_t - trainer.pretrain_iters) / trainer.opts.joint_iters


def finish(cfg: FESRConfig, trainer: FESRTrainer, real: RealData, images: torch.Tensor, labels: torch.Tensor,
           best: dict, reporter: Reporter, device, identity) -> dict:
    """The trial's final metrics and artifacts; `identity` (or None) measures verification."""
    from trainables.synthetic import fesgan_eval

    out = {**split_counts(cfg.data, real), "data/n_train": len(real.splits.train)}
    test_x, test_y = images[real.splits.test], labels[real.splits.test].numpy()
    if trainer.variant.recognizer:
        last_probs = trainer.predict(test_x)
        out.update({f"test/{k}": v for k, v in classification_metrics(test_y, last_probs.argmax(1),
                                                                       real.class_names).items()})
        trainer.nets["recognizer"].load_state_dict(best["state"])
        probs = trainer.predict(test_x)
        out.update({f"test/{k}_at_best_val": v for k, v in classification_metrics(test_y, probs.argmax(1),
                                                                                  real.class_names).items()})
        with tempfile.TemporaryDirectory(prefix="ferlab-results-") as workdir:
            write_test_artifacts(reporter, workdir, real.splits.test, test_y, probs, real.class_names)
            fesgan_eval.log_recognizer_features(trainer, test_x, test_y, real.class_names, cfg.seed,
                                                Path(workdir) / "r_features.npz", reporter)
    if trainer.variant.gan:
        out.update(fesgan_eval.synthesis_metrics(cfg, trainer, real, images, device, reporter, identity))
    return out

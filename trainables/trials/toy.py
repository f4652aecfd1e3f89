"""The toy experiment of Zhu et al. 2017, §4.1: does a CycleGAN fill in a minority class
well enough to fix a linear SVM's margins?

Three 2-D Gaussians N(μ_m, Σ) with the paper's μ_1 = (0, 6), μ_2 = (6.5, 7),
μ_3 = (2, 2) and Σ = [[2, 1], [1, 2]]; 1000 / 1000 / 100 training points (class 3 is the
minority) and 100 test points per class. A linear SVM is trained on the real points
(paper: 93.3 %), then a CycleGAN translates reference-class points into 900 minority
points and the same SVM is retrained on real + generated (paper: 98.0 %). The same trial
also trains it on the cheap alternative the GAN must beat, `oversample`: the real points
plus the 100 real minority points repeated up to the same 900 extra points (no GAN), tested
on the same test draw.

Where the paper is silent: the reference class is class 1 (μ_1, the majority class
nearest the minority; `reference` picks the other); the SVM is scikit-learn's LinearSVC
(one-vs-rest, C = 1); the CycleGAN is two small MLP generators and two MLP
discriminators on standardised coordinates, LSGAN adversarial loss (their eqs. 2–3) and
λ = 10 times the L1 cycle loss (eq. 5), Adam with the learning rate decayed linearly
over the second half of training; the 900 inputs are reference training points drawn
without replacement. No arm is chosen on validation: the GAN arm is tested with the
generator after its `gan_steps` (the paper has no validation set), as the two controls
are tested with their only SVM. Picking the best of the report steps' generators on
validation would give the GAN arm a choice its controls do not get. Each report still
gives the augmented SVM's accuracy on a held-out validation draw (100 points per class,
like the test set), to watch, never to choose.

Every report carries `budget/steps`, the CycleGAN steps taken so far (the SVMs take no
optimizer steps).

The data are drawn here from `seed`: the launcher's dataset keys (`dataset`, `data_root`,
`dataset_options`, `cache_dir`, `fold`, `n_folds`) are accepted and ignored."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.svm import LinearSVC
from torch import nn

from trainables.configs.toy import ToyConfig, parse_toy_config
from trainables.gans.checkpoint import load_checkpoint, save_checkpoint
from trainables.gans.contract import GANBundle, floats, update
from trainables.gans import cyclegan
from trainables.gans.losses import linear_decay
from trainables.core.reporting import Reporter

MEANS = np.array([[0.0, 6.0], [6.5, 7.0], [2.0, 2.0]])
COVARIANCE = np.array([[2.0, 1.0], [1.0, 2.0]])
MINOR = 2
CHECKPOINT = "state.pt"


@dataclass(frozen=True)
class ToyData:
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def _draw(counts, rng) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([rng.multivariate_normal(mu, COVARIANCE, n) for mu, n in zip(MEANS, counts)])
    return x.astype(np.float32), np.repeat(np.arange(len(MEANS)), counts)


def draw_data(cfg: ToyConfig) -> ToyData:
    # One stream per split, so changing the training sizes leaves val and test as they were.
    counts = (cfg.n_major, cfg.n_major, cfg.n_minor)
    train = _draw(counts, np.random.default_rng([cfg.seed, 0]))
    val = _draw((cfg.n_eval,) * 3, np.random.default_rng([cfg.seed, 1]))
    test = _draw((cfg.n_eval,) * 3, np.random.default_rng([cfg.seed, 2]))
    return ToyData(*train, *val, *test)


def _mlp(n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, n_out))


def build_nets(hidden: int) -> nn.ModuleDict:
    """Named as trainables.gans.cyclegan's nets: the reference class is domain R, the
    minority class domain T."""
    return nn.ModuleDict({"generator_rt": _mlp(2, hidden), "generator_tr": _mlp(2, hidden),
                          "disc_r": _mlp(1, hidden), "disc_t": _mlp(1, hidden)})


def train_steps(bundle: GANBundle, domain_a, domain_b, batches: torch.Generator, start: int, n: int,
                cfg: ToyConfig) -> dict:
    """`n` CycleGAN steps from step `start` (the generators' update, then the
    discriminators' on fakes of the updated generators); returns the mean of each logged loss."""
    losses = cyclegan.CycleGANLosses(cfg.adv_loss, "l1", cfg.lambda_cyc)
    sums: dict[str, float] = {}
    for step in range(start, start + n):
        for opt in bundle.optims.values():
            for group in opt.param_groups:
                group["lr"] = cfg.lr * linear_decay(step, cfg.gan_steps)
        a = domain_a[torch.randint(len(domain_a), (cfg.batch_size,), generator=batches)]
        b = domain_b[torch.randint(len(domain_b), (cfg.batch_size,), generator=batches)]
        loss_g, logs_g = cyclegan.g_step(bundle, (a, b), cyclegan.translate(bundle, a, b), losses)
        update(bundle.optims["g"], loss_g)
        with torch.no_grad():
            fakes = cyclegan.translate(bundle, a, b)
        loss_d, logs_d = cyclegan.d_step(bundle, (a, b), fakes, losses)
        update(bundle.optims["d"], loss_d)
        logs = floats({"loss_g_adv": logs_g["loss_g_adv"], "loss_cyc": logs_g["loss_cyc"], **logs_d})
        sums = {k: sums.get(k, 0.0) + v for k, v in logs.items()}
    return {k: v / n for k, v in sums.items()}


class Translator:
    """Reference → minority points through `generator_rt`, in the data's own coordinates
    (the nets see standardised ones)."""

    def __init__(self, data: ToyData, cfg: ToyConfig):
        self.mean = torch.from_numpy(data.train_x.mean(0))
        self.std = torch.from_numpy(data.train_x.std(0))
        pick = np.random.default_rng([cfg.seed, 3]).choice(cfg.n_major, cfg.n_generated, replace=False)
        self.inputs = data.train_x[data.train_y == cfg.reference][pick]

    def norm(self, x: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(x) - self.mean) / self.std

    def __call__(self, generator_rt: nn.Module) -> np.ndarray:
        with torch.no_grad():
            return (generator_rt(self.norm(self.inputs)) * self.std + self.mean).numpy()


def fit_svm(x: np.ndarray, y: np.ndarray, cfg: ToyConfig) -> LinearSVC:
    return LinearSVC(C=cfg.svm_c, max_iter=10_000, random_state=cfg.seed).fit(x, y)


def accuracies(svm: LinearSVC, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Overall and minority-class accuracy."""
    correct = svm.predict(x) == y
    return float(correct.mean()), float(correct[y == MINOR].mean())


def _augmented(data: ToyData, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([data.train_x, generated]),
            np.concatenate([data.train_y, np.full(len(generated), MINOR)]))


def oversampled(data: ToyData, cfg: ToyConfig) -> tuple[np.ndarray, np.ndarray]:
    """The real training set plus its own minority points repeated to `n_generated` extra
    points: the control a generator must beat. Each point is repeated
    ⌊n_generated / n_minor⌋ times and the remainder drawn without replacement, so no
    minority point weighs more than one copy above another."""
    minor = data.train_x[data.train_y == MINOR]
    copies, rest = divmod(cfg.n_generated, len(minor))
    pick = np.random.default_rng([cfg.seed, 4]).choice(len(minor), rest, replace=False)
    return _augmented(data, np.concatenate([np.tile(minor, (copies, 1)), minor[pick]]))


def _write_points(reporter: Reporter, data: ToyData, generated: np.ndarray) -> None:
    x, y = _augmented(data, generated)
    points = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": y,
                           "source": ["real"] * len(data.train_x) + ["generated"] * len(generated)})
    with tempfile.TemporaryDirectory(prefix="ferlab-results-") as workdir:
        path = os.path.join(workdir, "points.csv")
        points.to_csv(path, index=False)
        reporter.log_artifact(path)


def _final(reporter, data: ToyData, real_svm, over_svm, generated: np.ndarray, cfg: ToyConfig) -> dict:
    acc_real, minor_real = accuracies(real_svm, data.test_x, data.test_y)
    acc_over, minor_over = accuracies(over_svm, data.test_x, data.test_y)
    acc_aug, minor_aug = accuracies(fit_svm(*_augmented(data, generated), cfg), data.test_x, data.test_y)
    _write_points(reporter, data, generated)
    return {"test/acc_real_only": acc_real, "test/acc_minor_real_only": minor_real,
            "test/acc_augmented": acc_aug, "test/acc_minor_augmented": minor_aug,
            "test/acc_oversample": acc_over, "test/acc_minor_oversample": minor_over,
            "data/n_train": len(data.train_x), "data/n_generated": len(generated), "data/n_test": len(data.test_x),
            "data/n_train_real": len(data.train_x), "data/resampled": 0.0}  # each seed draws new points


def train_toy(config: dict, reporter: Reporter) -> dict:
    """Run one trial; reports every `report_every` GAN steps, the last report with the
    test metrics. Resumes from `reporter.restore()`."""
    cfg = parse_toy_config(config)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data = draw_data(cfg)
    translate = Translator(data, cfg)
    domain_a = translate.norm(data.train_x[data.train_y == cfg.reference])
    domain_b = translate.norm(data.train_x[data.train_y == MINOR])
    real_svm = fit_svm(data.train_x, data.train_y, cfg)
    val_real, _ = accuracies(real_svm, data.val_x, data.val_y)
    over_svm = fit_svm(*oversampled(data, cfg), cfg)
    val_over, _ = accuracies(over_svm, data.val_x, data.val_y)

    torch.manual_seed(cfg.seed)
    nets = build_nets(cfg.hidden)
    bundle = cyclegan.bundle_of(dict(nets.items()), cfg.adv_loss, cfg.lr, cfg.lr)
    batches = torch.Generator().manual_seed(cfg.seed)
    step = 0
    restored = reporter.restore()
    if restored:
        step = load_checkpoint(Path(restored) / CHECKPOINT, bundle, {"batches": batches})["step"]

    metrics: dict = {}
    while step < cfg.gan_steps:
        n = min(cfg.report_every, cfg.gan_steps - step)
        logs = train_steps(bundle, domain_a, domain_b, batches, step, n, cfg)
        step += n
        generated = translate(nets["generator_rt"])
        val_acc, _ = accuracies(fit_svm(*_augmented(data, generated), cfg), data.val_x, data.val_y)
        # the budget: CycleGAN steps (one generator and one discriminator update each); the SVMs take none
        metrics = {"step": step, "budget/steps": step, **{f"train/{k}": v for k, v in logs.items()},
                   "val/acc": val_acc, "val/acc_real_only": val_real, "val/acc_oversample": val_over}
        if step == cfg.gan_steps:  # the last generator, as the controls' only SVMs: no arm chooses
            metrics.update(_final(reporter, data, real_svm, over_svm, generated, cfg))
        with tempfile.TemporaryDirectory(prefix="ferlab-ckpt-") as tmp:
            save_checkpoint(Path(tmp) / CHECKPOINT, bundle, {"batches": batches}, step=step)
            reporter.report(metrics, checkpoint_dir=tmp)
    return metrics

"""One cell of a CycleGAN-augmentation table: CycleGANs translating the reference class
(neutral) to target classes, trained on the training split only; synthetic sets drawn
from them; then the classifier trained with them, tested as in the baseline.

Arms (Zhu et al.): `baseline` (real only), `+<class>[,<class>…]` or `+all` (real plus
generated images of those classes), and `dag` (pre-train on generated images of all
non-reference classes, then fine-tune on real). By default each target gets as many
generated images as the reference class has training images (each reference image
translated once); `synthetic_count` sets another count. `oversample+<class>[,…]` (or
`oversample+all`) is the cheap alternative a GAN arm must beat: the real training images
of those classes repeated to the same count the GAN arm adds, no GAN.

Under a step budget (`steps`) every arm's classifier takes the same number of optimizer
steps; DAG splits them, half pre-training and half fine-tuning (Zhu et al., appendix:
10,000 + 10,000 against 20,000). Every report carries `budget/steps`.

Stages and what makes them cheap to repeat or resume:
- the real-data judge (trainables.judge), cached per dataset and split;
- each CycleGAN, checkpointed per epoch (a killed trial resumes mid-GAN), and kept in
  the cache keyed by data, split, classes and GAN options — another arm or trial that
  needs the same GAN loads it;
- each synthetic set, in the content-addressed cache (trainables.synthetic_cache);
- the classifier (and DAG's pre-training), checkpointed per epoch as in the baseline.

Zhu et al.'s Table 2 also fine-tunes the FER2013 model on small datasets (SFEW, JAFFE).
`finetune_dataset` (here CK+48) adds that last stage to any arm: the classifier trained
on the source dataset (its chosen epoch) gets a fresh last layer for the other dataset's
classes and is fine-tuned on that dataset's training split; the trial's `test/...`
metrics are then that dataset's, and the source dataset's are kept as `source/test/...`.
"""

import dataclasses
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainables.classifier import (ClassifierConfig, RealData, _tensor_split, build_net, device_for, fit_options,
                                   images_split, load_real_data, parse_config as parse_classifier_config,
                                   replace_head, train_on_real)
from trainables.config import ConfigError, from_dict
from trainables.cyclegan_fit import GANOptions, train_cyclegan
from trainables.data import EMOTIONS, list_datasets, resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.fit import FitOptions, finished_fit, fit, total_steps
from trainables.inception import InceptionFeatures
from trainables.judge import Judge, JudgeOptions, real_data_judge
from trainables.losses import ADVERSARIAL, CYCLE, GAMMA_SCHEDULES
from trainables.metrics import classifier_agreement, frechet_distance, kernel_inception_distance, ssim_psnr
from trainables.nets import net_spec
from trainables.nets.cyclegan import Generator
from trainables.reporting import Reporter, StageReporter, restored_carried
from trainables.synthetic_cache import state_hash, synthetic_set, torch_save_atomic

GAN_SIZE = 48  # Zhu et al. Table 4: 48×48×1
_EVAL_CAP = 512  # validation images per domain for the per-epoch FID


@dataclass(frozen=True)
class CycleGANConfig:
    arm: str = "+disgust"
    reference: str = "neutral"
    synthetic_count: int | None = None
    gan_epochs: int = 10
    gan_batch_size: int = 16
    gan_width: float = 1.0
    gan_blocks: int = 6
    lr_g: float = 2e-4
    lr_d: float = 1e-4
    adv_loss: str = "lsgan"
    cycle_loss: str = "l1"
    gamma_max: float = 0.0
    gamma_schedule: str = "constant"
    lambda_cyc: float = 10.0
    soft_labels: bool = False
    lr_decay: bool = True
    gp_weight: float = 10.0
    n_critic: int | None = None  # D updates per G update; None: 5 for wgan-gp (Gulrajani et al.), else 1
    pretrain_epochs: int | None = None
    judge_net: str = "simple"
    judge_width: float = 0.25
    judge_epochs: int = 10
    judge_seed: int = 0  # one measuring instrument for every trial of a study, whatever its seed
    finetune_dataset: str | None = None  # Table 2's "FER+X" rows: fine-tune on X, test on X
    finetune_root: str | None = None
    finetune_fold: int = 0
    finetune_epochs: int | None = None  # default: the classifier's epochs
    finetune_steps: int | None = None  # default: the classifier's steps
    inception_weights: str | None = None  # local torchvision inception_v3 state dict: adds the standard FID

    def __post_init__(self):
        if self.gan_epochs < 1 or self.gan_batch_size < 1 or self.gan_blocks < 0:
            raise ConfigError("gan_epochs and gan_batch_size must be ≥ 1 and gan_blocks ≥ 0, got "
                              f"{self.gan_epochs}, {self.gan_batch_size}, {self.gan_blocks}")
        if not 0 <= self.gamma_max <= 1:
            raise ConfigError(f"gamma_max must be in [0, 1], got {self.gamma_max}")
        if self.n_critic is not None and self.n_critic < 1:
            raise ConfigError(f"n_critic must be ≥ 1 (or unset), got {self.n_critic}")
        if self.synthetic_count is not None and self.synthetic_count < 1:
            raise ConfigError(f"synthetic_count must be ≥ 1 (or unset), got {self.synthetic_count}")
        if self.inception_weights is not None and not Path(self.inception_weights).is_file():
            raise ConfigError(f"inception_weights {self.inception_weights!r} is not a file; give a local "
                              "torchvision inception_v3 state dict, or leave it unset (FID on FER features only)")
        if self.reference not in EMOTIONS:
            raise ConfigError(f"reference {self.reference!r} is not an emotion; known: {', '.join(EMOTIONS)}")
        if self.finetune_dataset is not None:
            if self.finetune_dataset not in list_datasets():
                raise ConfigError(f"finetune_dataset {self.finetune_dataset!r} is not a registered dataset; "
                                  f"known: {', '.join(list_datasets())}")
            if self.finetune_dataset != "synthfaces" and not (self.finetune_root and Path(self.finetune_root).exists()):
                raise ConfigError(f"finetune_dataset {self.finetune_dataset!r} needs finetune_root, the folder or "
                                  f"file of its data; got {self.finetune_root!r}, which does not exist")
        if self.finetune_epochs is not None and self.finetune_epochs < 1:
            raise ConfigError(f"finetune_epochs must be ≥ 1 (or unset), got {self.finetune_epochs}")
        mode, targets = parse_arm(self.arm)
        bad = [t for t in targets if t != "all" and (t not in EMOTIONS or t == self.reference)]
        if bad:
            raise ConfigError(f"arm {self.arm!r} names {bad}: targets must be emotions other than the reference "
                              f"{self.reference!r} ({', '.join(EMOTIONS)}), or 'all'")


CHOICES = {"adv_loss": ADVERSARIAL, "cycle_loss": CYCLE, "gamma_schedule": GAMMA_SCHEDULES}


@dataclass(frozen=True)
class CycleGANTrial:
    gan: CycleGANConfig
    classifier: ClassifierConfig


OVERSAMPLE = "oversample"


def parse_arm(arm: str) -> tuple[str, tuple[str, ...]]:
    """'baseline' → ('baseline', ()); '+disgust,sad' → ('augment', ('disgust', 'sad'));
    '+all' → ('augment', ('all',)); 'dag' → ('dag', ('all',));
    'oversample+disgust' → ('oversample', ('disgust',))."""
    if arm == "baseline":
        return "baseline", ()
    if arm == "dag":
        return "dag", ("all",)
    mode, plus, targets = arm.partition("+")
    if plus and targets and mode in ("", OVERSAMPLE):
        return mode or "augment", tuple(t.strip() for t in targets.split(","))
    raise ConfigError(f"arm {arm!r} is not one of 'baseline', '+<class>[,<class>…]', '+all', 'dag', "
                      "'oversample+<class>[,<class>…]', 'oversample+all'")


def control_of(arm: str) -> str | None:
    """The oversampling arm a GAN-augmentation arm is paired with ('+disgust' →
    'oversample+disgust'), or None for arms that have none."""
    mode, _ = parse_arm(arm)
    return f"{OVERSAMPLE}{arm}" if mode == "augment" else None


def parse_config(config: dict) -> CycleGANTrial:
    gan_keys = {f.name for f in dataclasses.fields(CycleGANConfig)}
    gan = from_dict(CycleGANConfig, {k: v for k, v in config.items() if k in gan_keys}, CHOICES)
    try:
        classifier = parse_classifier_config({k: v for k, v in config.items() if k not in gan_keys})
    except ConfigError as err:
        raise ConfigError(f"{err} (CycleGAN keys: {sorted(gan_keys)})") from None
    return CycleGANTrial(gan, classifier)


def target_classes(gan: CycleGANConfig, class_names: list[str]) -> list[str]:
    _, targets = parse_arm(gan.arm)
    if "all" in targets:
        return [c for c in class_names if c != gan.reference]
    missing = [t for t in targets if t not in class_names]
    if missing or gan.reference not in class_names:
        raise ConfigError(f"arm {gan.arm!r} with reference {gan.reference!r} needs classes this dataset lacks: "
                          f"{missing or [gan.reference]}; it has {class_names}")
    return list(targets)


def gan_options(gan: CycleGANConfig, seed: int) -> GANOptions:
    return GANOptions(epochs=gan.gan_epochs, batch_size=gan.gan_batch_size, lr_g=gan.lr_g, lr_d=gan.lr_d,
                      adv_loss=gan.adv_loss, cycle_loss=gan.cycle_loss, gamma_max=gan.gamma_max,
                      gamma_schedule=gan.gamma_schedule, lambda_cyc=gan.lambda_cyc,
                      real_label=0.9 if gan.soft_labels else 1.0, lr_decay=gan.lr_decay, gp_weight=gan.gp_weight,
                      width=gan.gan_width, n_blocks=gan.gan_blocks, seed=seed,
                      n_critic=gan.n_critic or (5 if gan.adv_loss == "wgan-gp" else 1))


REFERENCE_DRAW = "each-once-then-tiled"  # names the draw below in the synthetic-set cache key


def reference_draw(n: int, count: int, seed) -> np.ndarray:
    """`count` indices into n reference images: seeded permutations of all n, tiled, so
    every image is translated once before any is translated again (each appears
    floor(count/n) or ceil(count/n) times)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(n) for _ in range(-(-count // n))])[:count]


def _to_gan(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(resize_images(images, GAN_SIZE)).float().div_(127.5).sub_(1).unsqueeze(1)


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x[:, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


@torch.no_grad()
def translate(generator: torch.nn.Module, images: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """uint8 N×H×W in, uint8 N×48×48 out, generator in eval mode."""
    generator.eval()
    x = _to_gan(images)
    return np.concatenate([_to_uint8(generator(x[i:i + batch].to(device))) for i in range(0, len(x), batch)]
                          or [np.zeros((0, GAN_SIZE, GAN_SIZE), np.uint8)])


class ClassImages:
    """The real images of one class in one split, capped for per-epoch evaluation."""

    def __init__(self, real: RealData, split: np.ndarray, class_name: str, cap: int | None = None):
        idx = split[real.labels[split] == real.class_names.index(class_name)]
        self.images = real.data.images[idx[:cap] if cap else idx]


def quality_metrics(judge: Judge, generator, cycle_back, ref_val: np.ndarray, target_val: np.ndarray,
                    target_index: int, device, inception=None) -> dict:
    """Quality of G(reference) against the real target class, all on validation images:
    FID/KID on the judge's features, the judge's agreement with the intended class
    beside its rate of calling real reference images that class, and the cycle's
    SSIM/PSNR (reference vs F(G(reference)))."""
    fake = translate(generator, ref_val, device)
    fake_feats, real_feats = judge.features(fake), judge.features(target_val)
    rec = translate(cycle_back, fake, device)
    ssim, psnr = ssim_psnr(resize_images(ref_val, GAN_SIZE), rec)
    extra = {}
    if inception is not None:
        extra["fid_inception"] = frechet_distance(inception.features(fake), inception.features(target_val))
    return {
        **extra,
        "fid_fer": frechet_distance(fake_feats, real_feats),
        "kid_fer": kernel_inception_distance(fake_feats, real_feats, subset_size=min(100, len(fake), len(target_val))),
        "agreement": classifier_agreement(judge.probs(fake), target_index),
        "real_confusion": classifier_agreement(judge.probs(ref_val), target_index),
        "real_target_agreement": classifier_agreement(judge.probs(target_val), target_index),
        "ssim_cycle": ssim, "psnr_cycle": psnr,
    }


def _gan_path(cfg: CycleGANTrial, real: RealData, target: str) -> Path:
    split = hashlib.sha256(real.splits.train.tobytes() + b"|" + real.splits.val.tobytes()).hexdigest()
    key = sha256_json({"content": real.data.content_hash, "split": split, "reference": cfg.gan.reference,
                       "target": target, "options": dataclasses.asdict(gan_options(cfg.gan, cfg.classifier.seed)),
                       "size": GAN_SIZE})
    return cache_root(cfg.classifier.cache_dir) / "cyclegans" / f"{cfg.gan.reference}-{target}-{key[:32]}.pt"


def _sample_grid(reference: np.ndarray, fake: np.ndarray, rec: np.ndarray, path: Path) -> None:
    """Three rows: real reference, fake target, reconstruction."""
    rows = [np.concatenate(list(resize_images(r, GAN_SIZE)), axis=1) for r in (reference, fake, rec)]
    Image.fromarray(np.concatenate(rows, axis=0)).resize((rows[0].shape[1] * 2, GAN_SIZE * 6),
                                                         Image.NEAREST).save(path)


def obtain_generators(cfg: CycleGANTrial, real: RealData, target: str, judge: Judge, reporter: Reporter,
                      restored: str | None, carried: Path, device) -> tuple[Generator, Generator]:
    """G: reference → target and F back, from the cache, or trained here (resumable)."""
    path = _gan_path(cfg, real, target)
    G, F = (Generator(cfg.gan.gan_width, cfg.gan.gan_blocks).to(device) for _ in range(2))
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=True)
        G.load_state_dict(state["generator_rt"])
        F.load_state_dict(state["generator_tr"])
        return G.eval(), F.eval()
    train = real.splits.train
    ref_train = ClassImages(real, train, cfg.gan.reference).images
    tgt_train = ClassImages(real, train, target).images
    ref_val = ClassImages(real, real.splits.val, cfg.gan.reference, _EVAL_CAP).images
    tgt_val = ClassImages(real, real.splits.val, target, _EVAL_CAP).images
    if min(len(ref_train), len(tgt_train)) < 2:
        raise ConfigError(f"a CycleGAN {cfg.gan.reference}→{target} needs ≥ 2 training images per class; "
                          f"the split has {len(ref_train)} and {len(tgt_train)}")
    target_index = real.class_names.index(target)

    def evaluate(nets, epoch):
        if len(ref_val) < 2 or len(tgt_val) < 2:
            return {}
        fake = translate(nets.generator_rt, ref_val, device)
        fake_feats, real_feats = judge.features(fake), judge.features(tgt_val)
        # KID beside FID: unbiased, so meaningful with a few dozen validation images, where
        # FID's covariance of the judge's features is singular (what cycle_gamma_search optimises)
        return {"val/fid_fer": frechet_distance(fake_feats, real_feats),
                "val/kid_fer": kernel_inception_distance(fake_feats, real_feats,
                                                         subset_size=min(100, len(fake), len(tgt_val))),
                "val/agreement": classifier_agreement(judge.probs(fake), target_index)}

    stage = StageReporter(reporter, f"gan_{target}", restored, carried)
    nets = train_cyclegan(_to_gan(ref_train), _to_gan(tgt_train), gan_options(cfg.gan, cfg.classifier.seed),
                          stage, device, evaluate, prefix=f"gan_{target}")
    torch_save_atomic({"generator_rt": nets.generator_rt.state_dict(), "generator_tr": nets.generator_tr.state_dict()}, path)
    return nets.generator_rt.eval(), nets.generator_tr.eval()


def log_manifold(reporter: Reporter, judge: Judge, real: RealData, synthetic: tuple[np.ndarray, np.ndarray],
                 seed: int, cap: int = 600) -> None:
    """`manifold.npz`: the judge's features of (a sample of) the real training images and
    of the generated ones, with class and source, for the t-SNE plot of the training
    manifold (Zhu et al. Fig. 4; analysis.manifold)."""
    rng = np.random.default_rng(seed)
    train = real.splits.train
    real_idx = rng.permutation(train)[:cap]
    synth_idx = rng.permutation(len(synthetic[1]))[:cap]
    images = np.concatenate([resize_images(real.data.images[real_idx], GAN_SIZE), synthetic[0][synth_idx]])
    labels = np.concatenate([real.labels[real_idx], synthetic[1][synth_idx]])
    source = np.array(["real"] * len(real_idx) + ["generated"] * len(synth_idx))
    with tempfile.TemporaryDirectory(prefix="ferlab-manifold-") as tmp:
        path = Path(tmp) / "manifold.npz"
        np.savez_compressed(path, features=judge.features(images).astype(np.float32), labels=labels, source=source,
                            class_names=np.array(real.class_names))
        reporter.log_artifact(str(path))


def judge_split(clf: ClassifierConfig, real: RealData) -> np.ndarray:
    """The training split before `class_fraction` sampling: the judge is a measuring
    instrument, trained on all the real training data there is."""
    if clf.class_fraction is None:
        return real.splits.train
    whole = load_real_data(dataclasses.replace(clf, class_fraction=None))
    assert np.array_equal(whole.splits.val, real.splits.val) and np.array_equal(whole.splits.test, real.splits.test)
    return whole.splits.train


def train_cyclegan_trial(config: dict, reporter: Reporter) -> dict:
    """Run one trial; returns the last epoch's metrics (with the final test metrics)."""
    cfg = parse_config(config)
    gan, clf = cfg.gan, cfg.classifier
    if clf.threads:
        torch.set_num_threads(clf.threads)
    device = device_for(clf.device)
    real = load_real_data(clf)
    mode, _ = parse_arm(gan.arm)
    if mode == "baseline" and gan.finetune_dataset is None:
        return train_on_real(clf, real, reporter)
    if mode == OVERSAMPLE and gan.finetune_dataset is None:
        return train_on_real(clf, real, reporter, extra_train=oversampled(gan, real, clf.seed))
    restored = reporter.restore()
    with tempfile.TemporaryDirectory(prefix="ferlab-carried-") as tmp:
        carried = Path(tmp)
        restored_carried(restored, carried)
        if mode == "baseline":
            return classifier_stages(cfg, real, reporter, restored, carried, {}, device)
        if mode == OVERSAMPLE:
            return classifier_stages(cfg, real, reporter, restored, carried, {}, device,
                                     extra=oversampled(gan, real, clf.seed))
        metrics, synthetic = synthesize(cfg, real, reporter, restored, carried, device)
        if mode == "augment":
            return classifier_stages(cfg, real, reporter, restored, carried, metrics, device, extra=synthetic)
        net = build_net(clf, len(real.class_names), device)
        pretrained = carried / "pretrained.pt"
        pre_opts, finetune = dag_budget(cfg, len(synthetic[1]))
        if pretrained.exists():
            net.load_state_dict(torch.load(pretrained, map_location=device, weights_only=True))
        else:
            pretrain_fit(cfg, real, synthetic, net, pre_opts,
                         StageReporter(reporter, "pretrain", restored, carried, metrics, prefix="pretrain"), device)
            torch.save(net.state_dict(), pretrained)
        return classifier_stages(cfg, real, reporter, restored, carried, metrics, device, net=net, **finetune)


def dag_budget(cfg: CycleGANTrial, n_synthetic: int) -> tuple[FitOptions, dict]:
    """DAG's pre-training options, and the fine-tuning stage's (epochs, steps,
    steps_before). Under a step budget the two stages share the classifier's steps and
    report rounds half and half, so DAG takes as many optimizer steps as `baseline`;
    without one (epochs) the pre-training adds its steps on top, and `budget/steps`
    says so."""
    clf, gan = cfg.classifier, cfg.gan
    if clf.steps is None:
        pre = fit_options(clf, gan.pretrain_epochs)
        return pre, {"steps_before": total_steps(pre, n_synthetic)}
    pre_epochs = gan.pretrain_epochs or max(1, clf.epochs // 2)
    pre = fit_options(clf, pre_epochs, clf.steps // 2)
    return pre, {"epochs": max(1, clf.epochs - pre_epochs), "steps": clf.steps - clf.steps // 2,
                 "steps_before": clf.steps // 2}


def oversampled(gan: CycleGANConfig, real: RealData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The oversampling control: each target class's real training images repeated to
    the count a GAN arm would add for it (`synthetic_count`, else the reference class's
    training images), as (uint8 images, class indices)."""
    count = gan.synthetic_count or len(ClassImages(real, real.splits.train, gan.reference).images)
    images, labels = [], []
    for target in target_classes(gan, real.class_names):
        own = ClassImages(real, real.splits.train, target).images
        if len(own) == 0:
            raise ConfigError(f"arm {gan.arm!r}: the training split has no {target!r} image to repeat")
        images.append(own[reference_draw(len(own), count, [seed, EMOTIONS.index(target), 1])])
        labels.append(np.full(count, real.class_names.index(target)))
    return np.concatenate(images), np.concatenate(labels)


def synthesize(cfg: CycleGANTrial, real: RealData, reporter: Reporter, restored: str | None, carried: Path,
               device) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """The judge, one CycleGAN per target class, and the synthetic sets drawn from them:
    returns the quality metrics and (uint8 images, class indices) of all targets."""
    gan, clf = cfg.gan, cfg.classifier
    targets = target_classes(gan, real.class_names)
    judge_opts = JudgeOptions(gan.judge_net, gan.judge_width, gan.judge_epochs, gan.judge_seed)
    judge = real_data_judge(real.data.images, real.labels, judge_split(clf, real), real.splits.val,
                            len(real.class_names), real.data.content_hash, judge_opts, device, clf.cache_dir)
    metrics: dict = {"judge/val_acc": judge.val_acc}
    inception = InceptionFeatures(gan.inception_weights, device) if gan.inception_weights else None
    synth_images, synth_labels = [], []
    ref_train = ClassImages(real, real.splits.train, gan.reference).images
    ref_val = ClassImages(real, real.splits.val, gan.reference, _EVAL_CAP).images
    for target in targets:
        G, F = obtain_generators(cfg, real, target, judge, reporter, restored, carried, device)
        count = gan.synthetic_count or len(ref_train)

        def generate():
            return translate(G, ref_train[reference_draw(len(ref_train), count, [clf.seed, EMOTIONS.index(target)])],
                             device)

        images, hit = synthetic_set(clf.cache_dir, state_hash(G), target, count, clf.seed, generate,
                                    draw=REFERENCE_DRAW)
        synth_images.append(images)
        synth_labels.append(np.full(count, real.class_names.index(target)))
        tgt_val = ClassImages(real, real.splits.val, target, _EVAL_CAP).images
        if len(ref_val) >= 2 and len(tgt_val) >= 2:
            found = quality_metrics(judge, G, F, ref_val, tgt_val, real.class_names.index(target), device, inception)
            metrics.update({f"synth/{target}/{k}": v for k, v in found.items()})
        metrics[f"synth/{target}/n"] = count
        metrics[f"synth/{target}/from_cache"] = float(hit)
        for key in ("fid_fer", "kid_fer"):
            if f"val/{key}" not in metrics and f"synth/{target}/{key}" in metrics:
                metrics[f"val/{key}"] = metrics[f"synth/{target}/{key}"]
        with tempfile.TemporaryDirectory(prefix="ferlab-samples-") as samples:
            sample = ref_train[:8]
            fake = translate(G, sample, device)
            _sample_grid(sample, fake, translate(F, fake, device), Path(samples) / f"samples_{target}.png")
            reporter.log_artifact(str(Path(samples) / f"samples_{target}.png"))
    synthetic = (np.concatenate(synth_images), np.concatenate(synth_labels))
    log_manifold(reporter, judge, real, synthetic, clf.seed)
    return metrics, synthetic


def finetune_config(cfg: CycleGANTrial) -> ClassifierConfig:
    """The classifier config of the fine-tuning stage: the other dataset, its own split
    protocol (CK+48: subject-independent folds), all its training images."""
    gan, clf = cfg.gan, cfg.classifier
    same = gan.finetune_dataset == clf.dataset
    return dataclasses.replace(clf, dataset=gan.finetune_dataset, data_root=gan.finetune_root,
                               dataset_options=clf.dataset_options if same else {}, protocol="auto",
                               fold=gan.finetune_fold, class_fraction=None,
                               epochs=gan.finetune_epochs or clf.epochs, steps=gan.finetune_steps or clf.steps)


def classifier_stages(cfg: CycleGANTrial, real: RealData, reporter: Reporter, restored: str | None, carried: Path,
                      metrics: dict, device, extra: tuple[np.ndarray, np.ndarray] | None = None,
                      net: torch.nn.Module | None = None, **budget) -> dict:
    """The classifier on the source dataset (real + `extra`, from `net` when given), then,
    with `finetune_dataset`, its chosen epoch fine-tuned on that dataset. `budget`: the
    source stage's epochs, steps and steps_before when they are not the config's (DAG)."""
    clf, gan = cfg.classifier, cfg.gan
    if gan.finetune_dataset is None:
        stage = StageReporter(reporter, "classifier", restored, carried, metrics)
        return {**metrics, **train_on_real(clf, real, stage, extra_train=extra, net=net, **budget)}
    target_cfg = finetune_config(cfg)
    target = load_real_data(target_cfg)  # before the long source stage: a bad dataset fails at once
    source_state, source_metrics = carried / "source.pt", carried / "source_metrics.json"
    if not source_state.exists():
        stage = StageReporter(reporter, "classifier", restored, carried, metrics, prefix="source")
        chosen: dict = {}
        found = train_on_real(clf, real, stage, extra_train=extra, net=net, chosen=chosen, **budget)
        if "state" not in chosen:  # killed after the stage's last checkpoint: its choice is there
            chosen["state"], found = finished_fit(stage.restore(), device)
        torch_save_atomic(chosen["state"], source_state)
        source_metrics.write_text(json.dumps({f"source/{k}": float(v) for k, v in found.items()
                                              if k.startswith(("test/", "budget/"))}))
    metrics = {**metrics, **json.loads(source_metrics.read_text())}
    net = build_net(clf, len(real.class_names), device)
    net.load_state_dict(torch.load(source_state, map_location=device, weights_only=True))
    replace_head(net, len(target.class_names), clf.seed)
    stage = StageReporter(reporter, "finetune", restored, carried, metrics)
    return {**metrics, **train_on_real(target_cfg, target, stage, net=net,
                                       steps_before=int(metrics["source/budget/steps"]))}


def pretrain_fit(cfg: CycleGANTrial, real: RealData, synthetic: tuple[np.ndarray, np.ndarray], net,
                 opts: FitOptions, reporter, device) -> None:
    """DAG's pre-training: generated images only, the epoch chosen on real validation;
    `net` ends with the chosen epoch's weights."""
    clf = cfg.classifier
    size = net_spec(clf.net).input_size
    train = images_split(*synthetic, size)
    val = _tensor_split(real.data.images, real.labels, real.splits.val, size)
    chosen = {}

    def keep_best(last_net, best_net):
        chosen["state"] = best_net.state_dict()
        return {}

    fit(net, train, val, opts, reporter, device, keep_best)
    if "state" not in chosen:  # killed after pre-training's last checkpoint: take its choice from there
        chosen["state"], _ = finished_fit(reporter.restore(), device)
    net.load_state_dict(chosen["state"])

"""One cell of a CycleGAN-augmentation table: CycleGANs translating the reference class
(neutral) to target classes, trained on the training split only; synthetic sets drawn
from them; then the classifier trained with them, tested as in the baseline.

Arms (Zhu et al.): `baseline` (real only), `+<class>[,<class>…]` or `+all` (real plus
generated images of those classes), and `dag` (pre-train on generated images of all
non-reference classes, then fine-tune on real). By default each target gets as many
generated images as the reference class has training images (each reference image
translated once); `synthetic_count` sets another count. `oversample+<class>[,…]` (or
`oversample+all`) is the cheap alternative a GAN arm must beat: the real training images
of those classes repeated to the same count the GAN arm adds, no GAN. `dag_real` is
DAG's control: the same two stages (a pre-training fit with its own one-cycle schedule
and validation choice, then a fine-tuning fit restarting the schedule, chosen again on
validation) on the same budget split, but pre-trained on the real training images: what
DAG gains over it is the generated images', not the two-stage schedule's.

Under a step budget (`steps`) every arm's classifier takes the same number of optimizer
steps; DAG splits them, half pre-training and half fine-tuning (Zhu et al., appendix:
10,000 + 10,000 against 20,000). Every report carries `budget/steps`.

Stages and what makes them cheap to repeat or resume:
- the real-data judge (trainables.core.judge), cached per dataset and split;
- each CycleGAN, checkpointed per epoch (a killed trial resumes mid-GAN), and kept in
  the cache keyed by data, split, classes and GAN options — another arm or trial that
  needs the same GAN loads it;
- each synthetic set, in the content-addressed cache (trainables.core.caches);
- the classifier (and DAG's pre-training), checkpointed per epoch as in the baseline.

Zhu et al.'s Table 2 also fine-tunes the FER2013 model on small datasets (SFEW, JAFFE).
`finetune_dataset` (here CK+48) adds that last stage to any arm: the classifier trained
on the source dataset (its chosen epoch) gets a fresh last layer for the other dataset's
classes and is fine-tuned on that dataset's training split; the trial's `test/...`
metrics are then that dataset's, and the source dataset's are kept as `source/test/...`.
"""

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from trainables.configs.classifier import step_budget
from trainables.configs.cyclegan import CycleGANConfig, CycleGANTrial, parse_config
from trainables.configs.cyclegan_arms import DAG_REAL, OVERSAMPLE, control_of, parse_arm  # noqa: F401 (re-exported)
from trainables.core.caches import torch_save_atomic
from trainables.core.config import ConfigError
from trainables.core.fit import FitOptions, finished_fit, fit, total_steps
from trainables.core.inception import InceptionFeatures
from trainables.core.judge import JudgeOptions, real_data_judge
from trainables.core.real_data import RealData, device_for, images_split, judge_split, load_real_data, tensor_split
from trainables.core.reporting import Reporter, StageReporter, restored_carried
from trainables.data import EMOTIONS
from trainables.gans.cyclegan_fit import GANOptions
from trainables.synthetic.cyclegan_synthesis import (ClassImages, log_manifold, log_samples, obtain_generators,
                                                     reference_draw, synthetic_class)
from trainables.nets import net_spec
from trainables.trials.classifier import (ClassifierConfig, build_net, fit_options,
                                          replace_head, train_on_real)


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


def train_cyclegan_trial(config: dict, reporter: Reporter) -> dict:
    """Run one trial; returns the last epoch's metrics (with the final test metrics)."""
    cfg = parse_config(config)
    if cfg.classifier.threads:
        torch.set_num_threads(cfg.classifier.threads)
    real = load_real_data(cfg.classifier.data, cfg.classifier.seed)
    cfg = dataclasses.replace(cfg, classifier=step_budget(cfg.classifier, len(real.splits.train)))
    gan, clf = cfg.gan, cfg.classifier
    device = device_for(clf.device)
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
        if mode == DAG_REAL:
            return two_stages(cfg, real, reporter, restored, carried, {}, real_training_images(real), device)
        metrics, synthetic = synthesize(cfg, real, reporter, restored, carried, device)
        if mode == "augment":
            return classifier_stages(cfg, real, reporter, restored, carried, metrics, device, extra=synthetic)
        return two_stages(cfg, real, reporter, restored, carried, metrics, synthetic, device)


def two_stages(cfg: CycleGANTrial, real: RealData, reporter: Reporter, restored: str | None, carried: Path,
               metrics: dict, pretraining: tuple[np.ndarray, np.ndarray], device) -> dict:
    """DAG's schedule: pre-train on `pretraining` (uint8 images, class indices: generated
    images for `dag`, the real training images for `dag_real`), the epoch chosen on real
    validation; then fine-tune on real with a restarted schedule, chosen again."""
    clf = cfg.classifier
    net = build_net(clf, len(real.class_names), device)
    pretrained = carried / "pretrained.pt"
    pre_opts, finetune = dag_budget(cfg, len(pretraining[1]))
    if pretrained.exists():
        net.load_state_dict(torch.load(pretrained, map_location=device, weights_only=True))
    else:
        pretrain_fit(cfg, real, pretraining, net, pre_opts,
                     StageReporter(reporter, "pretrain", restored, carried, metrics, prefix="pretrain"), device)
        torch.save(net.state_dict(), pretrained)
    return classifier_stages(cfg, real, reporter, restored, carried, metrics, device, net=net, **finetune)


def real_training_images(real: RealData) -> tuple[np.ndarray, np.ndarray]:
    """The real training split as (uint8 images, class indices): `dag_real`'s pre-training set."""
    return np.asarray(real.data.images[real.splits.train]), np.asarray(real.labels[real.splits.train])


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
    judge = real_data_judge(real.data.images, real.labels, judge_split(clf.data, clf.seed, real), real.splits.val,
                            len(real.class_names), real.data.content_hash, judge_opts, device, clf.data.cache_dir)
    metrics: dict = {"judge/val_acc": judge.val_acc}
    inception = InceptionFeatures(gan.inception_weights, device) if gan.inception_weights else None
    synth_images, synth_labels = [], []
    ref_train = ClassImages(real, real.splits.train, gan.reference).images
    for target in targets:
        G, F = obtain_generators(gan_options(gan, clf.seed), gan.reference, target, real, judge, reporter, restored,
                                 carried, device, clf.data.cache_dir)
        count = gan.synthetic_count or len(ref_train)
        images, found = synthetic_class(G, F, real, gan.reference, target, count, clf.seed, judge, device,
                                        clf.data.cache_dir, inception)
        synth_images.append(images)
        synth_labels.append(np.full(count, real.class_names.index(target)))
        metrics.update(found)
        for key in ("fid_fer", "kid_fer"):
            if f"val/{key}" not in metrics and f"synth/{target}/{key}" in metrics:
                metrics[f"val/{key}"] = metrics[f"synth/{target}/{key}"]
        log_samples(reporter, G, F, ref_train[:8], target, device)
    synthetic = (np.concatenate(synth_images), np.concatenate(synth_labels))
    log_manifold(reporter, judge, real, synthetic, clf.seed)
    return metrics, synthetic


def finetune_config(cfg: CycleGANTrial) -> ClassifierConfig:
    """The classifier config of the fine-tuning stage: the other dataset, its own split
    protocol (CK+48: subject-independent folds), all its training images."""
    gan, clf = cfg.gan, cfg.classifier
    same = gan.finetune_dataset == clf.data.dataset
    data = dataclasses.replace(clf.data, dataset=gan.finetune_dataset, data_root=gan.finetune_root,
                               dataset_options=clf.data.dataset_options if same else {}, protocol="auto",
                               fold=gan.finetune_fold, class_fraction=None)
    return dataclasses.replace(clf, data=data, epochs=gan.finetune_epochs or clf.epochs,
                               steps=gan.finetune_steps or clf.steps)


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
    # before the long source stage: a bad dataset fails at once
    target = load_real_data(target_cfg.data, target_cfg.seed)
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


def pretrain_fit(cfg: CycleGANTrial, real: RealData, pretraining: tuple[np.ndarray, np.ndarray], net,
                 opts: FitOptions, reporter, device) -> None:
    """DAG's pre-training: `pretraining` images only (generated, or real for `dag_real`),
    the epoch chosen on real validation; `net` ends with the chosen epoch's weights."""
    clf = cfg.classifier
    size = net_spec(clf.net).input_size
    train = images_split(*pretraining, size)
    val = tensor_split(real.data.images, real.labels, real.splits.val, size)
    chosen = {}

    def keep_best(last_net, best_net):
        chosen["state"] = best_net.state_dict()
        return {}

    fit(net, train, val, opts, reporter, device, keep_best)
    if "state" not in chosen:  # killed after pre-training's last checkpoint: take its choice from there
        chosen["state"], _ = finished_fit(reporter.restore(), device)
    net.load_state_dict(chosen["state"])

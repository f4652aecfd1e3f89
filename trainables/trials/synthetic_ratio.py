"""One cell of Picha et al.'s synthetic-ratio study: their CNN (Table 1, 64×64, six Ekman
classes) trained on real faces only, on synthetic faces only, or on real + k units of
synthetic faces, where one unit has as many new identities as the real training split
has subjects, each in all six expressions (trainables.synthetic.balanced_synthetic).

The epoch is chosen on the real validation split (subjects disjoint from training and
test; its accuracy there, `val/acc_best`, is also what the tables choose the best k on);
the trial reports, at that epoch and at the last one, the held-out real test
split (`test/...`) and a blind cross-database set (`blind/...`: another dataset, its
official test split where it has one, else all its images, restricted to the six
Ekman classes): accuracy, macro-F1, per-class precision/recall/F1 and, at the chosen
epoch, the confusion matrix (`test/cm_<true>_<pred>`, `blind/cm_<true>_<pred>`, counts). `train/acc_at_best_val` is the
chosen epoch's accuracy on its own training set (their Table 2's training accuracy).

The classifier's budget (`budget`): "epochs", Picha et al.'s protocol, trains `epochs`
passes over the training set, so a larger k gets more optimizer steps; "steps" trains
`steps` optimizer steps (ClassifierConfig.steps) whatever the training set's size, so k
changes the data and not the amount of training. Every report logs `budget/steps`.

The generator chain (identity source, StarGAN) is trained on the real training split
only, with `gan_seed` (not the trial's seed), once per training split: the trials that
share a split (every k of one seed and fold) draw from one generated set. Where the
split depends on the seed (subject folds are shuffled by it), each seed has its own."""

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from trainables.core.caches import state_hash
from trainables.configs.classifier import step_budget
from trainables.configs.synthetic_ratio import RatioConfig, RatioTrial, parse_config
from trainables.core.cross_data import load_cross_dataset
from trainables.core.fit import TensorSplit, fit, predict
from trainables.core.judge import JudgeOptions, gate_numbers, real_data_judge
from trainables.core.metrics import classification_metrics, classifier_agreement, confusion_matrix, frechet_distance
from trainables.configs.data import resolve_protocol
from trainables.core.real_data import RealData, device_for, images_split, split_counts
from trainables.core.reporting import Reporter
from trainables.data import DataError, FaceData, load_dataset, make_splits, resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.synthetic.balanced_synthetic import EKMAN, BalancedSet, balanced_set
from trainables.synthetic.identity_sources import IDENTITY_SOURCES, SourceOptions, to_uint8
from trainables.synthetic.shared_gans import shared_state, train_resumable
from trainables.gans.stargan_fit import StarGANOptions, StarGANTrainer
from trainables.nets import net_spec
from trainables.nets.stargan import StarGenerator
from trainables.trials.classifier import ClassifierConfig, build_net, fit_options

GAN_SIZE = 48

def ekman_only(data: FaceData) -> FaceData:
    """The images of the six Ekman classes (labels are already their EKMAN indices:
    EKMAN = EMOTIONS[:6]); a dataset lacking one of them cannot be used."""
    missing = [c for k, c in enumerate(EKMAN) if not (data.labels == k).any()]
    if missing:
        raise DataError(f"{data.name} has no images of {missing}; the synthetic-ratio study needs all six Ekman "
                        f"classes {list(EKMAN)}")
    return data.subset(np.flatnonzero(data.labels < len(EKMAN)))


def load_training_data(clf: ClassifierConfig) -> RealData:
    d = clf.data
    data = ekman_only(load_dataset(d.dataset, d.data_root, cache_dir=d.cache_dir, **d.dataset_options))
    splits = make_splits(data, resolve_protocol(d, data), seed=clf.seed, fold=d.fold, n_folds=d.n_folds,
                         val_fraction=d.val_fraction)
    return RealData(data, splits, list(EKMAN), data.labels)


def load_blind_data(cfg: RatioTrial) -> FaceData:
    r = cfg.ratio
    data = ekman_only(load_cross_dataset(r.cross_dataset, r.cross_root, r.cross_options, cfg.classifier.data))
    if data.usage is not None:
        return data.subset(np.flatnonzero(data.usage == "test"))
    return data


def identities_per_unit(real: RealData) -> int:
    """The real training split's subjects; without subject ids, as many identities as
    make one unit the size of the real training split (six images each)."""
    train = real.splits.train
    if real.data.subjects is not None:
        return len(np.unique(np.asarray(real.data.subjects)[train]))
    return max(1, round(len(train) / len(EKMAN)))


def _data_key(real: RealData) -> str:
    split = hashlib.sha256(np.asarray(real.splits.train, np.int64).tobytes()).hexdigest()
    return sha256_json({"content": real.data.content_hash, "train": split, "classes": list(EKMAN)})


def to_gan(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(resize_images(images, GAN_SIZE)).float().div_(127.5).sub_(1).unsqueeze(1)


def stargan_options(r: RatioConfig) -> StarGANOptions:
    return StarGANOptions(iters=r.stargan_iters, batch_size=r.stargan_batch_size, n_critic=r.stargan_n_critic,
                          width=r.stargan_width, n_blocks=r.stargan_blocks, size=GAN_SIZE, seed=r.gan_seed)


def train_translator(cfg: RatioTrial, real: RealData, device) -> tuple[StarGenerator, dict]:
    """StarGAN on the real training split (shared by the study, see trainables.synthetic.shared_gans)."""
    opts = stargan_options(cfg.ratio)
    train = real.splits.train
    images, domains = to_gan(real.data.images[train]), torch.from_numpy(real.labels[train]).long()
    path = (cache_root(cfg.classifier.data.cache_dir) / "stargan"
            / f"stargan-{sha256_json({'data': _data_key(real), 'options': dataclasses.asdict(opts)})[:32]}.pt")

    def build(partial: Path) -> dict:
        trainer = StarGANTrainer(opts, len(EKMAN), images, domains, device)
        losses = train_resumable(trainer, opts.iters, partial)
        return {"generator": trainer.generator.state_dict(), "losses": losses}

    state, hit = shared_state(path, build)
    generator = StarGenerator(len(EKMAN), opts.width, opts.n_blocks).to(device)
    generator.load_state_dict(state["generator"])
    return generator.eval(), {**{f"stargan/{k}": v for k, v in state["losses"].items()},
                              "stargan/from_cache": float(hit)}


def synthetic_faces(cfg: RatioTrial, real: RealData, reporter: Reporter, device) -> tuple[BalancedSet, dict]:
    """The trial's synthetic set (a prefix of the study's one generated set) and metrics
    of the chain's quality on the real-data judge's features."""
    r = cfg.ratio
    train = real.splits.train
    source_opts = SourceOptions(iters=r.source_iters, width=r.source_width, batch_size=r.source_batch_size,
                                size=GAN_SIZE, seed=r.gan_seed)
    source, metrics = IDENTITY_SOURCES[r.identity_source](
        to_gan(real.data.images[train]), torch.from_numpy(real.labels[train]).long(), len(EKMAN), source_opts,
        _data_key(real), device, cfg.classifier.data.cache_dir)
    translator, found = train_translator(cfg, real, device)
    metrics.update(found)
    unit = identities_per_unit(real)
    whole, generated = balanced_set(cfg.classifier.data.cache_dir, source, translator, state_hash(translator),
                                    r.max_ratio * unit, r.gan_seed, device)
    metrics.update({"synth/generated_here": float(generated), "synth/identities_per_unit": unit,
                    "synth/identities": r.ratio * unit})
    metrics.update(chain_quality(cfg, real, whole.prefix(unit), translator, device))
    log_samples(reporter, whole.prefix(min(unit, 8)))
    return whole.prefix(r.ratio * unit), metrics


def chain_quality(cfg: RatioTrial, real: RealData, unit: BalancedSet, translator, device) -> dict:
    """How often the real-data judge sees the intended expression in StarGAN's output on
    generated identities (`synth/agreement`) and on real validation faces
    (`synth/agreement_real_faces`), with the judge's rate on real validation faces
    (`synth/judge_val_acc`) as its ceiling; FID of the generated faces against the
    real training faces on the judge's features (`synth/fid_fer`)."""
    r, clf = cfg.ratio, cfg.classifier
    judge = real_data_judge(real.data.images, real.labels, real.splits.train, real.splits.val, len(EKMAN),
                            real.data.content_hash, JudgeOptions(r.judge_net, r.judge_width, r.judge_epochs,
                                                                 r.gan_seed), device, clf.data.cache_dir)
    val = real.data.images[real.splits.val][:200]
    with torch.no_grad():
        real_faces = np.concatenate([to_uint8(translator(to_gan(val).to(device),
                                                         torch.full((len(val),), d, device=device)))
                                     for d in range(len(EKMAN))])
    intended = np.repeat(np.arange(len(EKMAN)), len(val))
    on_real = float((judge.probs(real_faces).argmax(1) == intended).mean())
    train_faces = real.data.images[real.splits.train]
    gate = gate_numbers(list(EKMAN), judge.probs(unit.images).argmax(1), unit.labels,
                        judge.probs(real.data.images[real.splits.val]).argmax(1), real.labels[real.splits.val])
    return {**gate,
            "synth/agreement": float(np.mean([classifier_agreement(judge.probs(unit.images[unit.labels == k]), k)
                                              for k in range(len(EKMAN))])),
            "synth/agreement_real_faces": on_real, "synth/judge_val_acc": judge.val_acc,
            "synth/fid_fer": frechet_distance(judge.features(unit.images), judge.features(train_faces))}


def log_samples(reporter: Reporter, sample: BalancedSet) -> None:
    """`synthetic_samples.png`: one row per identity, one column per Ekman expression."""
    n = len(sample.labels) // len(EKMAN)
    rows = [np.concatenate(list(sample.images[i * len(EKMAN):(i + 1) * len(EKMAN)]), axis=1) for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="ferlab-samples-") as tmp:
        path = Path(tmp) / "synthetic_samples.png"
        grid = np.concatenate(rows, axis=0)
        Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(path)
        reporter.log_artifact(str(path))


def per_class_prf(labels: np.ndarray, preds: np.ndarray) -> dict[str, float]:
    """precision_<c>, recall_<c>, f1_<c> per Ekman class (precision 0 where nothing was
    predicted as c; scikit-learn's zero_division=0)."""
    cm = confusion_matrix(labels, preds, len(EKMAN))
    out = {}
    for k, name in enumerate(EKMAN):
        tp, predicted, actual = cm[k, k], cm[:, k].sum(), cm[k].sum()
        p = tp / predicted if predicted else 0.0
        rec = tp / actual if actual else 0.0
        out.update({f"precision_{name}": float(p), f"recall_{name}": float(rec),
                    f"f1_{name}": float(2 * p * rec / (p + rec)) if p + rec else 0.0})
    return out


def evaluation(net, split: TensorSplit, prefix: str, suffix: str, device) -> tuple[dict, np.ndarray]:
    probs = predict(net, split.x, device)
    labels, preds = split.y.numpy(), probs.argmax(1).numpy()
    found = {**classification_metrics(labels, preds, list(EKMAN)), **per_class_prf(labels, preds)}
    return {f"{prefix}/{k}{suffix}": v for k, v in found.items()}, probs.numpy()


def train_synthetic_ratio(config: dict, reporter: Reporter) -> dict:
    """Run one trial; returns the last epoch's metrics (with the final test metrics)."""
    cfg = parse_config(config)
    r, clf = cfg.ratio, cfg.classifier
    if clf.threads:
        torch.set_num_threads(clf.threads)
    device = device_for(clf.device)
    real = load_training_data(clf)
    clf = step_budget(clf, len(real.splits.train))
    blind_data = load_blind_data(cfg)
    size = net_spec(clf.net).input_size
    metrics: dict = {"data/n_blind": len(blind_data.labels)}
    parts = [] if r.train_set == "synthetic" else [(real.data.images[real.splits.train], real.labels[real.splits.train])]
    if r.ratio:
        synthetic, found = synthetic_faces(cfg, real, reporter, device)
        metrics.update(found)
        parts.append((synthetic.images, synthetic.labels))
    train = images_split(np.concatenate([resize_images(p[0], size) for p in parts]),
                         np.concatenate([p[1] for p in parts]), size)
    val, test = (images_split(real.data.images[idx], real.labels[idx], size) for idx in (real.splits.val,
                                                                                         real.splits.test))
    blind = images_split(blind_data.images, blind_data.labels, size)
    metrics.update({"data/n_train": len(train.y), "data/n_real_train": 0 if r.train_set == "synthetic"
                    else len(real.splits.train), "data/n_val": len(val.y), "data/n_test": len(test.y),
                    **{k: v for k, v in split_counts(clf.data, real).items()
                       if k in ("data/n_train_real", "data/resampled")}})

    def on_finish(last_net, best_net) -> dict:
        out = dict(metrics)
        for net, suffix in ((last_net, ""), (best_net, "_at_best_val")):
            for split, prefix in ((test, "test"), (blind, "blind")):
                found, probs = evaluation(net, split, prefix, suffix, device)
                out.update(found)
                if suffix:  # the chosen epoch: its confusion matrix and predictions
                    cm = confusion_matrix(split.y.numpy(), probs.argmax(1), len(EKMAN))
                    out.update({f"{prefix}/cm_{a}_{b}": float(cm[i, j]) for i, a in enumerate(EKMAN)
                                for j, b in enumerate(EKMAN)})
                    write_predictions(reporter, prefix, split.y.numpy(), probs)
        train_probs = predict(best_net, train.x, device)
        out["train/acc_at_best_val"] = float((train_probs.argmax(1) == train.y).float().mean())
        return out

    net = build_net(clf, len(EKMAN), device)
    opts = dataclasses.replace(fit_options(clf), steps=clf.steps if r.budget == "steps" else None)
    return {**metrics, **fit(net, train, val, opts, reporter, device, on_finish)}


def write_predictions(reporter: Reporter, name: str, labels: np.ndarray, probs: np.ndarray) -> None:
    table = pd.DataFrame({"label": [EKMAN[k] for k in labels], "pred": [EKMAN[k] for k in probs.argmax(1)]})
    for k, c in enumerate(EKMAN):
        table[f"prob_{c}"] = probs[:, k]
    with tempfile.TemporaryDirectory(prefix="ferlab-results-") as tmp:
        path = Path(tmp) / f"{name}_predictions.csv"
        table.to_csv(path, index=False)
        reporter.log_artifact(str(path))

"""The synthetic side of a CycleGAN-augmentation trial: the generators of one
(reference, target) class pair, obtained from the cache or trained (resumably), the
reference images translated through them, and the quality of what they make, measured
on validation images only."""

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainables.core.caches import state_hash, synthetic_set, torch_save_atomic
from trainables.core.config import ConfigError
from trainables.core.judge import Judge
from trainables.core.metrics import classifier_agreement, frechet_distance, kernel_inception_distance, ssim_psnr
from trainables.core.real_data import RealData
from trainables.core.reporting import Reporter, StageReporter
from trainables.data import EMOTIONS, resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.gans.cyclegan_fit import GANOptions, train_cyclegan
from trainables.nets.cyclegan import Generator

GAN_SIZE = 48  # Zhu et al. Table 4: 48×48×1
EVAL_CAP = 512  # validation images per domain for the per-epoch FID
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
    beside its rate of calling real reference images that class and its rate of calling
    the cycle's reconstructions F(G(reference)) that class (`artifact_rate`: faces that
    went through both nets, with their artifacts, and are meant to show the reference
    class; the synthesis gate's floor, analysis.gates), and the cycle's SSIM/PSNR
    (reference vs F(G(reference)))."""
    fake = translate(generator, ref_val, device)
    fake_feats, real_feats = judge.features(fake), judge.features(target_val)
    rec = translate(cycle_back, fake, device)
    ssim, psnr = ssim_psnr(resize_images(ref_val, GAN_SIZE), rec)
    fake_probs = judge.probs(fake)
    extra = {}
    if inception is not None:
        extra["fid_inception"] = frechet_distance(inception.features(fake), inception.features(target_val))
    return {
        **extra,
        "fid_fer": frechet_distance(fake_feats, real_feats),
        "kid_fer": kernel_inception_distance(fake_feats, real_feats, subset_size=min(100, len(fake), len(target_val))),
        "agreement": classifier_agreement(fake_probs, target_index),
        "real_confusion": classifier_agreement(judge.probs(ref_val), target_index),
        "artifact_rate": classifier_agreement(judge.probs(rec), target_index),
        "real_target_agreement": classifier_agreement(judge.probs(target_val), target_index),
        "ssim_cycle": ssim, "psnr_cycle": psnr, "n_judged": float(len(fake)),
        "judge_classes": float(fake_probs.shape[1]),
    }


def synthetic_class(generator, cycle_back, real: RealData, reference: str, target: str, count: int, seed: int,
                    judge: Judge, device, cache_dir: str | None, inception=None) -> tuple[np.ndarray, dict]:
    """`count` uint8 images of `target`, the reference class's training images translated
    by `generator` (from the synthetic-set cache when made before), and their metrics
    under `synth/<target>/` (quality on validation images, where both classes have ≥ 2)."""
    ref_train = ClassImages(real, real.splits.train, reference).images

    def generate():
        return translate(generator, ref_train[reference_draw(len(ref_train), count, [seed, EMOTIONS.index(target)])],
                         device)

    images, hit = synthetic_set(cache_dir, state_hash(generator), target, count, seed, generate, draw=REFERENCE_DRAW)
    metrics = {}
    ref_val = ClassImages(real, real.splits.val, reference, EVAL_CAP).images
    tgt_val = ClassImages(real, real.splits.val, target, EVAL_CAP).images
    if len(ref_val) >= 2 and len(tgt_val) >= 2:
        found = quality_metrics(judge, generator, cycle_back, ref_val, tgt_val, real.class_names.index(target), device,
                                inception)
        metrics.update({f"synth/{target}/{k}": v for k, v in found.items()})
        # the synthesis gate's numbers (analysis.verdicts): the judge's K, and for this target
        metrics.update({"gate/classes": found["judge_classes"], f"gate/{target}/agreement": found["agreement"],
                        f"gate/{target}/n": found["n_judged"], f"gate/{target}/artifact_rate": found["artifact_rate"],
                        f"gate/{target}/real_recall": found["real_target_agreement"]})
    metrics[f"synth/{target}/n"] = count
    metrics[f"synth/{target}/from_cache"] = float(hit)
    return images, metrics


def _gan_path(options: GANOptions, reference: str, target: str, real: RealData, cache_dir: str | None) -> Path:
    split = hashlib.sha256(real.splits.train.tobytes() + b"|" + real.splits.val.tobytes()).hexdigest()
    key = sha256_json({"content": real.data.content_hash, "split": split, "reference": reference,
                       "target": target, "options": dataclasses.asdict(options), "size": GAN_SIZE})
    return cache_root(cache_dir) / "cyclegans" / f"{reference}-{target}-{key[:32]}.pt"


def _sample_grid(reference: np.ndarray, fake: np.ndarray, rec: np.ndarray, path: Path) -> None:
    """Three rows: real reference, fake target, reconstruction."""
    rows = [np.concatenate(list(resize_images(r, GAN_SIZE)), axis=1) for r in (reference, fake, rec)]
    Image.fromarray(np.concatenate(rows, axis=0)).resize((rows[0].shape[1] * 2, GAN_SIZE * 6),
                                                         Image.NEAREST).save(path)


def log_samples(reporter: Reporter, generator, cycle_back, reference: np.ndarray, target: str, device) -> None:
    """`samples_<target>.png`: the reference images, G of them and F(G) of them, as rows."""
    with tempfile.TemporaryDirectory(prefix="ferlab-samples-") as samples:
        path = Path(samples) / f"samples_{target}.png"
        fake = translate(generator, reference, device)
        _sample_grid(reference, fake, translate(cycle_back, fake, device), path)
        reporter.log_artifact(str(path))


def obtain_generators(options: GANOptions, reference: str, target: str, real: RealData, judge: Judge,
                      reporter: Reporter, restored: str | None, carried: Path, device,
                      cache_dir: str | None) -> tuple[Generator, Generator]:
    """G: reference → target and F back, from the cache, or trained here (resumable)."""
    path = _gan_path(options, reference, target, real, cache_dir)
    G, F = (Generator(options.width, options.n_blocks).to(device) for _ in range(2))
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=True)
        G.load_state_dict(state["generator_rt"])
        F.load_state_dict(state["generator_tr"])
        return G.eval(), F.eval()
    train = real.splits.train
    ref_train = ClassImages(real, train, reference).images
    tgt_train = ClassImages(real, train, target).images
    ref_val = ClassImages(real, real.splits.val, reference, EVAL_CAP).images
    tgt_val = ClassImages(real, real.splits.val, target, EVAL_CAP).images
    if min(len(ref_train), len(tgt_train)) < 2:
        raise ConfigError(f"a CycleGAN {reference}→{target} needs ≥ 2 training images per class; "
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

    # the trial's classifier has taken no optimizer step yet: its budget is 0 in the GAN's reports
    stage = StageReporter(reporter, f"gan_{target}", restored, carried, {"budget/steps": 0.0})
    nets = train_cyclegan(_to_gan(ref_train), _to_gan(tgt_train), options, stage, device, evaluate,
                          prefix=f"gan_{target}")
    torch_save_atomic({"generator_rt": nets.generator_rt.state_dict(),
                       "generator_tr": nets.generator_tr.state_dict()}, path)
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

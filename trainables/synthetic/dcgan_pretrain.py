"""Unsupervised DCGAN pre-training (Alharbawee & Pugeault): the DCGAN learns from a
dataset's images alone, epoch by epoch, and each epoch is measured — FID and KID of 
its samples against real images on a real-data judge's features, the diversity of its
samples (mean SSIM of random sample pairs beside the same for real pairs: samples far
more alike than real faces are a collapsing mode), and a fixed-z sample grid.

The result is shared by every trial of a study that needs it (trainables.synthetic.shared_gans):
trained once per (images, options), resumable per epoch."""

import io
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainables.configs.dcgan_svm import PretrainOptions
from trainables.core.metrics import frechet_distance, inception_score, kernel_inception_distance
from trainables.data import resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.gans.dcgan_fit import DCGANOptions, DCGANTrainer
from trainables.gans.checkpoint import load_checkpoint, save_checkpoint
from trainables.synthetic.identity_sources import to_uint8
from trainables.nets.dcgan import Z_DIM, DCDiscriminator
from trainables.synthetic.shared_gans import shared_state


def trainer_options(opts: PretrainOptions) -> DCGANOptions:
    return DCGANOptions(batch_size=opts.batch_size, lr=opts.lr, beta1=opts.beta1, width=opts.width, size=opts.size,
                        seed=opts.seed)


def mean_pair_ssim(images: np.ndarray, pairs: int, seed: int) -> float:
    """Mean SSIM of `pairs` random pairs of different images (uint8 N×H×W)."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(images), pairs)
    b = (a + rng.integers(1, len(images), pairs)) % len(images)
    return float(np.mean([structural_similarity(images[i], images[j], data_range=255) for i, j in zip(a, b)]))


def _grid_png(images: np.ndarray, columns: int = 8) -> bytes:
    rows = [np.concatenate(list(images[r * columns:(r + 1) * columns]), axis=1) for r in range(len(images) // columns)]
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate(rows, axis=0)).save(buffer, format="PNG")
    return buffer.getvalue()


def _epoch_metrics(trainer: DCGANTrainer, real: np.ndarray, judge, inception, opts: PretrainOptions,
                   epoch: int) -> dict:
    gen = torch.Generator().manual_seed(opts.seed * 7_919 + epoch)
    samples = to_uint8(trainer.sample(torch.randn(opts.eval_samples, Z_DIM, generator=gen)))
    rng = np.random.default_rng(opts.seed)
    reference = real[rng.permutation(len(real))[:opts.eval_samples]]
    out = {"dcgan/ssim_samples": mean_pair_ssim(samples, 200, opts.seed),
           "dcgan/ssim_real": mean_pair_ssim(reference, 200, opts.seed)}
    if judge is not None:
        fake_f, real_f = judge.features(samples), judge.features(reference)
        out["dcgan/fid_fer"] = frechet_distance(fake_f, real_f)
        out["dcgan/kid_fer"] = kernel_inception_distance(fake_f, real_f, subset_size=min(100, len(fake_f)))
    if inception is not None:  # only from a local weights file
        fake_i = inception.features(samples)
        out["dcgan/is"] = inception_score(inception.class_probs(fake_i))
        out["dcgan/fid_inception"] = frechet_distance(fake_i, inception.features(reference))
    return out


def pretrain_dcgan(images: np.ndarray, opts: PretrainOptions, judge, device: torch.device,
                   cache_dir, inception=None) -> tuple[DCDiscriminator, dict]:
    """(the trained discriminator, its record: `history` of per-epoch metrics, `grids`
    of PNG bytes per epoch, `from_cache`). `images`: uint8 N×H×W, no labels. With
    `inception` (trainables.core.inception, local weights) the epochs also get IS and the
    standard FID."""
    real = resize_images(images, opts.size)
    x = torch.from_numpy(real).float().div_(127.5).sub_(1).unsqueeze(1)
    key = sha256_json({"images": _images_hash(real), "options": asdict(opts), "inception": inception is not None})
    path = cache_root(cache_dir) / "dcgan" / f"dcgan-{key[:32]}.pt"
    dc = trainer_options(opts)
    steps = steps_per_epoch(len(x), opts)
    fixed_z = torch.randn(64, Z_DIM, generator=torch.Generator().manual_seed(opts.seed))

    def build(partial: Path) -> dict:
        trainer = DCGANTrainer(dc, x, device)
        epoch, history, grids = 0, [], {}
        if partial.exists():
            state = load_checkpoint(partial, trainer.bundle, map_location="cpu")
            epoch, history, grids = state["epoch"], state["history"], state["grids"]
        while epoch < opts.epochs:
            losses = [trainer.step(epoch * steps + i) for i in range(steps)]
            metrics = {"dcgan/epoch": epoch, **{f"dcgan/loss_{k}": float(np.mean([d[k] for d in losses]))
                                                for k in losses[0]},
                       **_epoch_metrics(trainer, real, judge, inception, opts, epoch)}
            history.append(metrics)
            grids[epoch] = _grid_png(to_uint8(trainer.sample(fixed_z)))
            epoch += 1
            if epoch < opts.epochs:
                save_checkpoint(partial, trainer.bundle, epoch=epoch, history=history, grids=grids)
        return {"discriminator": trainer.discriminator.state_dict(), "history": history, "grids": grids}

    state, hit = shared_state(path, build)
    disc = DCDiscriminator(opts.size, opts.width).to(device)
    disc.load_state_dict(state["discriminator"])
    return disc.eval(), {"history": state["history"], "grids": state["grids"], "from_cache": hit}


def steps_per_epoch(n_images: int, opts: PretrainOptions) -> int:
    """A DCGAN epoch's steps (one discriminator and one generator update each)."""
    return math.ceil(n_images / opts.batch_size)


def _images_hash(images: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()


@torch.no_grad()
def discriminator_features(disc: DCDiscriminator, images: np.ndarray, size: int, device: torch.device,
                           batch: int = 256) -> np.ndarray:
    """D's penultimate layer, flattened (N×D float32), of uint8 N×H×W images."""
    x = torch.from_numpy(resize_images(images, size)).float().div_(127.5).sub_(1).unsqueeze(1)
    return np.concatenate([disc.features(x[i:i + batch].to(device)).cpu().numpy() for i in range(0, len(x), batch)]
                          ).astype(np.float32)

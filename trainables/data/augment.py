"""Resizing and the classical augmentation, in two implementations with one meaning:
`classical_augment` (albumentations, one uint8 image, for inspection and offline
use) and `batch_augment` (torch, a whole float batch, used inside training loops).
Both draw: a horizontal flip with probability FLIP_P, a rotation within ±ROTATE_DEG,
a shift within ±SHIFT of the size per axis, one scale in SCALE, borders reflected,
then contrast × (1 ± CONTRAST) and brightness ± BRIGHTNESS of full range.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from trainables.data.core import DataError

FLIP_P = 0.5
ROTATE_DEG = 10.0
SHIFT = 0.1
SCALE = (0.9, 1.1)
BRIGHTNESS = 0.2
CONTRAST = 0.2
_RESIZE_CHUNK = 4096


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 N×size×size, antialiased bilinear; the input itself when already that size."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"resize_images needs uint8 N×H×W; got {images.dtype} {images.shape}")
    if images.shape[1:] == (size, size):
        return images
    out = np.empty((len(images), size, size), np.uint8)
    for lo in range(0, len(images), _RESIZE_CHUNK):
        x = torch.from_numpy(images[lo:lo + _RESIZE_CHUNK]).float()[:, None]
        y = F.interpolate(x, (size, size), mode="bilinear", antialias=True, align_corners=False)
        out[lo:lo + _RESIZE_CHUNK] = y[:, 0].round_().clamp_(0, 255).to(torch.uint8).numpy()
    return out


@lru_cache(maxsize=1)
def _albumentations_pipeline():
    import albumentations as A
    import cv2

    return A.Compose([
        A.HorizontalFlip(p=FLIP_P),
        A.Affine(
            rotate=(-ROTATE_DEG, ROTATE_DEG), translate_percent=(-SHIFT, SHIFT), scale=SCALE,
            keep_ratio=True, border_mode=cv2.BORDER_REFLECT_101, p=1.0,
        ),
        A.RandomBrightnessContrast(
            brightness_limit=BRIGHTNESS, contrast_limit=CONTRAST, brightness_by_max=True, p=1.0,
        ),
    ])


def classical_augment(image: np.ndarray, seed_or_rng) -> np.ndarray:
    """One augmented copy of a uint8 H×W image; deterministic for an int seed, or
    drawing its seed from a numpy Generator."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise DataError(
            f"classical_augment needs one uint8 H×W image, got {image.dtype} {image.shape}"
        )
    if isinstance(seed_or_rng, np.random.Generator):
        seed = int(seed_or_rng.integers(2**31))
    elif isinstance(seed_or_rng, (int, np.integer)):
        seed = int(seed_or_rng)
    else:
        raise DataError(
            f"seed_or_rng must be an int or numpy Generator, got {type(seed_or_rng).__name__}"
        )
    pipeline = _albumentations_pipeline()
    pipeline.set_random_seed(seed)
    return pipeline(image=image)["image"]


def batch_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Augmented copy of a float N×C×H×W batch in [0, 1]; deterministic for the
    generator's state. The random draws happen on the generator's device."""
    if x.ndim != 4 or not x.is_floating_point():
        raise DataError(
            f"batch_augment needs a float N×C×H×W tensor, got {x.dtype} {tuple(x.shape)}"
        )
    n = x.shape[0]
    r = torch.rand(n, 7, generator=generator, device=generator.device).to(x.device, x.dtype)
    sym = lambda col, limit: (r[:, col] * 2 - 1) * limit  # noqa: E731
    flip = torch.where(r[:, 0] < FLIP_P, -1.0, 1.0).to(x.dtype)
    angle = sym(1, math.radians(ROTATE_DEG))
    shift = torch.stack([sym(2, 2 * SHIFT), sym(3, 2 * SHIFT)], dim=1)  # grid units span 2
    scale = SCALE[0] + r[:, 4] * (SCALE[1] - SCALE[0])
    contrast = 1 + sym(5, CONTRAST)
    brightness = sym(6, BRIGHTNESS)

    # grid_sample maps output coordinates to input ones, so build the inverse of
    # "flip, then rotate-scale-shift": p_in = F R(-angle) (p_out - shift) / scale
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    inv = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
    inv[:, 0] *= flip[:, None]
    theta = torch.cat([inv, -(inv @ shift[:, :, None])], dim=2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    out = out * contrast[:, None, None, None] + brightness[:, None, None, None]
    return out.clamp_(0.0, 1.0)

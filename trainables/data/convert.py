"""Decoding image files into one uint8 N×H×W array, and the conversions a loader makes
only when asked: grayscale is always the result, but images of different sizes are
resized (after a face or centre crop to a square) only with an explicit `size`.
What was done is returned as notes that `data info` prints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainables.data.core import DataError
from trainables.data.facecrop import DEFAULT_MARGIN, centre_square, crop, face_box


@dataclass(frozen=True)
class Conversion:
    """`size`: output side in pixels (None: keep the files' size, which must be common);
    `face_crop`: square crop around the largest face (needs `size`); `crop_margin`:
    margin around the face as a fraction of its side."""

    size: int | None = None
    face_crop: bool = False
    crop_margin: float = DEFAULT_MARGIN

    def __post_init__(self):
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 8):
            raise DataError(f"size must be an int >= 8 (the output side in pixels), got {self.size!r}")
        if not isinstance(self.face_crop, bool):
            raise DataError(f"face_crop must be True or False, got {self.face_crop!r}")
        if self.face_crop and self.size is None:
            raise DataError("face_crop needs size (the side the crops are resized to), e.g. size=48")
        if not isinstance(self.crop_margin, (int, float)) or not 0 <= self.crop_margin <= 1:
            raise DataError(f"crop_margin must be a number in [0, 1] (fraction of the face side), "
                            f"got {self.crop_margin!r}")

    def key(self) -> dict:
        return {"size": self.size, "face_crop": self.face_crop, "crop_margin": float(self.crop_margin)}


def decode(files: list[tuple[str, Path]], conv: Conversion) -> tuple[np.ndarray, tuple[str, ...]]:
    """(uint8 N×H×W images of `files`, notes on what was converted)."""
    images, modes, sizes = [], Counter(), Counter()
    found = fallback = squared = 0
    first = None
    for rel, path in files:
        img, mode = _read_gray(path)
        modes[mode] += 1
        sizes[(img.shape[1], img.shape[0])] += 1
        if conv.size is None:
            if first is None:
                first = (rel, img.shape)
            elif img.shape != first[1]:
                raise DataError(
                    f"image {path} is {img.shape[1]}x{img.shape[0]} but {first[0]} is "
                    f"{first[1][1]}x{first[1][0]}; all images must have the same size "
                    "(resize them first, or pass the loader option size=N to resize to NxN)"
                )
            images.append(img)
            continue
        if conv.face_crop:
            box, ok = face_box(img, conv.crop_margin)
            found, fallback = found + ok, fallback + (not ok)
        else:
            box = centre_square(img.shape)
            squared += img.shape[0] != img.shape[1]
        square = crop(img, box)
        if square.shape != (conv.size, conv.size):
            square = np.asarray(Image.fromarray(square).resize((conv.size, conv.size), Image.LANCZOS))
        images.append(square)
    return np.stack(images).astype(np.uint8, copy=False), _notes(len(files), modes, sizes, conv,
                                                                  found, fallback, squared)


def _read_gray(path: Path) -> tuple[np.ndarray, str]:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")), im.mode
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataError(f"cannot read image {path}: {e}") from None


def _notes(n, modes, sizes, conv, found, fallback, squared) -> tuple[str, ...]:
    notes = []
    colour = {m: k for m, k in modes.items() if m != "L"}
    if colour:
        listed = ", ".join(f"{m} {k}" for m, k in sorted(colour.items()))
        notes.append(f"converted to grayscale: {sum(colour.values())} of {n} images ({listed})")
    if conv.face_crop:
        notes.append(f"faces cropped: {found}, centre-crop fallback (no face found): {fallback} "
                     f"(margin {conv.crop_margin:g})")
    elif squared:
        notes.append(f"centre-cropped to a square: {squared} images")
    if conv.size is not None:
        shown = [f"{w}x{h}" for (w, h), _ in sizes.most_common(3)]
        more = f" and {len(sizes) - 3} other sizes" if len(sizes) > 3 else ""
        notes.append(f"resized from {', '.join(shown)}{more} to {conv.size}x{conv.size}")
    return tuple(notes)

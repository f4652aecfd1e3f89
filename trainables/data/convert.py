"""Decoding image files into one uint8 N×H×W array, and the conversions a loader makes
only when asked: grayscale is always the result, but images of different sizes are
resized (after a face or centre crop to a square) only with an explicit `size`.
What was done is returned as notes that `data info` prints.

Face crops are for datasets photographed with head, hair and background (JAFFE, KDEF,
RaFD), so that a 48×48 image keeps the expression rather than the studio.

The detector is the LBP frontal-face cascade that ships inside scikit-image (OpenCV's
`lbpcascade_frontalface`, a registry package we already depend on): nothing is
downloaded at run time. The opencv-python-headless wheel installed here (5.x) carries
neither `CascadeClassifier` nor the Haar cascade files, so OpenCV is not used.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainables.data.core import DataError


# Detection runs on a copy whose longest side is this many pixels: a face filling a
# third of the picture is still ~50 px there, and the cascade's cost grows with area.
DETECT_SIDE = 160
DEFAULT_MARGIN = 0.2


@dataclass(frozen=True)
class Box:
    """A square in pixel coordinates of the original image: top, left, side."""

    top: int
    left: int
    side: int


@lru_cache(maxsize=1)
def _cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def detect_face(image: np.ndarray) -> Box | None:
    """The largest frontal face in a uint8 H×W image, as the detector's square box
    (original coordinates), or None when it finds none."""
    h, w = image.shape
    scale = min(1.0, DETECT_SIDE / max(h, w))
    small = image
    if scale < 1.0:
        small = np.asarray(Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.BILINEAR))
    side = min(small.shape)
    found = _cascade().detect_multi_scale(
        img=small.astype(np.float32) / 255.0, scale_factor=1.2, step_ratio=1,
        min_size=(max(16, side // 6),) * 2, max_size=(side, side),
    )
    if not found:
        return None
    best = max(found, key=lambda d: d["width"] * d["height"])
    size = max(best["width"], best["height"]) / scale
    return Box(round(best["r"] / scale), round(best["c"] / scale), round(size))


def square_around(box: Box, shape: tuple[int, int], margin: float) -> Box:
    """`box` grown by `margin` of its side on every edge, then shifted (and shrunk if it
    must be) to lie inside an image of `shape`."""
    h, w = shape
    side = min(round(box.side * (1 + 2 * margin)), h, w)
    centre_y, centre_x = box.top + box.side / 2, box.left + box.side / 2
    top = int(np.clip(round(centre_y - side / 2), 0, h - side))
    left = int(np.clip(round(centre_x - side / 2), 0, w - side))
    return Box(top, left, side)


def centre_square(shape: tuple[int, int]) -> Box:
    h, w = shape
    side = min(h, w)
    return Box((h - side) // 2, (w - side) // 2, side)


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    return image[box.top:box.top + box.side, box.left:box.left + box.side]


def face_box(image: np.ndarray, margin: float = DEFAULT_MARGIN) -> tuple[Box, bool]:
    """(the square to crop, whether a face was found): around the largest face with
    `margin`, else the centre square."""
    face = detect_face(image)
    if face is None:
        return centre_square(image.shape), False
    return square_around(face, image.shape, margin), True


@dataclass(frozen=True)
class Conversion:
    """`size`: output side in pixels (None: keep the files' size, which must be common);
    `face_crop`: square crop around the largest face (needs `size`); `crop_margin`:
    margin around the face as a fraction of its side."""

    size: int | None = None
    face_crop: bool = False
    crop_margin: float = DEFAULT_MARGIN
    no_face: str = "centre"  # an image with no face found: "centre" crop, "drop" it, or "error"

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
        if self.no_face not in NO_FACE:
            raise DataError(f"no_face must be one of {', '.join(NO_FACE)} (what to do with an image where no face "
                            f"is found), got {self.no_face!r}")
        if self.no_face != "centre" and not self.face_crop:
            raise DataError(f"no_face={self.no_face!r} needs face_crop=True: without a face crop no face is looked for")

    def key(self) -> dict:
        return {"size": self.size, "face_crop": self.face_crop, "crop_margin": float(self.crop_margin),
                "no_face": self.no_face}


NO_FACE = ("centre", "drop", "error")
SHOWN = 5  # file names a note lists before "…"


def listed(names: list[str]) -> str:
    """The first few of `names`, then how many more."""
    more = f", … ({len(names) - SHOWN} more)" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


@dataclass(frozen=True)
class Decoded:
    """`images[i]` is `files[kept[i]]`'s; `notes` say what was converted and dropped."""

    images: np.ndarray
    kept: np.ndarray
    notes: tuple[str, ...]


def decode(files: list[tuple[str, Path]], conv: Conversion) -> Decoded:
    """The uint8 N×H×W images of `files` (those without a face left out where
    `conv.no_face` is "drop"), and notes on what was converted."""
    images, kept, modes, sizes = [], [], Counter(), Counter()
    found = squared = 0
    faceless: list[str] = []
    first = None
    for i, (rel, path) in enumerate(files):
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
            kept.append(i)
            continue
        if conv.face_crop:
            box, ok = face_box(img, conv.crop_margin)
            found += ok
            if not ok:
                faceless.append(rel)
                if conv.no_face != "centre":
                    continue
        else:
            box = centre_square(img.shape)
            squared += img.shape[0] != img.shape[1]
        square = crop(img, box)
        if square.shape != (conv.size, conv.size):
            square = np.asarray(Image.fromarray(square).resize((conv.size, conv.size), Image.LANCZOS))
        images.append(square)
        kept.append(i)
    if faceless and conv.no_face == "error":
        raise DataError(f"no face found in {len(faceless)} of {len(files)} images: {listed(faceless)}; "
                        "pass no_face='centre' to centre-crop them or no_face='drop' to leave them out")
    if not images:
        raise DataError(f"no face found in any of the {len(files)} images (no_face='drop' left none): "
                        f"{listed(faceless)}; pass no_face='centre' to centre-crop them")
    return Decoded(np.stack(images).astype(np.uint8, copy=False), np.array(kept, np.int64),
                   _notes(len(files), modes, sizes, conv, found, faceless, squared))


def _read_gray(path: Path) -> tuple[np.ndarray, str]:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")), im.mode
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataError(f"cannot read image {path}: {e}") from None


def _notes(n, modes, sizes, conv, found, faceless, squared) -> tuple[str, ...]:
    notes = []
    colour = {m: k for m, k in modes.items() if m != "L"}
    if colour:
        modes_seen = ", ".join(f"{m} {k}" for m, k in sorted(colour.items()))
        notes.append(f"converted to grayscale: {sum(colour.values())} of {n} images ({modes_seen})")
    if conv.face_crop:
        what = "dropped" if conv.no_face == "drop" else "centre-cropped"
        notes.append(f"faces cropped: {found} (margin {conv.crop_margin:g}); no face found, {what}: {len(faceless)}"
                     + (f" ({listed(faceless)})" if faceless else ""))
    elif squared:
        notes.append(f"centre-cropped to a square: {squared} images")
    if conv.size is not None:
        shown = [f"{w}x{h}" for (w, h), _ in sizes.most_common(3)]
        more = f" and {len(sizes) - 3} other sizes" if len(sizes) > 3 else ""
        notes.append(f"resized from {', '.join(shown)}{more} to {conv.size}x{conv.size}")
    return tuple(notes)

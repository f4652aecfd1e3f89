"""Face crops for datasets photographed with head, hair and background (JAFFE, KDEF,
RaFD), so that a 48×48 image keeps the expression rather than the studio.

The detector is the LBP frontal-face cascade that ships inside scikit-image (OpenCV's
`lbpcascade_frontalface`, a registry package we already depend on): nothing is
downloaded at run time. The opencv-python-headless wheel installed here (5.x) carries
neither `CascadeClassifier` nor the Haar cascade files, so OpenCV is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

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

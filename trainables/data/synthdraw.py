"""Vectorised drawing of the synthetic faces: every primitive is a signed distance
evaluated on the whole batch's pixel grid at once (N×S×S), turned into a one-pixel
soft edge and alpha-blended. Geometry is in face units: x right, y down, the face
centred near the origin, the image spanning -1..1 before pose is applied.
"""

from __future__ import annotations

import numpy as np

# Action units drawn (FACS numbers): inner / outer brow raise, brow lower, upper lid
# raise, cheek raise, lid tighten, nose wrinkle, upper lip raise, lip corner pull,
# lip corner depress, lip stretch, lip press, jaw drop.
AUS = (
    "AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU15", "AU20", "AU23", "AU26",
)
_CHUNK = 256


def render(params: dict[str, np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 N×size×size faces from per-image parameter arrays (see synthfaces)."""
    n = len(params["skin"])
    out = np.empty((n, size, size), np.uint8)
    for lo in range(0, n, _CHUNK):
        chunk = {k: v[lo:lo + _CHUNK] for k, v in params.items()}
        img = _draw(chunk, size)
        img += rng.standard_normal(img.shape, dtype=np.float32) * _col(chunk["noise"])
        out[lo:lo + _CHUNK] = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def _col(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32)[:, None, None]


def _draw(p: dict[str, np.ndarray], size: int) -> np.ndarray:
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    u, v = grid[None, None, :], grid[None, :, None]
    px = 2.0 / size
    c, s = np.cos(p["angle"]), np.sin(p["angle"])
    du, dv = u - _col(p["shift"][:, 0]), v - _col(p["shift"][:, 1])
    x = (_col(c) * du + _col(s) * dv) / _col(p["scale"])
    y = (-_col(s) * du + _col(c) * dv) / _col(p["scale"])
    au = {name: _col(p["au"][:, i]) for i, name in enumerate(AUS)}

    img = _col(p["background"]) + _col(p["bg_slope"][:, 0]) * u + _col(p["bg_slope"][:, 1]) * v
    img = np.broadcast_to(img, x.shape).copy()
    skin, rx = _col(p["skin"]), _col(p["face_rx"])
    ry = _col(p["face_ry"]) + 0.05 * au["AU26"]  # the jaw drop lengthens the face

    _paint(img, _alpha(np.maximum(np.abs(x) - 0.3, 0.55 - y), px), skin * 0.8)  # neck
    _paint(img, _alpha(_ellipse(x, y, 0, -0.04, rx + 0.06, ry + 0.05), px), _col(p["hair"]))
    face = _alpha(_ellipse(x, y, 0, 0.02, rx, ry), px)
    face *= _alpha(_col(p["hairline"]) + 0.15 * x * x - y, px)
    shade = 1 - 0.18 * ((x / rx) ** 2 + (y / ry) ** 2)
    _paint(img, face, skin * shade)
    _draw_upper_face(img, x, y, p, au, skin, face, px)
    _draw_mouth(img, x, y, p, au, skin, px)

    light = 1 + _col(p["light"][:, 0]) * u + _col(p["light"][:, 1]) * v
    return img * light


def _draw_upper_face(img, x, y, p, au, skin, face, px):
    ex, ey, ew = _col(p["eye_x"]), _col(p["eye_y"]), _col(p["eye_w"])
    ny = _col(p["nose_y"]) - 0.025 * au["AU9"]
    # cheeks lift and brighten with AU6
    for sx in (-1, 1):
        cheek = _alpha(_ellipse(x, y, sx * (ex + 0.02), ey + 0.2, 0.12, 0.09), px)
        _paint(img, cheek * 0.6 * au["AU6"], np.minimum(skin + 0.15, 1))

    brow_y = ey - _col(p["brow_gap"])
    _dark_lines(img, x, y, face, px, 0.3 * np.maximum(au["AU1"], au["AU2"]) ** 1.5, skin, [
        (-0.22, brow_y - dy, 0.22, brow_y - dy) for dy in (0.1, 0.17)
    ])  # forehead wrinkles
    _dark_lines(img, x, y, face, px, 0.4 * au["AU4"], skin, [
        (sx * 0.035, brow_y - 0.01, sx * 0.045, brow_y + 0.08) for sx in (-1, 1)
    ])  # glabellar furrows
    _dark_lines(img, x, y, face, px, 0.45 * au["AU9"], skin, [
        (-0.07, ey + dy, 0.07, ey + dy) for dy in (0.04, 0.09)
    ])  # nose wrinkles
    for sx in (-1, 1):
        nostril = _alpha(_ellipse(x, y, sx * 0.05, ny, 0.032 * (1 + 0.3 * au["AU9"]), 0.018), px)
        _paint(img, nostril * 0.7, skin * 0.45)
    mw = _col(p["mouth_w"])
    fold = 0.06 + 0.25 * np.maximum(np.maximum(au["AU12"], au["AU10"]), 0.7 * au["AU9"])
    _dark_lines(img, x, y, face, px, fold, skin, [
        (sx * 0.11, ny - 0.01, sx * (mw + 0.05), _col(p["mouth_y"]) - 0.01) for sx in (-1, 1)
    ])  # nasolabial folds deepen with smiling and sneering

    opening = _col(p["eye_open"]) * (1 + 1.0 * au["AU5"] - 0.5 * au["AU7"] - 0.3 * au["AU6"])
    eh = ew * np.clip(opening, 0.12, 1.6) * 0.6
    for sx in (-1, 1):
        eye = _alpha(_ellipse(x, y, sx * ex, ey, ew, eh), px)
        _paint(img, eye, np.minimum(skin + 0.2, 0.95))
        iris = _alpha(_ellipse(x, y, sx * ex, ey + 0.004, ew * 0.5, ew * 0.5), px)
        _paint(img, eye * iris, np.float32(0.1))
        _draw_brow(img, x, y, p, au, sx, ex, ew, brow_y, skin, px)


def _draw_brow(img, x, y, p, au, sx, ex, ew, brow_y, skin, px):
    lower = 0.07 * au["AU4"]
    inner = (
        sx * (ex - ew * 1.2 - 0.03 * au["AU4"]),  # AU4 also draws the brows together
        brow_y - 0.13 * au["AU1"] + lower + 0.04 * au["AU4"],
    )
    outer = (sx * (ex + ew * 1.25), brow_y - 0.12 * au["AU2"] + lower)
    mid = (
        (inner[0] + outer[0]) / 2,
        (inner[1] + outer[1]) / 2 - _col(p["brow_arch"]) - 0.02 * au["AU2"],
    )
    d = np.minimum(_segment(x, y, *inner, *mid), _segment(x, y, *mid, *outer))
    _paint(img, _alpha(d - _col(p["brow_thick"]), px), skin * _col(p["brow_dark"]))


def _draw_mouth(img, x, y, p, au, skin, px):
    mw = _col(p["mouth_w"]) * (1 + 0.3 * au["AU20"] + 0.12 * au["AU12"] - 0.18 * au["AU23"])
    my = _col(p["mouth_y"]) + 0.04 * au["AU26"]
    corner = -0.13 * au["AU12"] + 0.11 * au["AU15"] + 0.02 * au["AU20"]
    t = x / mw
    w = np.clip(1 - t * t, 0, 1)
    line = my + corner * t * t
    upper = line - (0.06 * au["AU10"] + 0.05 * au["AU26"] + 0.02 * au["AU20"]) * w
    lower = line + (0.24 * au["AU26"] + 0.03 * au["AU20"] + 0.02 * au["AU10"]) * w
    inside_x = _alpha(np.abs(x) - mw, px)
    lip = _col(p["lip_thick"]) * (1 - 0.5 * au["AU23"]) * (0.4 + 0.6 * w)
    lips = _alpha(np.maximum(upper - lip - y, y - lower - lip), px) * inside_x
    _paint(img, lips, skin * 0.62)
    gap = _alpha(np.maximum(upper - y, y - lower), px) * inside_x
    _paint(img, gap, np.float32(0.08))
    teeth_line = upper + 0.45 * (lower - upper)
    show = np.clip(2 * au["AU12"] - 0.4, 0, 1)  # teeth show in open smiles
    teeth = _alpha(np.maximum(upper - y, y - teeth_line), px) * inside_x
    _paint(img, teeth * show, np.float32(0.85))


def _dark_lines(img, x, y, face, px, strength, skin, segments):
    """Creases (wrinkles, furrows, folds): thin dark lines inside the face."""
    dist = None
    for seg in segments:
        d = _segment(x, y, *seg)
        dist = d if dist is None else np.minimum(dist, d)
    _paint(img, _alpha(dist - 0.01, px) * face * strength, skin * 0.5)


def _paint(img: np.ndarray, alpha, color) -> None:
    img += alpha * (color - img)


def _alpha(sd, px: float) -> np.ndarray:
    """Coverage of a shape with signed distance `sd`: a one-pixel-wide soft edge."""
    return np.clip(0.5 - sd / px, 0.0, 1.0)


def _ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance to an axis-aligned ellipse (exact on circles)."""
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return (r - 1) * np.minimum(rx, ry)


def _segment(x, y, ax, ay, bx, by):
    """Distance to the segment a-b; endpoints may be per-image N×1×1 arrays."""
    pax, pay, bax, bay = x - ax, y - ay, bx - ax, by - ay
    h = np.clip((pax * bax + pay * bay) / (bax * bax + bay * bay + 1e-12), 0, 1)
    return np.sqrt((pax - bax * h) ** 2 + (pay - bay * h) ** 2)

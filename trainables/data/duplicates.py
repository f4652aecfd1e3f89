"""Exact and near duplicates across splits, and removing them from train (or, for
comparisons whose arms repeat training images, their exact copies from val and test).

FER2013 has pixel-identical images in both Training and the test sets (README: 280
PublicTest and 288 PrivateTest rows have a copy in Training), and more re-encoded or
re-cropped ones that are not identical. Exact duplicates are found by grouping the
raw pixels; near duplicates by a 64-bit DCT perceptual hash (pHash) compared by
Hamming distance. The near search never compares all pairs: by the pigeonhole
principle two hashes within distance d agree exactly on at least one of d + 1 bands
of bits, so only images sharing a band value are compared.
"""

from __future__ import annotations

import numpy as np

from trainables.data.augment import resize_images
from trainables.data.core import USAGES, DataError, FaceData
from trainables.data.splits import Splits

# Inspected on FER2013 (pHash distances come out even: the median splits the 64 bits
# 32/32): pairs at distance <= 4 were all the same photo re-cropped or re-exposed,
# at 6 about one in six were different people, at 8 most were.
NEAR_DISTANCE = 4
MAX_DISTANCE_LIMIT = 12  # beyond this the bands get short and buckets explode
_HASH_SIDE = 32


def phash(images: np.ndarray) -> np.ndarray:
    """uint64 perceptual hash per image: the signs, against their median, of the 8×8
    lowest-frequency DCT coefficients of the image resized to 32×32."""
    x = resize_images(images, _HASH_SIDE).astype(np.float32)
    k = np.arange(_HASH_SIDE)
    dct = np.cos(np.pi * (2 * k[None, :] + 1) * k[:8, None] / (2 * _HASH_SIDE)).astype(np.float32)
    coef = (dct @ x @ dct.T).reshape(len(x), 64)
    bits = coef > np.median(coef, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)


def exact_ids(images: np.ndarray) -> np.ndarray:
    """int64 id per image; equal ids ⇔ identical pixels."""
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    rows = flat.view(np.dtype((np.void, flat.shape[1])))[:, 0]
    return np.unique(rows, return_inverse=True)[1].astype(np.int64).ravel()


def find_cross_split_duplicates(
    data: FaceData, max_distance: int = NEAR_DISTANCE, *, groups=None,
) -> dict:
    """Duplicates between images of different splits (default: the official usage).

    Returns {"max_distance": d, "exact": {...}, "near": {...}, "counts": {...}} where
    e.g. result["exact"]["train/test"] == {"train": idx, "test": idx}: the indices of
    train images with a pixel-identical copy in test, and of test images with one in
    train. "near" holds images whose pHash is within `max_distance` of an image in
    the other split but that have no identical copy there. "counts" has the same
    nesting with the lengths, e.g. result["counts"]["exact"]["train/test"]["test"].
    """
    if groups is None:
        groups = data.usage
    if groups is None:
        raise DataError(f"{data.name} has no official split; pass groups= (a split name per image)")
    if not 0 <= max_distance <= MAX_DISTANCE_LIMIT:
        raise DataError(f"max_distance must be in 0..{MAX_DISTANCE_LIMIT}, got {max_distance}")
    groups = np.asarray(groups)
    ids, hashes = exact_ids(data.images), phash(data.images)
    result = {"max_distance": max_distance, "exact": {}, "near": {}}
    for i, a in enumerate(USAGES):
        for b in USAGES[i + 1:]:
            ia, ib = np.flatnonzero(groups == a), np.flatnonzero(groups == b)
            exact_a = ia[np.isin(ids[ia], ids[ib])]
            exact_b = ib[np.isin(ids[ib], ids[ia])]
            pa, pb = _near_pairs(hashes[ia], hashes[ib], max_distance)
            differ = ids[ia[pa]] != ids[ib[pb]]
            near_a = np.setdiff1d(ia[pa[differ]], exact_a)
            near_b = np.setdiff1d(ib[pb[differ]], exact_b)
            result["exact"][f"{a}/{b}"] = {a: exact_a, b: exact_b}
            result["near"][f"{a}/{b}"] = {a: near_a, b: near_b}
    result["counts"] = {
        kind: {pair: {k: len(v) for k, v in sides.items()} for pair, sides in result[kind].items()}
        for kind in ("exact", "near")
    }
    return result


def drop_cross_split_duplicates(
    data: FaceData, splits: Splits, max_distance: int = NEAR_DISTANCE,
) -> Splits:
    """`splits` without the train images that duplicate (exactly, or within
    `max_distance` pHash bits) an image in val or test."""
    groups = np.full(len(data), "", dtype="U5")
    for name in USAGES:
        groups[getattr(splits, name)] = name
    dups = find_cross_split_duplicates(data, max_distance, groups=groups)
    drop = [
        dups[kind][pair]["train"] for kind in ("exact", "near") for pair in ("train/val", "train/test")
    ]
    return Splits(np.setdiff1d(splits.train, np.concatenate(drop)), splits.val, splits.test)


def drop_eval_copies_of_train(
    data: FaceData, splits: Splits, train: np.ndarray | None = None,
) -> tuple[Splits, dict[str, int]]:
    """`splits` without the val and test images that have a pixel-identical copy among the
    training images `train` (default: `splits.train`), whatever its label: a classifier
    that repeats its training images (an oversampling arm) has memorised them. Returns the
    new splits and how many images each of val and test lost, {"val": n, "test": n}."""
    train = splits.train if train is None else np.asarray(train)
    ids = exact_ids(data.images)
    seen = ids[train]
    kept = {name: idx[~np.isin(ids[idx], seen)] for name, idx in (("val", splits.val), ("test", splits.test))}
    dropped = {name: len(getattr(splits, name)) - len(idx) for name, idx in kept.items()}
    return Splits(splits.train, kept["val"], kept["test"]), dropped


def summary_lines(result: dict) -> list[str]:
    """Human-readable counts, one line per kind and pair of splits."""
    lines = []
    near = f"pHash distance <= {result['max_distance']}, not identical"
    for kind, label in (("exact", "identical pixels"), ("near", near)):
        for pair, sides in result[kind].items():
            a, b = pair.split("/")
            lines.append(
                f"{kind} duplicates {pair} ({label}): {len(sides[b])} {b} images have a copy "
                f"in {a}; {len(sides[a])} {a} images have a copy in {b}"
            )
    return lines


def _near_pairs(ha: np.ndarray, hb: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (into ha, hb) with Hamming distance <= max_distance."""
    if len(ha) == 0 or len(hb) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.linspace(0, 64, max_distance + 2).astype(int)
    keys = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = np.uint64(((1 << (hi - lo)) - 1) << lo)
        band_a, band_b = ha & mask, hb & mask
        order = np.argsort(band_b, kind="stable")
        sorted_b = band_b[order]
        start = np.searchsorted(sorted_b, band_a, "left")
        count = np.searchsorted(sorted_b, band_a, "right") - start
        pa = np.repeat(np.arange(len(ha)), count)
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        pb = order[np.repeat(start, count) + offset]
        close = np.bitwise_count(ha[pa] ^ hb[pb]) <= max_distance
        keys.append(pa[close] * len(hb) + pb[close])
    key = np.unique(np.concatenate(keys))
    return key // len(hb), key % len(hb)

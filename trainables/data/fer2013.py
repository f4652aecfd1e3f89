"""FER2013 in the public `fer2013.csv` layout (Goodfellow et al., 2013): a header
`emotion,pixels,Usage`, then one row per image with the emotion code 0-6, 2,304
space-separated grey levels (48x48, row-major) and Training / PublicTest / PrivateTest.

The file may be plain or gzipped (detected from its first bytes, not its name). Usage
maps onto our splits as Training->train, PublicTest->val, PrivateTest->test. Every
row is checked; an error names its 1-based line number in the file (the header is
line 1).
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np

from trainables.data.cache import cached, sha256_file
from trainables.data.core import EMOTIONS, DataError, FaceData

HEADER = b"emotion,pixels,Usage"
SIDE = 48
N_PIXELS = SIDE * SIDE
USAGE = {b"Training": "train", b"PublicTest": "val", b"PrivateTest": "test"}
CODES = {str(i).encode(): i for i in range(7)}
FILE_NAMES = ("fer2013.csv", "fer2013.csv.gz")
LAYOUT = (
    "a fer2013.csv or fer2013.csv.gz file (header 'emotion,pixels,Usage'), "
    "or a folder containing one"
)
_DIGITS = b"0123456789 "


def load(data_root, *, cache_dir=None, **options) -> FaceData:
    if options:
        raise DataError(f"fer2013 takes no options, got {sorted(options)}")
    path = find_csv(data_root)
    content_hash = sha256_file(path)
    return cached(cache_dir, "fer2013", content_hash, {}, lambda: parse(path, content_hash))


def find_csv(data_root) -> Path:
    if data_root is None:
        raise DataError(f"fer2013 needs data_root: {LAYOUT}")
    root = Path(data_root).expanduser()
    if root.is_file():
        return root
    if root.is_dir():
        for name in FILE_NAMES:
            if (root / name).is_file():
                return root / name
        raise DataError(f"no {' or '.join(FILE_NAMES)} in {root}; expected {LAYOUT}")
    raise DataError(f"{root} does not exist; expected {LAYOUT}")


def read_text(path: Path) -> bytes:
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    try:
        if gzipped:
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read ({e}); expected {LAYOUT}") from e


def parse(path: Path, content_hash: str) -> FaceData:
    try:
        images, labels, usage = parse_rows(read_text(path))
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    return FaceData("fer2013", images, labels, None, usage, content_hash)


def parse_rows(text: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images N×48×48 uint8, labels int64, usage str) from the CSV's bytes."""
    lines = text.split(b"\n")
    del text
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or lines[0].rstrip(b"\r") != HEADER:
        got = lines[0][:60].decode(errors="replace") if lines else ""
        raise DataError(f"line 1: expected header {HEADER.decode()!r}, got {got!r}")
    rows = lines[1:]
    del lines
    n = len(rows)
    pixels = np.empty((n, N_PIXELS), np.int32)
    labels = np.empty(n, np.int64)
    usage = np.empty(n, "U5")
    with warnings.catch_warnings():
        # numpy warns (DeprecationWarning) when fromstring stops early; the length
        # check below turns that into our error
        warnings.simplefilter("ignore", DeprecationWarning)
        for i, row in enumerate(rows):
            labels[i], field, usage[i] = _split_row(row, i + 2)
            pixels[i] = _parse_pixels(field, i + 2)
    bad = np.flatnonzero((pixels > 255).any(axis=1))
    if len(bad):
        i = bad[0]
        raise DataError(
            f"line {i + 2}: pixel value {pixels[i].max()} is out of range; expected 0-255"
        )
    return pixels.astype(np.uint8).reshape(n, SIDE, SIDE), labels, usage


def _split_row(row: bytes, line: int) -> tuple[int, bytes, str]:
    fields = row.rstrip(b"\r").split(b",")
    if len(fields) != 3:
        raise DataError(
            f"line {line}: expected 3 comma-separated fields emotion,pixels,Usage, "
            f"got {len(fields)}"
        )
    code, field, use = fields
    if code not in CODES:
        names = ", ".join(f"{i}={e}" for i, e in enumerate(EMOTIONS[:7]))
        raise DataError(
            f"line {line}: unknown emotion code {code.decode(errors='replace')!r}; "
            f"expected one of {names}"
        )
    if use not in USAGE:
        raise DataError(
            f"line {line}: unknown Usage {use.decode(errors='replace')!r}; "
            f"expected one of {', '.join(u.decode() for u in USAGE)}"
        )
    return CODES[code], field, USAGE[use]


def _parse_pixels(field: bytes, line: int) -> np.ndarray:
    if field.translate(None, _DIGITS):
        token = next(t for t in field.split(b" ") if t.translate(None, _DIGITS))
        raise DataError(
            f"line {line}: pixel value {token[:20].decode(errors='replace')!r} is not "
            f"an integer; expected {N_PIXELS} integers 0-255 separated by spaces"
        )
    values = np.fromstring(field, dtype=np.int32, sep=" ")
    if len(values) != N_PIXELS or field.count(b" ") != N_PIXELS - 1:
        raise DataError(
            f"line {line}: expected {N_PIXELS} pixel values ({SIDE}x{SIDE}), "
            f"got {len(field.split())}"
        )
    return values

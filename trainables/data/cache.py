"""On-disk cache of parsed datasets, keyed by the hash of the source content.

Parsing FER2013's 300 MB of text takes seconds; loading the parsed arrays takes a fraction
of a second. An entry is a folder of `.npy` files whose images are memory-mapped
copy-on-write: concurrent trials on one node share one copy of the pixels in the page
cache instead of reading one each (bench.data's memory row), and a trial that writes to
its images changes only its own pages. An entry is written as one folder through
the `atomic` package, so a reader never sees a half-written entry, and a writer killed while
replacing one leaves the previous entry; one that fails to load is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from atomic import atomic_folder, recover
from trainables.data.core import FaceData

_CHUNK = 1 << 22


def cache_root(cache_dir: str | Path | None) -> Path:
    """`cache_dir`, else $FERLAB_CACHE_DIR, else ~/.cache/ferlab."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("FERLAB_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "ferlab"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(files: list[tuple[str, Path]]) -> str:
    """Hash of (relative path, bytes) pairs in sorted path order; lengths are mixed in
    so that no two different trees can produce the same byte stream."""
    h = hashlib.sha256()
    for rel, path in sorted(files):
        data = path.read_bytes()
        name = rel.encode()
        h.update(len(name).to_bytes(8, "little") + name)
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def sha256_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def cached(
    cache_dir: str | Path | None, name: str, content_hash: str, options: dict,
    build: Callable[[], FaceData],
) -> FaceData:
    """Load the dataset `name` parsed from content `content_hash` with `options` from
    the cache, or `build` it and store it. Nothing is written when `build` raises."""
    root = cache_root(cache_dir)
    key = sha256_json({"name": name, "content": content_hash, "options": options})
    entry = root / f"{name}-{key[:32]}"
    data = _read(entry, name, content_hash)
    if data is None:
        data = build()
        _write(entry, data)
    return data


def _read(entry: Path, name: str, content_hash: str) -> FaceData | None:
    recover(entry)
    if not entry.is_dir():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if meta["content_hash"] != content_hash or meta["name"] != name:
            return None
        optional = {f: np.load(entry / f"{f}.npy", allow_pickle=False) if f in meta["arrays"] else None
                    for f in ("subjects", "usage")}
        return FaceData(
            name=name,
            images=np.load(entry / "images.npy", mmap_mode="c", allow_pickle=False),
            labels=np.load(entry / "labels.npy", allow_pickle=False),
            **optional,
            content_hash=content_hash,
            procedural=bool(meta["procedural"]),
            notes=tuple(meta.get("notes", ())),
        )
    except Exception:  # any unreadable or inconsistent entry is rebuilt, not trusted
        return None


def _write(entry: Path, data: FaceData) -> None:
    arrays = {"images": data.images, "labels": data.labels, "subjects": data.subjects, "usage": data.usage}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    meta = {"name": data.name, "content_hash": data.content_hash, "procedural": data.procedural,
            "arrays": sorted(arrays), "notes": list(data.notes)}
    try:
        with atomic_folder(entry) as tmp:  # an existing entry is unreadable: replaced
            for key, array in arrays.items():
                np.save(tmp / f"{key}.npy", array, allow_pickle=False)
            (tmp / "meta.json").write_text(json.dumps(meta))
    except FileExistsError:  # another process stored the same entry at the same time: theirs is as good
        pass

"""On-disk cache of parsed datasets, keyed by the hash of the source content.

Parsing FER2013's 300 MB of text takes seconds; loading the parsed arrays from an
uncompressed `.npz` takes a fraction of a second. Concurrent trials on one node share
the file. Writes go to a temporary file in the cache folder followed by `os.replace`,
so a reader never sees a half-written cache; a file that fails to load is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

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
    path = root / f"{name}-{key[:32]}.npz"
    data = _read(path, name, content_hash)
    if data is None:
        data = build()
        _write(path, data)
    return data


def _read(path: Path, name: str, content_hash: str) -> FaceData | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
        if meta["content_hash"] != content_hash or meta["name"] != name:
            return None
        return FaceData(
            name=name,
            images=arrays["images"],
            labels=arrays["labels"],
            subjects=arrays.get("subjects"),
            usage=arrays.get("usage"),
            content_hash=content_hash,
            procedural=bool(meta["procedural"]),
        )
    except Exception:  # any unreadable or inconsistent file is rebuilt, not trusted
        return None


def _write(path: Path, data: FaceData) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"images": data.images, "labels": data.labels}
    if data.subjects is not None:
        arrays["subjects"] = data.subjects
    if data.usage is not None:
        arrays["usage"] = data.usage
    meta = {"name": data.name, "content_hash": data.content_hash, "procedural": data.procedural}
    arrays["meta"] = np.array(json.dumps(meta))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

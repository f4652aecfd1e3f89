"""Datasets stored as `<root>/<class>/<image>` trees, and CK+48, which is one of them.

Folder names map onto EMOTIONS through `class_map` (default: EMOTIONS names and known
synonyms such as `anger` or `sadness`). Subject ids come from the file name through
`subject_regex`, whose first group is the id; without it the dataset has no subject
ids. Images are converted to grayscale and must all share one size: resizing is the
caller's decision (`resize_images`), not something a loader does silently.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainables.data.cache import cached, sha256_tree
from trainables.data.core import EMOTIONS, SYNONYMS, DataError, FaceData, emotion_index

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm"}
)
LAYOUT = "a folder of class folders, <root>/<class>/<image> (png, jpg, bmp, ...)"

# CK+48 (README §2): S###_###_########.png = subject, sequence, frame.
CKPLUS_REGEX = r"^(S\d{3})_\d{3}_\d{8}\.png$"
CKPLUS_MAP = {
    "anger": "angry", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
    "happy": "happy", "sadness": "sad", "surprise": "surprise",
}
CKPLUS_LAYOUT = (
    "CK+48: <root>/<class>/S###_###_########.png with class folders " + ", ".join(CKPLUS_MAP)
)


def load(
    data_root, *, cache_dir=None, subject_regex=None, class_map=None, **options,
) -> FaceData:
    if options:
        raise DataError(
            f"imagefolder: unknown options {sorted(options)}; accepted: subject_regex, class_map"
        )
    return load_folder("imagefolder", data_root, cache_dir, subject_regex, class_map, LAYOUT)


def load_ckplus(data_root, *, cache_dir=None, **options) -> FaceData:
    if options:
        raise DataError(f"ckplus takes no options, got {sorted(options)}")
    return load_folder("ckplus", data_root, cache_dir, CKPLUS_REGEX, CKPLUS_MAP, CKPLUS_LAYOUT)


def load_folder(name, data_root, cache_dir, subject_regex, class_map, layout) -> FaceData:
    if data_root is None:
        raise DataError(f"{name} needs data_root: {layout}")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; expected {layout}")
    mapping = _class_mapping(root, class_map, layout)
    files = _image_files(root, mapping)
    regex = _compile(subject_regex)
    content_hash = sha256_tree([(rel, path) for rel, path, _ in files])
    options = {"subject_regex": subject_regex, "class_map": mapping}
    return cached(
        cache_dir, name, content_hash, options,
        lambda: _decode(name, files, regex, content_hash),
    )


def _class_mapping(root: Path, class_map: dict | None, layout: str) -> dict[str, str]:
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root} has no class folders; expected {layout}")
    if class_map is None:
        known = ", ".join(list(EMOTIONS) + [f"{k}->{v}" for k, v in SYNONYMS.items()])
        unknown = [f for f in folders if emotion_index(f) is None]
        if unknown:
            raise DataError(
                f"{root}: unknown class folders {unknown}; expected EMOTIONS names or "
                f"synonyms ({known}), or pass class_map={{folder: emotion}}"
            )
        return {f: EMOTIONS[emotion_index(f)] for f in folders}
    bad_values = {k: v for k, v in class_map.items() if v not in EMOTIONS}
    if bad_values:
        raise DataError(f"class_map values {bad_values} are not in EMOTIONS {EMOTIONS}")
    unknown = [f for f in folders if f not in class_map]
    if unknown:
        raise DataError(
            f"{root}: unknown class folders {unknown}; expected folders mapped by "
            f"{dict(class_map)}"
        )
    return {f: class_map[f] for f in folders}


def _image_files(root: Path, mapping: dict[str, str]) -> list[tuple[str, Path, int]]:
    files = []
    for folder, emotion in mapping.items():
        found = sorted(
            p for p in (root / folder).iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            raise DataError(
                f"class folder {root / folder} has no images; expected files ending in "
                f"{', '.join(sorted(IMAGE_SUFFIXES))}"
            )
        label = EMOTIONS.index(emotion)
        files += [(f"{folder}/{p.name}", p, label) for p in found]
    return files


def _compile(subject_regex: str | None) -> re.Pattern | None:
    if subject_regex is None:
        return None
    try:
        regex = re.compile(subject_regex)
    except re.error as e:
        raise DataError(f"subject_regex {subject_regex!r} is not a valid regex: {e}") from None
    if regex.groups < 1:
        raise DataError(f"subject_regex {subject_regex!r} needs a group capturing the subject id")
    return regex


def _decode(name, files, regex, content_hash) -> FaceData:
    images, subjects = [], []
    first = None
    for rel, path, _ in files:
        try:
            with Image.open(path) as im:
                img = np.asarray(im.convert("L"))
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise DataError(f"cannot read image {path}: {e}") from None
        if first is None:
            first = (rel, img.shape)
        elif img.shape != first[1]:
            raise DataError(
                f"image {path} is {img.shape[1]}x{img.shape[0]} but {first[0]} is "
                f"{first[1][1]}x{first[1][0]}; all images must have the same size "
                "(resize them first)"
            )
        images.append(img)
        if regex is not None:
            m = regex.search(path.name)
            if m is None or not m.group(1):
                raise DataError(
                    f"file name {path.name!r} ({path}) does not match subject_regex "
                    f"{regex.pattern!r}; its first group must capture the subject id"
                )
            subjects.append(m.group(1))
    return FaceData(
        name=name,
        images=np.stack(images).astype(np.uint8, copy=False),
        labels=np.array([label for _, _, label in files], np.int64),
        subjects=np.array(subjects) if regex is not None else None,
        usage=None,
        content_hash=content_hash,
    )

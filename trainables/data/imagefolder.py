"""Datasets stored as `<root>/<class>/<image>` trees (CK+48 is one), or as flat folders
whose file names carry the label (JAFFE, KDEF, RaFD: see presets.py).

Class folders map onto EMOTIONS through `class_map` (default: EMOTIONS names and known
synonyms such as `anger` or `sadness`). With `label_regex` the folder is read as a flat
folder instead (sub-folders included): the regex's first group is the label code in each
file name, mapped through `class_map` (code -> emotion; default: codes that are EMOTIONS
names or synonyms); `select_regex`, when given, keeps only the files whose names match
it. Subject ids come from the file name through `subject_regex`, whose first group is
the id; without it the dataset has no subject ids. Images are converted to grayscale
and must all share one size unless `size` asks for a resize (see convert.py), which
`face_crop` precedes with a crop around the face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from trainables.data.cache import cached, sha256_tree
from trainables.data.convert import DEFAULT_MARGIN, SHOWN, Conversion, decode, listed
from trainables.data.core import EMOTIONS, SYNONYMS, DataError, FaceData, emotion_index

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm"}
)
LAYOUT = "a folder of class folders, <root>/<class>/<image> (png, jpg, bmp, ...)"
FLAT_LAYOUT = "a flat folder of images whose names match label_regex, its first group the label code"
OPTIONS = ("subject_regex", "class_map", "label_regex", "select_regex", "size", "face_crop", "crop_margin", "no_face",
           "strict")
# Subject ids are upper-cased: `af01ans.jpg` and `AF01ANS.JPG` show one subject. In the
# cache key, so that entries made before the rule are not reused.
SUBJECT_IDS = "upper"

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
    data_root, *, cache_dir=None, subject_regex=None, class_map=None, label_regex=None, select_regex=None,
    size=None, face_crop=False, crop_margin=DEFAULT_MARGIN, no_face="centre", strict=False, **options,
) -> FaceData:
    if options:
        raise DataError(f"imagefolder: unknown options {sorted(options)}; accepted: {', '.join(OPTIONS)}")
    conv = Conversion(size, face_crop, crop_margin, no_face)
    if label_regex is None:
        if select_regex is not None:
            raise DataError("select_regex applies to flat folders: pass label_regex too")
        return load_folder("imagefolder", data_root, cache_dir, subject_regex, class_map, LAYOUT, conv)
    return load_flat("imagefolder", data_root, cache_dir, FlatLayout(
        label_regex, class_map, subject_regex, select_regex, FLAT_LAYOUT), conv, strict)


def load_ckplus(data_root, *, cache_dir=None, **options) -> FaceData:
    if options:
        raise DataError(f"ckplus takes no options, got {sorted(options)}")
    return load_folder("ckplus", data_root, cache_dir, CKPLUS_REGEX, CKPLUS_MAP, CKPLUS_LAYOUT, Conversion())


def load_folder(name, data_root, cache_dir, subject_regex, class_map, layout, conv: Conversion) -> FaceData:
    root = _root(name, data_root, layout)
    mapping = _class_mapping(root, class_map, layout)
    files = _image_files(root, mapping)
    regex = _compile("subject_regex", subject_regex, "the subject id")
    content_hash = sha256_tree([(rel, path) for rel, path, _ in files])
    options = {"subject_regex": subject_regex, "class_map": mapping, **conv.key(), "subjects": SUBJECT_IDS}
    return cached(
        cache_dir, name, content_hash, options,
        lambda: _decode(name, files, regex, content_hash, conv),
    )


@dataclass(frozen=True)
class FlatLayout:
    """How a flat folder's file names carry label and subject; `describe` is the layout
    named in errors."""

    label_regex: str
    class_map: dict | None
    subject_regex: str | None
    select_regex: str | None
    describe: str


def load_flat(name, data_root, cache_dir, layout: FlatLayout, conv: Conversion, strict: bool = False) -> FaceData:
    """A flat folder (sub-folders included) labelled by file name, per `layout`. Files whose
    names do not match, or whose code names no class, are left out and named in the
    notes; `strict` makes either an error. Files the layout's `select_regex` filters out
    (another view or angle) are left out quietly."""
    if not isinstance(strict, bool):
        raise DataError(f"{name}: strict must be True or False, got {strict!r}")
    root = _root(name, data_root, layout.describe)
    label = _compile("label_regex", layout.label_regex, "the label code")
    subject = _compile("subject_regex", layout.subject_regex, "the subject id")
    select = None if layout.select_regex is None else _compile("select_regex", layout.select_regex, None)
    if layout.class_map is not None:
        bad_values = {k: v for k, v in layout.class_map.items() if v not in EMOTIONS}
        if bad_values:
            raise DataError(f"class_map values {bad_values} are not in EMOTIONS {EMOTIONS}")
    found = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    files, unmatched, uncoded, filtered = [], [], {}, 0
    for path in found:
        rel = path.relative_to(root).as_posix()
        m = label.search(path.name)
        if m is None or not m.group(1):
            if strict:
                raise DataError(f"file name {path.name!r} ({path}) does not match label_regex {label.pattern!r}; "
                                f"expected {layout.describe}")
            unmatched.append(rel)
            continue
        if select is not None and select.search(path.name) is None:
            filtered += 1
            continue
        index = _code_label(m.group(1), path, layout, strict)
        if index is None:
            uncoded.setdefault(m.group(1), []).append(rel)
            continue
        files.append((rel, path, index))
    skipped = _skip_notes(unmatched, uncoded, layout)
    if not files:
        why = f" matching select_regex {layout.select_regex!r} ({filtered} did not)" if filtered else ""
        raise DataError(f"{root} has no images{why}{''.join(f'; {n}' for n in skipped)}; expected {layout.describe}")
    content_hash = sha256_tree([(rel, path) for rel, path, _ in files])
    options = {"label_regex": layout.label_regex, "class_map": layout.class_map,
               "subject_regex": layout.subject_regex, "select_regex": layout.select_regex, **conv.key(),
               "subjects": SUBJECT_IDS}
    data = cached(cache_dir, name, content_hash, options, lambda: _decode(name, files, subject, content_hash, conv))
    return replace(data, notes=data.notes + skipped) if skipped else data


def _code_label(code: str, path: Path, layout: FlatLayout, strict: bool) -> int | None:
    """The EMOTIONS index of a file's label code (matched without regard to case), or
    None when the code names no class (an error where `strict`)."""
    if layout.class_map is None:
        index = emotion_index(code)
        if index is None and strict:
            raise DataError(f"label code {code!r} of {path.name!r} is not an EMOTIONS name or synonym "
                            f"({', '.join(EMOTIONS)}); pass class_map={{code: emotion}}")
        return index
    emotion = layout.class_map.get(code)
    if emotion is None:
        folded = [v for k, v in layout.class_map.items() if k.casefold() == code.casefold()]
        emotion = folded[0] if len(set(folded)) == 1 else None
    if emotion is None:
        if strict:
            raise DataError(f"label code {code!r} of {path.name!r} is not in class_map; expected one of "
                            f"{sorted(layout.class_map)} (class_map {dict(layout.class_map)})")
        return None
    return EMOTIONS.index(emotion)


def _skip_notes(unmatched: list[str], uncoded: dict[str, list[str]], layout: FlatLayout) -> tuple[str, ...]:
    """What a forgiving load left out, the first few files named (strict=True fails instead)."""
    notes = []
    if unmatched:
        folders = sorted({rel.split("/")[0] + "/" for rel in unmatched if "/" in rel})
        where = f"; under {', '.join(folders[:SHOWN])}" if folders else ""
        notes.append(f"skipped {len(unmatched)} files whose names do not match label_regex "
                     f"'{layout.label_regex}': {listed(unmatched)}{where}")
    if uncoded:
        names = [rel for rels in uncoded.values() for rel in rels]
        known = f"class_map's codes {sorted(layout.class_map)}" if layout.class_map is not None else \
            "EMOTIONS names or synonyms (or pass class_map={code: emotion})"
        notes.append(f"skipped {len(names)} files whose label code ({', '.join(sorted(uncoded))}) is none of "
                     f"{known}: {listed(names)}")
    return tuple(notes)


def _root(name, data_root, layout) -> Path:
    if data_root is None:
        raise DataError(f"{name} needs data_root: {layout}")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; expected {layout}")
    return root


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


def _compile(option: str, pattern: str | None, group: str | None) -> re.Pattern | None:
    """`pattern` compiled; `group` names what its first group must capture (None: no group needed)."""
    if pattern is None:
        return None
    try:
        regex = re.compile(pattern)
    except (re.error, TypeError) as e:
        raise DataError(f"{option} {pattern!r} is not a valid regex: {e}") from None
    if group is not None and regex.groups < 1:
        raise DataError(f"{option} {pattern!r} needs a group capturing {group}")
    return regex


def _decode(name, files, regex, content_hash, conv: Conversion) -> FaceData:
    subjects = []
    if regex is not None:
        for _, path, _ in files:
            m = regex.search(path.name)
            if m is None or not m.group(1):
                raise DataError(
                    f"file name {path.name!r} ({path}) does not match subject_regex "
                    f"{regex.pattern!r}; its first group must capture the subject id"
                )
            subjects.append(m.group(1).strip().upper())
    decoded = decode([(rel, path) for rel, path, _ in files], conv)
    return FaceData(
        name=name,
        images=decoded.images,
        labels=np.array([label for _, _, label in files], np.int64)[decoded.kept],
        subjects=np.array(subjects)[decoded.kept] if regex is not None else None,
        usage=None,
        content_hash=content_hash,
        notes=decoded.notes,
    )

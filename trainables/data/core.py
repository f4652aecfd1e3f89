"""The one in-memory dataset type every loader returns, the label vocabulary, and the
error every bad input raises.

Labels are indices into `EMOTIONS`, whose first seven entries follow the FER2013 codes
(0=angry ... 6=neutral), so a FER2013 label is its CSV code unchanged. CK+'s contempt,
which FER2013 lacks, comes last.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

EMOTIONS: tuple[str, ...] = (
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt",
)

# Folder names seen in public FER datasets (CK+, JAFFE, RAF-DB exports, KDEF, ...).
SYNONYMS: dict[str, str] = {
    "anger": "angry", "mad": "angry",
    "disgusted": "disgust",
    "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happiness": "happy", "joy": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "calm": "neutral",
}

USAGES: tuple[str, ...] = ("train", "val", "test")


class DataError(ValueError):
    """A dataset, option or split request that cannot be used as given. The message
    says what was wrong and what was expected."""


def emotion_index(name: str) -> int | None:
    """Index into EMOTIONS of an emotion name or known synonym (case-insensitive)."""
    key = name.strip().lower()
    key = SYNONYMS.get(key, key)
    return EMOTIONS.index(key) if key in EMOTIONS else None


@dataclass(frozen=True, eq=False)
class FaceData:
    """Grayscale face images with labels, optional subject ids and optional official
    split. `content_hash` identifies the source (file bytes, or generator parameters
    for procedural data) and is kept unchanged by `subset`. `notes` say what a loader
    converted (grayscale, resize, face crops), for `data info`."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray | None
    usage: np.ndarray | None
    content_hash: str
    procedural: bool = False
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        n = len(self.images)
        if self.images.ndim != 3 or self.images.dtype != np.uint8:
            raise DataError(
                f"{self.name}: images must be uint8 N×H×W, got {self.images.dtype} "
                f"with shape {self.images.shape}"
            )
        if self.labels.shape != (n,) or self.labels.dtype != np.int64:
            raise DataError(f"{self.name}: labels must be int64 of shape ({n},)")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(EMOTIONS)):
            raise DataError(f"{self.name}: labels must index EMOTIONS (0..{len(EMOTIONS) - 1})")
        for field in ("subjects", "usage"):
            arr = getattr(self, field)
            if arr is not None and (arr.shape != (n,) or arr.dtype.kind != "U"):
                raise DataError(f"{self.name}: {field} must be a str array of shape ({n},) or None")
        if self.usage is not None:
            unknown = sorted(set(np.unique(self.usage)) - set(USAGES))
            if unknown:
                raise DataError(f"{self.name}: unknown usage {unknown}; expected one of {USAGES}")

    def __len__(self) -> int:
        return len(self.images)

    def classes(self) -> tuple[str, ...]:
        """EMOTIONS names present in the labels, in EMOTIONS order."""
        present = set(np.unique(self.labels).tolist())
        return tuple(e for i, e in enumerate(EMOTIONS) if i in present)

    def subset(self, idx) -> FaceData:
        idx = np.asarray(idx)
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return replace(
            self,
            images=self.images[idx],
            labels=self.labels[idx],
            subjects=pick(self.subjects),
            usage=pick(self.usage),
        )

    def n_subjects(self) -> int:
        """Distinct subject ids, 0 when the dataset has none."""
        return 0 if self.subjects is None else len(np.unique(self.subjects))

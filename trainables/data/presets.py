"""Posed-expression datasets as their distributions lay them out: one folder (sub-folders
allowed), the expression coded in each file name. Each preset is `imagefolder`'s flat
mode with the layout's regexes and class map, subject ids for subject-independent folds,
and, since these pictures show head, hair and background, a face crop resized to 48×48
by default (options `size`, `face_crop`, `crop_margin` override it).
"""

from __future__ import annotations

from trainables.data.convert import DEFAULT_MARGIN, Conversion
from trainables.data.core import DataError, FaceData
from trainables.data.imagefolder import FlatLayout, load_flat

PRESET_SIZE = 48

# JAFFE: KA.AN1.39.tiff = subject KA, expression AN, take 1, picture 39.
JAFFE = FlatLayout(
    label_regex=r"(?i)^[A-Z]{2}\.([A-Z]{2})\d*\.\d+\.tiff?$",
    class_map={"AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy", "NE": "neutral",
               "SA": "sad", "SU": "surprise"},
    subject_regex=r"^([A-Za-z]{2})\.",
    select_regex=None,
    describe="JAFFE: <root>/XX.EEn.NNN.tiff (subject XX, expression AN/DI/FE/HA/NE/SA/SU, take n, picture NNN)",
)

# KDEF: AF01ANS.JPG = session A, female 01, angry, straight view.
KDEF_VIEWS = ("FL", "HL", "S", "HR", "FR")
KDEF_MAP = {"AF": "fear", "AN": "angry", "DI": "disgust", "HA": "happy", "NE": "neutral", "SA": "sad",
            "SU": "surprise"}
KDEF_DESCRIBE = ("KDEF: <root>/[AB][FM]NN<EE><view>.JPG (session A/B, F/M + 2-digit id = subject, expression "
                 "AF/AN/DI/HA/NE/SA/SU, view FL/HL/S/HR/FR), optionally in per-sitting folders")

# RaFD: Rafd090_01_Caucasian_female_angry_frontal.jpg = camera angle 090 (frontal),
# subject 01, ethnicity, sex, emotion, gaze.
RAFD_ANGLES = ("000", "045", "090", "135", "180")
RAFD_EMOTIONS = {"angry": "angry", "contemptuous": "contempt", "disgusted": "disgust", "fearful": "fear",
                 "happy": "happy", "neutral": "neutral", "sad": "sad", "surprised": "surprise"}
RAFD_GAZES = ("frontal", "left", "right")
RAFD_DESCRIBE = ("RaFD: <root>/Rafd<angle>_<subject>_<ethnicity>_<sex>_<emotion>_<gaze>.jpg (angle 000..180, "
                 "090 frontal; emotion angry/contemptuous/disgusted/fearful/happy/neutral/sad/surprised; "
                 "gaze frontal/left/right)")


def load_jaffe(data_root, *, cache_dir=None, **options) -> FaceData:
    return load_flat("jaffe", data_root, cache_dir, JAFFE, _conversion("jaffe", options), options.get("strict", False))


def load_kdef(data_root, *, cache_dir=None, views=("S",), **options) -> FaceData:
    """`views`: the camera angles kept (FL, HL, S, HR, FR); the straight view by default."""
    views = _choice("kdef", "views", views, KDEF_VIEWS)
    layout = FlatLayout(
        label_regex=r"(?i)^[AB][FM]\d{2}(AF|AN|DI|HA|NE|SA|SU)(?:FL|HL|S|HR|FR)\.jpe?g$",
        class_map=KDEF_MAP,
        subject_regex=r"(?i)^[AB]([FM]\d{2})",
        select_regex=rf"(?i)^[AB][FM]\d{{2}}[A-Z]{{2}}({'|'.join(views)})\.jpe?g$",
        describe=KDEF_DESCRIBE,
    )
    return load_flat("kdef", data_root, cache_dir, layout, _conversion("kdef", options), options.get("strict", False))


def load_rafd(data_root, *, cache_dir=None, angles=("090",), gazes=RAFD_GAZES, **options) -> FaceData:
    """`angles`: camera angles kept (000, 045, 090, 135, 180; the frontal 090 by default);
    `gazes`: gaze directions kept (all by default)."""
    angles = _choice("rafd", "angles", angles, RAFD_ANGLES)
    gazes = _choice("rafd", "gazes", gazes, RAFD_GAZES)
    emotions = "|".join(RAFD_EMOTIONS)
    layout = FlatLayout(
        label_regex=rf"(?i)^Rafd\d{{3}}_\d+_[A-Z-]+_(?:fe)?male_({emotions})_(?:frontal|left|right)\.jpe?g$",
        class_map=RAFD_EMOTIONS,
        subject_regex=r"(?i)^Rafd\d{3}_(\d+)_",
        select_regex=rf"(?i)^Rafd({'|'.join(angles)})_.*_({'|'.join(gazes)})\.jpe?g$",
        describe=RAFD_DESCRIBE,
    )
    return load_flat("rafd", data_root, cache_dir, layout, _conversion("rafd", options), options.get("strict", False))


def _conversion(name: str, options: dict) -> Conversion:
    accepted = {"size", "face_crop", "crop_margin", "no_face", "strict"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        extra = {"kdef": ", views", "rafd": ", angles, gazes"}.get(name, "")
        raise DataError(f"{name}: unknown options {unknown}; accepted: size, face_crop, crop_margin, no_face, "
                        f"strict{extra}")
    return Conversion(options.get("size", PRESET_SIZE), options.get("face_crop", True),
                      options.get("crop_margin", DEFAULT_MARGIN), options.get("no_face", "centre"))


def _choice(name: str, option: str, value, known: tuple[str, ...]) -> tuple[str, ...]:
    """A str or sequence of str from `known`, as a sorted tuple (so that the cache key
    does not depend on the order given)."""
    chosen = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if not chosen or any(not isinstance(v, str) or v not in known for v in chosen):
        raise DataError(f"{name}: {option} must be one or more of {', '.join(known)}, got {value!r}")
    return tuple(sorted(set(chosen)))

"""`synthfaces`: a procedurally drawn stand-in for FER data, for smoke runs and tests
where no real dataset is available. Every output that uses it must say it is
procedural demo data (`FaceData.procedural` is True).

Each subject has fixed identity parameters (face shape, eye spacing and size, skin and
hair tone, brow thickness, mouth width, a resting expression bias). Each image draws
one of the seven FER2013 expressions as a vector of action-unit-like intensities
(Ekman's prototypes, e.g. surprise = AU1+2+5+26, fear = AU1+2+4+5+20+26) scaled by a
random intensity that is sometimes low, plus per-image pose, illumination and noise.
Fear and surprise share raised brows and an open mouth, sadness and anger share a
lowered brow, so the task is learnable but not trivially separable.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from trainables.data.cache import sha256_json
from trainables.data.core import EMOTIONS, DataError, FaceData
from trainables.data.synthdraw import AUS, render

VERSION = 1  # bump when the drawing changes, so content hashes change with it
FER2013_COUNTS = (4953, 547, 5121, 8989, 6077, 4002, 6198)

# Rows: angry, disgust, fear, happy, sad, surprise, neutral; columns follow AUS.
#            AU1  AU2  AU4  AU5  AU6  AU7  AU9  AU10 AU12 AU15 AU20 AU23 AU26
PROTOTYPES = np.array([
    [0.0, 0.0, 1.0, 0.4, 0.0, 0.8, 0.0, 0.2, 0.0, 0.0, 0.0, 0.9, 0.0],  # angry
    [0.0, 0.0, 0.5, 0.0, 0.2, 0.4, 1.0, 0.9, 0.0, 0.5, 0.0, 0.0, 0.1],  # disgust
    [0.9, 0.6, 0.6, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.9, 0.0, 0.5],  # fear
    [0.0, 0.0, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.35],  # happy
    [0.9, 0.0, 0.6, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.9, 0.0, 0.2, 0.0],  # sad
    [1.0, 1.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.8],  # surprise
    [0.0] * len(AUS),  # neutral
])
_INTS = ("n_images", "image_size", "n_subjects", "seed")


@dataclass(frozen=True)
class SynthOptions:
    n_images: int = 3000
    image_size: int = 48
    n_subjects: int = 60
    class_weights: tuple[float, ...] = tuple(float(c) for c in FER2013_COUNTS)
    seed: int = 0

    @classmethod
    def parse(cls, options: dict) -> SynthOptions:
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise DataError(
                f"synthfaces: unknown options {unknown}; accepted: {', '.join(known)}"
            )
        for name in set(_INTS) & set(options):
            if not isinstance(options[name], (int, np.integer)):
                raise DataError(f"synthfaces: {name} must be an integer, got {options[name]!r}")
        opts = cls(**{k: int(v) if k in _INTS else v for k, v in options.items()})
        if "class_weights" in options:
            opts = replace(opts, class_weights=_weights(options["class_weights"]))
        if "n_subjects" not in options:  # the default of 60 must not reject a tiny n_images
            opts = replace(opts, n_subjects=min(opts.n_subjects, max(1, opts.n_images)))
        if opts.n_images < 1 or not 16 <= opts.image_size <= 512:
            raise DataError("synthfaces: need n_images >= 1 and 16 <= image_size <= 512")
        if not 1 <= opts.n_subjects <= opts.n_images:
            raise DataError(
                f"synthfaces: n_subjects must be in 1..n_images, got {opts.n_subjects}"
            )
        return opts


def _weights(w) -> tuple[float, ...]:
    if isinstance(w, dict):
        unknown = sorted(set(w) - set(EMOTIONS[:7]))
        if unknown:
            raise DataError(f"synthfaces: class_weights keys {unknown} not in {EMOTIONS[:7]}")
        w = [w.get(e, 0.0) for e in EMOTIONS[:7]]
    w = tuple(float(x) for x in w)
    if len(w) != 7 or min(w) < 0 or sum(w) <= 0:
        raise DataError(
            f"synthfaces: class_weights must be 7 non-negative weights for {EMOTIONS[:7]} "
            f"with a positive sum, got {w}"
        )
    return w


def load(data_root=None, *, cache_dir=None, **options) -> FaceData:
    """Generate the dataset. `data_root` and `cache_dir` are ignored: nothing is read.
    Drawn once per process for the same options (a Tune worker runs trial after trial);
    every caller gets arrays of its own."""
    drawn = _drawn(SynthOptions.parse(options))
    return replace(drawn, images=drawn.images.copy(), labels=drawn.labels.copy(), subjects=drawn.subjects.copy())


@functools.lru_cache(maxsize=2)
def _drawn(opts: SynthOptions) -> FaceData:
    return generate(opts)


def load_labels(data_root=None, *, cache_dir=None, **options) -> FaceData:
    """The dataset without drawing its faces: labels, subjects and content hash as `load`
    gives them, the images one blank face repeated. For a launch's driver, which checks
    the splits and records the hash but trains nothing."""
    return generate(SynthOptions.parse(options), draw=False)


def generate(opts: SynthOptions, draw: bool = True) -> FaceData:
    root = np.random.SeedSequence([opts.seed, VERSION])
    rng_subject, rng_image = (np.random.default_rng(s) for s in root.spawn(2))
    identity = sample_identities(rng_subject, opts.n_subjects)

    n = opts.n_images
    p = np.asarray(opts.class_weights) / sum(opts.class_weights)
    labels = rng_image.choice(7, size=n, p=p).astype(np.int64)
    subject = rng_image.permutation(np.arange(n) % opts.n_subjects)
    params = {k: v[subject] for k, v in identity.items()}
    params["au"] = sample_action_units(rng_image, labels, params.pop("au_bias"))
    params.update(sample_conditions(rng_image, n))

    size = opts.image_size
    images = render(params, size, rng_image) if draw else np.broadcast_to(np.zeros((), np.uint8), (n, size, size))
    width = max(3, len(str(opts.n_subjects - 1)))
    subjects = np.array([f"synth_{s:0{width}d}" for s in subject])
    content_hash = sha256_json({"generator": "synthfaces", "version": VERSION, **asdict(opts)})
    return FaceData("synthfaces", images, labels, subjects, None, content_hash, procedural=True)


def sample_identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-subject identity parameters, in face units (the face spans about -0.7..0.7)."""
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(np.float32)  # noqa: E731
    skin = u(0.35, 0.85)
    bias = np.zeros((n, len(AUS)), np.float32)
    # a resting bias on a few AUs per subject: some people look a little sad or
    # smiling when neutral, which keeps neutral from being a perfectly clean class
    for row in bias:
        row[rng.choice(len(AUS), size=2, replace=False)] = rng.uniform(0.0, 0.3, 2)
    return {
        "face_rx": u(0.56, 0.72), "face_ry": u(0.74, 0.9), "skin": skin,
        "hair": np.clip(skin - u(0.15, 0.5), 0.03, 1), "hairline": u(-0.66, -0.42),
        "eye_x": u(0.22, 0.32), "eye_y": u(-0.2, -0.08), "eye_w": u(0.09, 0.13),
        "eye_open": u(0.45, 0.7), "brow_gap": u(0.11, 0.17), "brow_thick": u(0.022, 0.045),
        "brow_dark": u(0.25, 0.6), "brow_arch": u(0.0, 0.04), "nose_y": u(0.12, 0.22),
        "mouth_y": u(0.38, 0.5), "mouth_w": u(0.15, 0.22), "lip_thick": u(0.018, 0.035),
        "au_bias": bias,
    }


def sample_action_units(
    rng: np.random.Generator, labels: np.ndarray, bias: np.ndarray,
) -> np.ndarray:
    """N × len(AUS) intensities: prototype × intensity × per-AU jitter, plus the
    subject's resting bias and small involuntary activity."""
    n = len(labels)
    intensity = rng.uniform(0.15, 1.0, (n, 1))  # low end: subtle, easily confused expressions
    jitter = rng.uniform(0.6, 1.3, (n, len(AUS)))
    noise = np.abs(rng.normal(0.0, 0.1, (n, len(AUS))))
    au = PROTOTYPES[labels] * intensity * jitter + bias + noise
    return np.clip(au, 0.0, 1.2).astype(np.float32)


def sample_conditions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Pose, background, illumination gradient and sensor noise per image."""
    u = lambda lo, hi, size=n: rng.uniform(lo, hi, size).astype(np.float32)  # noqa: E731
    return {
        "angle": np.clip(rng.normal(0, 0.1, n), -0.25, 0.25).astype(np.float32),  # radians
        "shift": u(-0.08, 0.08, (n, 2)), "scale": u(1.15, 1.38),
        "background": u(0.1, 0.9), "bg_slope": u(-0.2, 0.2, (n, 2)),
        "light": u(-0.35, 0.35, (n, 2)), "noise": u(0.005, 0.035),
    }

"""What a FESR/FESGAN trial measures of its generator and logs as artifacts.

- `synthesis/psnr`, `synthesis/ssim` (their Table III protocol): each test image's face
  code decoded with the expression of another test image of the same subject, against
  that real image (full intensity, v = 1); only where the dataset has subject ids.
- `synthesis/fid_fer`, `synthesis/kid_fer`, `synthesis/agreement`: images decoded from the
  prior z with the training labels' expressions against the real training images, on
  the features of the real-data judge (trainables.core.judge: FID on FER-classifier features,
  not Inception), and the share the judge assigns to the intended expression.
- `synthesis/verification_rate` (their Table IV protocol, with our identity extractor):
  pairs of a real test image and a face decoded from its own code (same identity) or
  from another subject's code (different identity), one per expression each;
  verification accuracy on them at the cosine threshold that best separates the same kind
  of pairs built from the validation split (`synthesis/verification_threshold_val`; the
  validation pairs' own accuracy is `synthesis/verification_rate_val`).
- `synth/agreement`, `synth/real_recall`, `synth/chance` (FESR variants whose R trains
  on synthetic images, `synthesis_gate`): whether the images R is given show their
  labelled expression to a judge that reads real faces, beside that judge's own recall
  on real faces and chance; and `samples_synthesis.png`, those images as a grid.
- artifacts: `fesgan_samples.png` (inputs, reconstructions, each expression),
  `fesgan_intensity.png` (their Fig. 6: one face, each expression at five intensities),
  `fesgan_prior.png` (new identities from z), and `r_features.npz` (R's features of real
  test images and synthetic ones, for the t-SNE of their Fig. 9).
"""

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainables.core.judge import JudgeOptions, gate_numbers, real_data_judge
from trainables.core.metrics import frechet_distance, kernel_inception_distance, ssim_psnr
from trainables.gans.fesr_fit import FESRTrainer, expression_code, synthesize
from trainables.synthetic.identity import cosine_similarities, verification
from trainables.nets.fesgan import CODE_DIM

_CAP = 120  # test images used as probes (PSNR/SSIM pairs, verification)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x[:, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


@torch.no_grad()
def decode(trainer: FESRTrainer, codes: torch.Tensor, labels: torch.Tensor, intensity: torch.Tensor | float = 1.0,
           batch: int = 256) -> torch.Tensor:
    dec = trainer.nets["decoder"].eval()
    device = trainer.device
    out = []
    for i in range(0, len(codes), batch):
        y = labels[i:i + batch].to(device)
        v = torch.ones(len(y), trainer.k, device=device) * (intensity if isinstance(intensity, float)
                                                            else intensity[i:i + batch].to(device).unsqueeze(1))
        out.append(dec(codes[i:i + batch].to(device), expression_code(y, trainer.k, v)).cpu())
    return torch.cat(out)


@torch.no_grad()
def encode(trainer: FESRTrainer, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    enc = trainer.nets["encoder"].eval()
    return torch.cat([enc(images[i:i + batch].to(trainer.device)).cpu() for i in range(0, len(images), batch)])


def prior_codes(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, CODE_DIM, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def same_subject_pairs(subjects: np.ndarray, labels: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) index pairs: same subject, different expression."""
    src, tgt = [], []
    for i in range(len(subjects)):
        for j in np.nonzero((subjects == subjects[i]) & (labels != labels[i]))[0]:
            src.append(i)
            tgt.append(j)
    keep = np.random.default_rng(0).permutation(len(src))[:cap * 4]
    return np.asarray(src, int)[keep], np.asarray(tgt, int)[keep]


def synthesis_metrics(cfg, trainer: FESRTrainer, real, images: torch.Tensor, device, reporter,
                      identity=None) -> dict:
    splits, k = real.splits, trainer.k
    labels = torch.from_numpy(real.labels).long()
    test_x, test_y = images[splits.test], labels[splits.test]
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="ferlab-fesgan-") as tmp:
        _sample_grid(trainer, test_x[:8], Path(tmp) / "fesgan_samples.png")
        _intensity_sweep(trainer, test_x[:1], Path(tmp) / "fesgan_intensity.png")
        prior = decode(trainer, prior_codes(k * 6, cfg.seed), torch.arange(k * 6) % k)
        _save_grid(to_uint8(prior).reshape(6, k, *prior.shape[-2:]).transpose(1, 0, 2, 3),
                   Path(tmp) / "fesgan_prior.png")
        for name in ("fesgan_samples.png", "fesgan_intensity.png", "fesgan_prior.png"):
            reporter.log_artifact(str(Path(tmp) / name))
    if trainer.variant.recognizer:  # scored by R; the synthesis table is fesgan_ablation's
        return synthesis_gate(cfg, trainer, real, images, device, reporter)
    codes = encode(trainer, test_x)
    subjects = None if real.data.subjects is None else np.asarray(real.data.subjects)[splits.test]
    if subjects is not None:
        src, tgt = same_subject_pairs(subjects, test_y.numpy(), _CAP)
        if len(src):
            fake = to_uint8(decode(trainer, codes[src], test_y[tgt]))
            out["synthesis/ssim"], out["synthesis/psnr"] = ssim_psnr(fake, to_uint8(test_x[tgt]))
            out["synthesis/n_pairs"] = float(len(src))
        if identity is not None:
            val_subjects = np.asarray(real.data.subjects)[splits.val]
            out.update(_verification(trainer, identity, (images[splits.val], val_subjects), (test_x, subjects)))
    judge = trial_judge(cfg, real, k, device)
    train_y = labels[splits.train]
    generated = to_uint8(decode(trainer, prior_codes(len(train_y), cfg.seed + 1), train_y, 1.0))
    real_u8 = to_uint8(images[splits.train])
    fake_f, real_f = judge.features(generated), judge.features(real_u8)
    out["synthesis/fid_fer"] = frechet_distance(fake_f, real_f)
    out["synthesis/kid_fer"] = kernel_inception_distance(fake_f, real_f, subset_size=min(100, len(real_f)))
    probs = judge.probs(generated)
    out["synthesis/agreement"] = float(np.mean(probs.argmax(1) == train_y.numpy()))
    out["judge/val_acc"] = judge.val_acc
    return out


def trial_judge(cfg, real, k: int, device):
    """The real-data judge: trained on the real training split only (selected on
    validation), with a fixed seed whatever the trial's, so the trials of a study that
    share a split share one cached judge."""
    return real_data_judge(real.data.images, real.labels, real.splits.train, real.splits.val, k,
                           real.data.content_hash, JudgeOptions(width=cfg.judge_width, epochs=cfg.judge_epochs),
                           device, cfg.data.cache_dir)


@torch.no_grad()
def r_synthetic_images(trainer: FESRTrainer, val_x: torch.Tensor, seed: int, batch: int = 32) -> torch.Tensor:
    """Synthetic images made as the variant makes them for R (FESRTrainer.synthesize,
    intensities v ~ U(0, 1) as in training), n identities × K expressions, identity-major
    (row i, column c: identity i with expression c). Identities are prior codes z, or, for
    the variants that synthesise from g(x) (`synthetic_from` "gx", "gx_matched": the same
    map G_dec([g(x), u]), which the matched variant samples one expression at a time), g(x)
    of the real validation images (unseen by the GAN, not its training images).
    N×1×S×S, [-1, 1]."""
    k = trainer.k
    for name in ("encoder", "decoder"):
        trainer.nets[name].eval()
    gen = torch.Generator().manual_seed(seed)
    gx = trainer.variant.synthetic_from != "z"
    every_expression = dataclasses.replace(trainer.variant, synthetic_from="gx")
    n = min(_CAP, len(val_x)) if gx else _CAP
    v = torch.rand(n, k, generator=gen)
    z = prior_codes(n, seed)
    out = []
    for i in range(0, n, batch):
        part_v = v[i:i + batch].to(trainer.device)
        if gx:
            images, _ = synthesize(trainer.bundle, every_expression, k, val_x[i:i + batch].to(trainer.device), None,
                                   part_v, None)
        else:
            m = len(part_v)
            labels = torch.arange(k, device=trainer.device).repeat(m)
            images, _ = trainer.synthesize(None, labels, part_v.repeat_interleave(k, dim=0),
                                           z[i:i + batch].to(trainer.device).repeat_interleave(k, dim=0))
        out.append(images.cpu())
    return torch.cat(out)


def synthesis_gate(cfg, trainer: FESRTrainer, real, images: torch.Tensor, device, reporter,
                   rows: int = 8) -> dict:
    """`synth/agreement`: the share of R's kind of synthetic images (`r_synthetic_images`,
    every expression equally often) the judge calls their intended expression;
    `synth/real_recall`: the judge's mean per-class recall on real validation images (what
    agreement can be expected to reach); `synth/chance`: 1 / K. Logs `samples_synthesis.png`
    (a row per identity, a column per expression). `images`: every image, in the GAN's range."""
    k = trainer.k
    synthetic = to_uint8(r_synthetic_images(trainer, images[real.splits.val], cfg.seed + 3))
    intended = np.tile(np.arange(k), len(synthetic) // k)
    judge = trial_judge(cfg, real, k, device)
    val_y = real.labels[real.splits.val]
    val_pred = judge.probs(real.data.images[real.splits.val]).argmax(1)
    recalls = [float(np.mean(val_pred[val_y == c] == c)) for c in range(k) if np.any(val_y == c)]
    with tempfile.TemporaryDirectory(prefix="ferlab-synth-") as tmp:
        path = Path(tmp) / "samples_synthesis.png"
        _save_grid(synthetic[:rows * k].reshape(-1, k, *synthetic.shape[-2:]), path)
        reporter.log_artifact(str(path))
    called = judge.probs(synthetic).argmax(1)
    gate = gate_numbers(real.class_names, called, intended, val_pred, val_y)
    return {"synth/agreement": float(np.mean(called == intended)),
            "synth/real_recall": float(np.mean(recalls)), "synth/chance": 1 / k, "judge/val_acc": judge.val_acc,
            **gate}


def _verification(trainer, identity, val: tuple, test: tuple) -> dict:
    """Verification on test pairs at the threshold chosen on validation pairs; `val` and
    `test` are (images, subject ids). Nothing when either split makes no pairs."""
    val_pairs, test_pairs = _pair_similarities(trainer, identity, *val), _pair_similarities(trainer, identity, *test)
    if val_pairs is None or test_pairs is None:
        return {}
    return verification(*val_pairs, *test_pairs)


def _pair_similarities(trainer, identity, x: torch.Tensor, subjects: np.ndarray):
    """(cosine similarities, same-person flags) of the pairs of a split: up to _CAP real
    probes, each beside a face decoded from its own code and one from a stranger's (another
    subject of the split), for every expression; None when the split has no two subjects."""
    rng = np.random.default_rng(0)
    probes = rng.permutation(len(x))[:_CAP]
    codes = encode(trainer, x)
    k = trainer.k
    probe_img, gen_codes, gen_labels, same = [], [], [], []
    for i in probes:
        others = np.nonzero(subjects != subjects[i])[0]
        if not len(others):
            continue
        stranger = others[rng.integers(len(others))]
        for c in range(k):
            for source, is_same in ((i, True), (stranger, False)):
                probe_img.append(x[i])
                gen_codes.append(codes[source])
                gen_labels.append(c)
                same.append(is_same)
    if not same:
        return None
    generated = decode(trainer, torch.stack(gen_codes), torch.tensor(gen_labels))
    device = trainer.device
    return cosine_similarities(identity, torch.stack(probe_img).to(device), generated.to(device)), np.array(same)


def _save_grid(rows: np.ndarray, path: Path, scale: int = 2) -> None:
    """rows: R×C×H×W uint8 → one PNG."""
    image = np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0)
    Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST).save(path)


def _sample_grid(trainer: FESRTrainer, inputs: torch.Tensor, path: Path) -> None:
    """Per input (a row): the input, its reconstruction with no expression bias, then
    each expression at full intensity."""
    codes = encode(trainer, inputs)
    k, n = trainer.k, len(inputs)
    per_class = [to_uint8(decode(trainer, codes, torch.full((n,), c))) for c in range(k)]
    cells = np.stack([to_uint8(inputs), to_uint8(decode(trainer, codes, torch.zeros(n, dtype=torch.long), 0.0)),
                      *per_class], axis=1)
    _save_grid(cells, path)


def _intensity_sweep(trainer: FESRTrainer, face: torch.Tensor, path: Path) -> None:
    """Their Fig. 6: one face, a row per expression, intensity v from weak to strong."""
    code = encode(trainer, face)
    steps = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])
    rows = [to_uint8(decode(trainer, code.repeat(len(steps), 1), torch.full((len(steps),), c), steps))
            for c in range(trainer.k)]
    _save_grid(np.stack(rows), path)


def log_recognizer_features(trainer: FESRTrainer, test_x: torch.Tensor, test_y: np.ndarray, class_names, seed: int,
                            path: Path, reporter, per_class: int = 40) -> None:
    """`r_features.npz`: R_ext features of the real test images and of synthetic images of
    every class decoded from the prior (their Fig. 9), in the format analysis.manifold plots."""
    feats, labels, source = [trainer.features(test_x)], [np.asarray(test_y)], ["real"] * len(test_x)
    if trainer.variant.gan:
        k = trainer.k
        y = torch.arange(k * per_class) % k
        synthetic = decode(trainer, prior_codes(len(y), seed + 2), y, torch.rand(len(y), generator=torch.Generator()
                                                                                 .manual_seed(seed)))
        feats.append(trainer.features(synthetic))
        labels.append(y.numpy())
        source += ["generated"] * len(y)
    np.savez_compressed(path, features=np.concatenate(feats).astype(np.float32), labels=np.concatenate(labels),
                        source=np.array(source), class_names=np.array(class_names))
    reporter.log_artifact(str(path))

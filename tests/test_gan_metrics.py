"""Generated-image quality metrics on inputs with a known answer."""

import warnings

import numpy as np
import pytest
import torch

from trainables.core.metrics import classifier_agreement, frechet_distance, kernel_inception_distance, ssim_psnr


def test_frechet_distance_known_answers():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance, mean shifted by 1 in every one of 8 dims: FID ≈ ‖Δμ‖² = 8
    b = rng.normal(size=(2000, 8))
    assert frechet_distance(a, b + 1.0) == pytest.approx(8.0, abs=0.5)
    assert frechet_distance(a, b + 1.0) > frechet_distance(a, b + 0.5) > frechet_distance(a, b)



def _whitened(n: int, d: int, seed: int) -> np.ndarray:
    """n samples whose sample mean is exactly 0 and sample covariance (ddof 1) exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(0)
    return x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T


def test_frechet_distance_of_unequal_covariances_in_closed_form():
    """FID = ‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½), with the sets built to have exactly the
    statistics named: N(0, I) vs N(0, 4I) in 8-d is 8·(1 + 4 − 2·2) = 8; vs N(1, 4I), 8 + 8;
    vs diag(s²) with s = 1..8, Σ(s − 1)² = 140."""
    a = _whitened(400, 8, 0)
    assert frechet_distance(a, 2 * _whitened(400, 8, 1)) == pytest.approx(8.0, rel=1e-6)
    assert frechet_distance(a, 2 * _whitened(400, 8, 1) + 1.0) == pytest.approx(16.0, rel=1e-6)
    scales = np.arange(1.0, 9.0)
    assert frechet_distance(a, _whitened(400, 8, 2) * scales) == pytest.approx(140.0, rel=1e-6)


def test_frechet_distance_of_singular_covariances_in_closed_form():
    """Fewer images than feature dimensions make every covariance singular. Σa = diag(1, 0)
    against a full Σb = [[p, q], [q, r]]: ΣaΣb = [[p, q], [0, 0]] has eigenvalues p and 0,
    so Tr((ΣaΣb)^½) = √p and FID = 1 + p + r − 2√p, with no warning of a singular root."""
    z = _whitened(50, 2, 3)
    a = np.column_stack([z[:, 0], np.zeros(len(z))])
    p, q, r = 2.25, 0.6, 1.0
    b = _whitened(50, 2, 4) @ np.linalg.cholesky(np.array([[p, q], [q, r]])).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frechet_distance(a, b) == pytest.approx(1 + p + r - 2 * np.sqrt(p), rel=1e-9)
        x = np.pad(_whitened(400, 3, 0), ((0, 0), (0, 2)))  # two constant features
        assert frechet_distance(x, 2 * x) == pytest.approx(3.0, rel=1e-9)  # rank 3 of 5: 3·(1 − 2)²


def test_kid_on_two_points_by_hand():
    """k(x, y) = (x·y/2 + 1)³ in 2-d; unbiased MMD² over the only subset of size 2:
    a = (1,0), (0,1): k(a1, a2) = 1, so the off-diagonal mean of K_aa is 1; b = (1,1), (0,0):
    k(b1, b2) = 1, likewise 1; K_ab = [[1.5³, 1], [1.5³, 1]], mean (2·3.375 + 2)/4 = 2.1875.
    KID = 1 + 1 − 2·2.1875 = −2.375 (the biased form, diagonals included, would give 0.5625)."""
    a, b = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])
    assert kernel_inception_distance(a, b, n_subsets=3, subset_size=2) == pytest.approx(-2.375)
    assert kernel_inception_distance(b, a, n_subsets=3, subset_size=2) == pytest.approx(-2.375)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(500, 16)), rng.normal(size=(500, 16))
    same = kernel_inception_distance(a, b)
    assert abs(same) < 0.05
    assert kernel_inception_distance(a, b + 1.0) > kernel_inception_distance(a, b + 0.5) > same


def test_ssim_psnr():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(3, 48, 48), dtype=np.uint8)
    ssim, psnr = ssim_psnr(x, x)
    assert ssim == pytest.approx(1.0) and psnr == np.inf
    y = np.clip(x.astype(int) + 10, 0, 255).astype(np.uint8)
    mse = ((x.astype(float) - y) ** 2).mean(axis=(1, 2))
    assert ssim_psnr(x, y)[1] == pytest.approx(np.mean(10 * np.log10(255 ** 2 / mse)))
    assert ssim_psnr(x, y)[0] < 1.0



def test_ssim_of_flat_images_by_hand():
    """Flat images have no variance, so SSIM is its luminance term alone:
    (2·μa·μb + C1)/(μa² + μb² + C1), C1 = (0.01·255)²; the mean is over pairs."""
    c1 = (0.01 * 255) ** 2
    a = np.stack([np.full((8, 8), 100), np.full((8, 8), 50)]).astype(np.uint8)
    b = np.stack([np.full((8, 8), 200), np.full((8, 8), 50)]).astype(np.uint8)
    first = (2 * 100 * 200 + c1) / (100 ** 2 + 200 ** 2 + c1)
    assert ssim_psnr(a[:1], b[:1])[0] == pytest.approx(first, rel=1e-9)
    assert ssim_psnr(a, b)[0] == pytest.approx((first + 1.0) / 2, rel=1e-9)


def test_classifier_agreement():
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    assert classifier_agreement(probs, 1) == 0.75


def test_inception_fid_from_a_local_weights_file(tmp_path):
    """Standard FID needs Inception weights, which cannot be downloaded here: a local
    torchvision state dict is loaded (random weights stand in for the real file)."""
    from torchvision.models import inception_v3

    from trainables.core.inception import InceptionFeatures

    torch.manual_seed(0)
    path = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), path)
    inception = InceptionFeatures(path, torch.device("cpu"))
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 200, (24, 48, 48)).astype(np.uint8)
    feats = inception.features(faces)
    assert feats.shape == (24, 2048)
    assert np.array_equal(feats, inception.features(faces))  # eval mode: no batch statistics
    brighter = inception.features(np.clip(faces.astype(int) + 55, 0, 255).astype(np.uint8))
    assert np.abs(feats - brighter).mean() > 1e-4
    (tmp_path / "other.pth").write_bytes(b"")
    with pytest.raises(ValueError, match="state dict"):
        InceptionFeatures(tmp_path / "other.pth", torch.device("cpu"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        InceptionFeatures(tmp_path / "missing.pth", torch.device("cpu"))


def test_inception_score_by_hand():
    from trainables.core.metrics import inception_score

    assert inception_score(np.full((20, 5), 0.2), splits=2) == pytest.approx(1.0)  # no information
    assert inception_score(np.eye(4)[np.arange(20) % 4], splits=1) == pytest.approx(4.0, rel=1e-6)  # confident, even
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])
    kl = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)
    assert inception_score(probs, splits=1) == pytest.approx(np.exp(kl))

"""Generated-image quality metrics on inputs with a known answer."""

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

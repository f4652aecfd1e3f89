"""GAN losses, the intra-class loss and the schedules on cases worked by hand, with scores
whose sign and target matter. Written to kill the survivors of mutation testing
([tool.mutmut] in pyproject.toml); expected values are computed here from the formulas."""

import math

import pytest
import torch

from trainables.configs.fesr_variants import VARIANTS, get_variant, pretrained_gan_key
from trainables.gans.losses import (classification_loss, cycle_loss, disc_loss, gamma_at, gen_adv_loss,
                                    gradient_penalty, intra_class_loss, linear_decay, realness, reconstruction_loss)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_vanilla_losses_see_sign_and_target():
    # BCE with logits: target 1 costs softplus(−s), target 0 softplus(s)
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([1.0, -3.0])
    loss, logs = disc_loss("vanilla", real, fake)
    expected = 0.5 * ((softplus(-2) + softplus(1)) / 2 + (softplus(1) + softplus(-3)) / 2)
    assert loss.item() == pytest.approx(expected) and logs["loss_d"] == pytest.approx(expected)
    soft, _ = disc_loss("vanilla", real, fake, real_label=0.9)
    bce = lambda s, t: t * softplus(-s) + (1 - t) * softplus(s)  # noqa: E731
    assert soft.item() == pytest.approx(0.5 * ((bce(2, 0.9) + bce(-1, 0.9)) / 2 + (softplus(1) + softplus(-3)) / 2))
    g, logs = gen_adv_loss("vanilla", fake)
    assert g.item() == pytest.approx((softplus(-1) + softplus(3)) / 2) and logs["loss_g_adv"] == g.item()


def test_wgan_and_lsgan_signs_on_uneven_scores():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 2.0])
    loss, logs = disc_loss("wgan-gp", real, fake, real_label=0.9)  # WGAN ignores the soft label
    assert loss.item() == pytest.approx(1.5 - 3.0) and logs["loss_d"] == pytest.approx(-1.5)
    g, logs = gen_adv_loss("wgan-gp", fake)
    assert g.item() == pytest.approx(-1.5) and logs["loss_g_adv"] == pytest.approx(-1.5)
    assert gen_adv_loss("lsgan", fake)[1]["loss_g_adv"] == pytest.approx((0 + 1) / 2)
    assert disc_loss("lsgan", real, fake)[0].item() == pytest.approx(0.5 * ((1 + 9) / 2 + (1 + 4) / 2))


def test_unknown_adversarial_names_are_rejected_everywhere():
    with pytest.raises(ValueError, match="unknown adversarial loss 'hinge'; known: lsgan, vanilla, wgan-gp"):
        gen_adv_loss("hinge", torch.zeros(1))
    with pytest.raises(ValueError, match="unknown cycle loss 'l2'; known: l1, weighted"):
        cycle_loss("l2", torch.zeros(1), torch.zeros(1))


def test_gradient_penalty_interpolates_between_real_and_fake():
    # critic(x) = w·Σ x² has gradient 2w·x̂: with real = 2 and fake = 3 the interpolate is
    # 3 − α in each of 4 elements, so ‖∇‖ = 2w·(3 − α)·√4 = 4w(3 − α), for the drawn α
    w = torch.tensor(1.0, requires_grad=True)
    critic = lambda x: w * (x ** 2).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.full((3, 4), 2.0), torch.full((3, 4), 3.0)
    alpha = torch.rand(3, 1, generator=torch.Generator().manual_seed(7)).squeeze(1)
    expected = ((4 * (3 - alpha) - 1) ** 2).mean()
    got = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(7))
    assert got.item() == pytest.approx(expected.item())
    # the penalty trains the critic: d/dw mean((4w(3 − α) − 1)²) = mean(2(4w(3 − α) − 1)·4(3 − α))
    got.backward()
    assert w.grad.item() == pytest.approx((8 * (4 * (3 - alpha) - 1) * (3 - alpha)).mean().item())
    # given weights are used as they are
    assert gradient_penalty(critic, real, fake, alpha=alpha.view(3, 1)).item() == pytest.approx(expected.item())


def test_weighted_cycle_weights_each_image_by_its_realness():
    x = torch.zeros(2, 1, 2, 2)
    rec = torch.stack([torch.full((1, 2, 2), 1.0), torch.full((1, 2, 2), 3.0)])

    class Fixed(torch.nn.Module):  # mean scores 0 and 2: realness ½ and σ(2) (logits)
        def forward(self, a):
            return torch.tensor([[0.0, 0.0], [1.0, 3.0]])

        def features(self, a):
            return 2 * a

    w = [0.5, 1 / (1 + math.exp(-2))]
    loss, logs = cycle_loss("weighted", x, rec, disc=Fixed(), adv_mode="vanilla", gamma=0.25)
    # pixel L1 per image 1 and 3; feature L1 2 and 6; γ·feature + (1 − γ)·pixel = 1.25, 3.75
    assert loss.item() == pytest.approx((w[0] * 1.25 + w[1] * 3.75) / 2)
    assert logs["cyc_weight"] == pytest.approx(sum(w) / 2) and logs["loss_cyc"] == pytest.approx(loss.item())
    class NoFeatures(Fixed):  # γ = 0 needs no pass through D's features
        def features(self, a):
            raise AssertionError("features computed for γ = 0")

    lsgan, logs = cycle_loss("weighted", x, rec, disc=NoFeatures())  # clamp: 0 and 1, γ = 0: pixel only
    assert lsgan.item() == pytest.approx((0 * 1 + 1 * 3) / 2) and logs["cyc_weight"] == pytest.approx(0.5)
    l1, logs = cycle_loss("l1", x, rec)
    assert l1.item() == pytest.approx(2.0) and logs == {"loss_cyc": pytest.approx(2.0)}


def test_realness_is_detached_and_clamps_only_lsgan():
    score = torch.tensor([[3.0, -1.0], [-4.0, -2.0]], requires_grad=True)
    assert realness("lsgan", score).tolist() == [1.0, 0.0] and not realness("lsgan", score).requires_grad
    assert realness("vanilla", score).tolist() == pytest.approx([0.7310585786, 1 / (1 + math.exp(3))])


def test_classification_and_reconstruction_losses_by_hand():
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    assert classification_loss(logits, torch.tensor([1, 0])).item() == pytest.approx(
        (-math.log(3 / 4) + math.log(2)) / 2)
    original = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    assert reconstruction_loss(original, torch.tensor([[1.0, -3.0], [0.0, 0.0]])).item() == 1.0  # |1| + |3|, / 4


def test_intra_class_distances_are_batch_means_of_euclidean_norms():
    f_x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    f_pr = torch.tensor([[3.0, 4.0], [1.0, 1.0]])  # distances 5 and 0
    f_pf = torch.tensor([[0.0, 1.0], [4.0, 5.0]])  # distances 1 and 5
    for rdbp in (True, False):
        rr, rf = intra_class_loss(f_x, f_pr, f_pf, rdbp)
        assert (rr.item(), rf.item()) == (2.5, 3.0)


def test_gamma_and_decay_schedules_at_their_edges():
    assert gamma_at("linear", 0.8, 1, 1) == pytest.approx(0.8)  # one epoch: max(epochs − 1, 1) avoids 0/0
    assert gamma_at("linear", 0.8, 1.5, 4) == pytest.approx(0.4)
    assert linear_decay(6, 10) == pytest.approx(0.8) and linear_decay(9, 10) == pytest.approx(0.2)
    assert linear_decay(3, 10, decay_start=0.2) == pytest.approx(0.875)
    assert linear_decay(12, 10) == 0.0 and linear_decay(0, 0) == 1.0 and linear_decay(1, 1) == 0.0
    with pytest.raises(ValueError, match="unknown γ schedule 'cosine'; known: constant, linear"):
        gamma_at("cosine", 1.0, 0, 5)


def test_variant_lookup_and_the_stage1_key():
    assert get_variant("FESR_JL") is VARIANTS["FESR_JL"]
    with pytest.raises(ValueError, match="unknown FESR variant 'FESR'; known: BASELINE, FESR_OneSt"):
        get_variant("FESR")
    fg = VARIANTS["FG"]
    assert pretrained_gan_key(fg) == (True, True, True, True, True)
    assert pretrained_gan_key(VARIANTS["FG-CO"]) == (False, False, True, True, True)
    assert pretrained_gan_key(VARIANTS["FG-Dimg"]) == (True, True, False, False, True)
    assert pretrained_gan_key(VARIANTS["FG-Dz"]) == (True, True, True, True, False)
    assert pretrained_gan_key(VARIANTS["FG-IP"]) == (True, False, True, True, True)


def test_an_unknown_adversarial_loss_is_named_with_the_known_ones():
    score = torch.zeros(2)
    with pytest.raises(ValueError, match=r"unknown adversarial loss 'hinge'; known: lsgan, vanilla, wgan-gp"):
        disc_loss("hinge", score, score)

"""GAN losses against hand-computed values, and the γ schedule."""

import math

import pytest
import torch

from trainables.gans.losses import (cycle_loss, disc_loss, gamma_at, gen_adv_loss, gradient_penalty, linear_decay,
                               realness)
from trainables.nets.cyclegan import create_cyclegan


def test_lsgan_by_hand():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.5])
    loss, logs = disc_loss("lsgan", real, fake)
    # ½·(mean((1−1)², (0.5−1)²) + mean(0², 0.5²)) = ½·(0.125 + 0.125)
    assert loss.item() == pytest.approx(0.125) and logs["loss_d"] == pytest.approx(0.125)
    soft, _ = disc_loss("lsgan", real, fake, real_label=0.9)
    assert soft.item() == pytest.approx(0.5 * ((0.01 + 0.16) / 2 + 0.125))
    assert gen_adv_loss("lsgan", fake)[0].item() == pytest.approx((1.0 + 0.25) / 2)


def test_vanilla_and_wgan_by_hand():
    """Asymmetric scores, so a swapped target, a flipped sign or a dropped ½ gives another number.
    BCE with logits: −log σ(s) = log(1 + e^−s) for target 1, log(1 + e^s) for target 0."""
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2
    d_fake = (math.log1p(math.exp(0.5)) + math.log1p(math.exp(-3.0))) / 2
    assert disc_loss("vanilla", real, fake)[0].item() == pytest.approx(0.5 * (d_real + d_fake), rel=1e-6)
    sigmoid = [1 / (1 + math.exp(-v)) for v in (2.0, -1.0)]
    soft_real = -sum(0.9 * math.log(p) + 0.1 * math.log(1 - p) for p in sigmoid) / 2
    assert disc_loss("vanilla", real, fake, real_label=0.9)[0].item() == pytest.approx(0.5 * (soft_real + d_fake),
                                                                                       rel=1e-6)
    g_fake = (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(3.0))) / 2  # non-saturating: target 1 on fakes
    assert gen_adv_loss("vanilla", fake)[0].item() == pytest.approx(g_fake, rel=1e-6)
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -3.0])
    assert disc_loss("wgan-gp", real, fake)[0].item() == pytest.approx(-1.0 - 3.0)  # E[D(fake)] − E[D(real)]
    assert gen_adv_loss("wgan-gp", fake)[0].item() == pytest.approx(1.0)  # −E[D(fake)]


def test_gradient_penalty_of_a_1_lipschitz_critic_is_zero():
    critic = lambda x: x.flatten(1).sum(1) / x[0].numel() ** 0.5  # noqa: E731  (‖∇‖ = 1 everywhere)
    real, fake = torch.rand(4, 1, 6, 6), torch.rand(4, 1, 6, 6)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    steep = lambda x: 3 * critic(x)  # noqa: E731
    assert gradient_penalty(steep, real, fake).item() == pytest.approx(4.0)


def test_weighted_cycle_with_gamma_zero_and_full_trust_is_plain_l1():
    torch.manual_seed(0)
    x, rec = torch.rand(4, 1, 48, 48), torch.rand(4, 1, 48, 48)

    class Certain(torch.nn.Module):  # a discriminator sure that every image is real
        def forward(self, a):
            return torch.ones(a.shape[0], 1, 3, 3)

        def features(self, a):
            return a

    plain, _ = cycle_loss("l1", x, rec)
    weighted, logs = cycle_loss("weighted", x, rec, disc=Certain(), adv_mode="lsgan", gamma=0.0)
    assert weighted.item() == pytest.approx(plain.item()) and logs["cyc_weight"] == 1.0
    assert plain.item() == pytest.approx((x - rec).abs().mean().item())
    # γ = 1 with f_D = identity is the same L1 again, now through the features
    assert cycle_loss("weighted", x, rec, disc=Certain(), gamma=1.0)[0].item() == pytest.approx(plain.item())


def test_weighted_cycle_is_weighted_by_realness_and_trains_only_the_generator_path():
    nets = create_cyclegan(width=0.125, n_blocks=1)
    x = torch.rand(2, 1, 48, 48) * 2 - 1
    rec = nets.generator_tr(nets.generator_rt(x))
    loss, logs = cycle_loss("weighted", x, rec, disc=nets.disc_r, adv_mode="vanilla", gamma=0.5)
    loss.backward()
    assert 0 < logs["cyc_weight"] < 1
    assert nets.generator_rt.net[0].weight.grad is not None
    # D(a) is a weight, not a target: no gradient reaches the discriminator's head from it
    assert nets.disc_r.head[1].weight.grad is None


def test_realness_range():
    assert realness("lsgan", torch.tensor([[2.0], [-1.0]])).tolist() == [1.0, 0.0]
    assert realness("wgan-gp", torch.tensor([[0.0]])).item() == pytest.approx(0.5)


def test_gamma_schedules():
    assert [gamma_at("linear", 0.5, e, 5) for e in range(5)] == pytest.approx([0, 0.125, 0.25, 0.375, 0.5])
    assert gamma_at("linear", 1.0, 10, 5) == 1.0
    assert gamma_at("constant", 0.75, 0, 5) == 0.75
    assert [linear_decay(s, 10) for s in (0, 4, 5, 10)] == pytest.approx([1, 1, 1, 0])


@pytest.mark.parametrize("bad", [lambda: disc_loss("hinge", torch.zeros(1), torch.zeros(1)),
                                 lambda: cycle_loss("l2", torch.zeros(1), torch.zeros(1)),
                                 lambda: gamma_at("cosine", 1.0, 0, 5)])
def test_unknown_names_list_known(bad):
    with pytest.raises(ValueError, match="known"):
        bad()


def test_cyclegan_shapes():
    nets = create_cyclegan(width=0.125, n_blocks=2)
    x = torch.rand(3, 1, 48, 48) * 2 - 1
    fake = nets.generator_rt(x)
    assert fake.shape == x.shape and fake.abs().max() <= 1
    assert nets.disc_t(fake).shape == (3, 1, 3, 3)
    assert set(nets.modules()) == {"generator_rt", "generator_tr", "disc_r", "disc_t"}
    critic = create_cyclegan(width=0.125, n_blocks=2, disc_norm="layer").disc_t
    assert critic(fake).shape == (3, 1, 3, 3)
    # layer norm: each image's score is its own, whatever else is in the batch
    assert torch.allclose(critic(fake[:1]), critic(fake)[:1], atol=1e-6)
    with pytest.raises(ValueError, match="known: batch, layer"):
        create_cyclegan(width=0.125, n_blocks=1, disc_norm="instance")


def test_gradient_penalty_of_a_linear_critic_on_vectors():
    # critic(x) = w·x has gradient w everywhere: the penalty is (‖w‖ − 1)², on any batch shape.
    critic = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0)).item() == pytest.approx(16.0)

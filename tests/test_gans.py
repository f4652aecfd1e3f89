"""The GAN contract, for every registered GAN at tiny sizes on the CPU: each pure step
returns a finite loss and the logs it promises; and a loop saved with the checkpoint
helper and restored into fresh nets and optimisers continues bit for bit as the
uninterrupted loop does."""

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from trainables.gans.cyclegan_fit import GANOptions, train_step
from trainables.gans.dcgan_fit import DCGANOptions, DCGANTrainer
from trainables.gans.fesr_fit import FESROptions, FESRTrainer
from trainables.configs.fesr_variants import VARIANTS
from trainables.gans import cyclegan, dcgan, fesgan
from trainables.gans.checkpoint import load_checkpoint, save_checkpoint
from trainables.gans.contract import GANBundle
from trainables.gans.registry import get_gan, list_gans
from trainables.gans.stargan_fit import StarGANOptions, StarGANTrainer
from trainables.nets.dcgan import Z_DIM

CPU = torch.device("cpu")
SIZE = 48


@dataclass
class Case:
    """A GAN's loop at a tiny size (`loop.bundle`, `loop.step(t)`) and one call of each of
    its registered steps on a batch, with the log keys that step promises."""

    loop: object
    steps: dict[str, tuple[Callable[[], tuple], set[str]]]


def _images(n: int, seed: int = 0, size: int = SIZE) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


class CycleGANLoop:
    """trainables.gans.cyclegan_fit's step with fixed γ and learning rates (the schedules are
    the epoch loop's); wgan-gp with two critic updates and the weighted cycle loss, so the
    gradient penalty's draws and the discriminator features are exercised."""

    OPTS = GANOptions(epochs=1, batch_size=2, lr_g=2e-4, lr_d=1e-4, adv_loss="wgan-gp", cycle_loss="weighted",
                      gamma_max=0.5, gamma_schedule="constant", lambda_cyc=10.0, real_label=0.9, lr_decay=False,
                      gp_weight=10.0, width=0.0625, n_blocks=1, seed=0, n_critic=2)

    def __init__(self, seed: int):
        o = self.OPTS
        torch.manual_seed(seed)
        self.bundle = get_gan("cyclegan").build(o.adv_loss, o.width, o.n_blocks, o.lr_g, o.lr_d, CPU)
        self.reference, self.target = _images(6, 1, 32), _images(5, 2, 32)  # any multiple of 16 will do

    def batch(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.reference[torch.randint(6, (2,), generator=gen)],
                self.target[torch.randint(5, (2,), generator=gen)])

    def step(self, t: int) -> dict:
        gen = torch.Generator().manual_seed(t)
        self.bundle.train()
        return train_step(self.bundle, [self.batch(gen) for _ in range(self.OPTS.n_critic)], self.OPTS, 0.5, gen)


def cyclegan_case(seed: int) -> Case:
    loop, spec = CycleGANLoop(seed), get_gan("cyclegan")
    batch = loop.batch(torch.Generator().manual_seed(0))
    fakes = cyclegan.translate(loop.bundle, *batch)
    losses = cyclegan.CycleGANLosses("wgan-gp", "weighted", 10.0, 0.9, 10.0)
    return Case(loop, {
        "d_step": (lambda: spec.d_step(loop.bundle, batch, fakes, losses, torch.Generator()), {"loss_d"}),
        "g_step": (lambda: spec.g_step(loop.bundle, batch, fakes, losses, 0.5),
                   {"loss_g", "loss_g_adv", "loss_cyc", "cyc_weight"})})


def dcgan_case(seed: int) -> Case:
    loop, spec = DCGANTrainer(DCGANOptions(batch_size=4, width=0.0625, size=SIZE, seed=seed), _images(10), CPU), \
        get_gan("dcgan")
    batch = (_images(4, 3), torch.randn(4, Z_DIM))
    fake = dcgan.generate(loop.bundle, batch)
    return Case(loop, {"d_step": (lambda: spec.d_step(loop.bundle, batch, fake), {"loss_d"}),
                       "g_step": (lambda: spec.g_step(loop.bundle, batch, fake), {"loss_g"})})


def stargan_case(seed: int) -> Case:
    opts = StarGANOptions(batch_size=4, n_critic=2, width=0.0625, n_blocks=1, size=SIZE, seed=seed)
    loop, spec = StarGANTrainer(opts, 6, _images(10), torch.arange(10) % 6, CPU), get_gan("stargan")
    batch = (_images(4, 3), torch.tensor([0, 1, 2, 3]), torch.tensor([5, 4, 3, 2]))
    return Case(loop, {
        "d_step": (lambda: spec.d_step(loop.bundle, batch, loop.weights, torch.Generator()), {"d_adv", "d_cls", "d_gp"}),
        "g_step": (lambda: spec.g_step(loop.bundle, batch, loop.weights), {"g_adv", "g_cls", "g_rec"})})


def fesgan_case(seed: int) -> Case:
    """The full method (FESR_JL) with a frozen stand-in identity net; three stage-1 and three
    stage-2 iterations, so a save after three has R's optimiser still empty and the
    restored run must take R's first steps exactly."""
    k = 3
    torch.manual_seed(123)
    identity = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE, 8)).requires_grad_(False)
    opts = FESROptions(size=SIZE, gan_width=0.0625, r_width=0.0625, batch_size=4, pretrain_iters=3, joint_iters=3,
                       seed=seed)
    loop, spec = FESRTrainer(VARIANTS["FESR_JL"], opts, k, _images(12), torch.arange(12) % k, CPU, identity), \
        get_gan("fesgan")
    batch = loop._draw(0)
    tr = fesgan.translate(loop.bundle, batch, k)
    synthetic = loop.synthesize(batch["x"], batch["y"], batch["v_pf"], batch["z"])
    lam = opts.lambdas
    return Case(loop, {
        "d_step": (lambda: spec.d_step(loop.bundle, batch, tr.x_hat, lam, opts.gp_weight, True),
                   {"d_adv_img", "gp", "d_cls_real"}),
        "dz_step": (lambda: spec.extra_steps["dz_step"](loop.bundle, batch, tr.code), {"d_z"}),
        "r_step": (lambda: spec.extra_steps["r_step"](loop.bundle, batch, synthetic, lam, loop.variant),
                   {"r_cls_real", "r_cls_fake", "intra_rr", "intra_rf"}),
        "g_step": (lambda: spec.g_step(loop.bundle, batch, tr, lam, loop.variant, identity, synthetic),
                   {"g_adv_img", "g_cls_d", "g_adv_z", "rec", "id", "g_cls_r"})})


CASES = {"cyclegan": cyclegan_case, "dcgan": dcgan_case, "stargan": stargan_case, "fesgan": fesgan_case}


def test_every_registered_gan_has_a_case_and_unknown_names_fail():
    assert sorted(CASES) == list_gans()
    with pytest.raises(ValueError, match="known GANs: cyclegan, dcgan, fesgan, stargan"):
        get_gan("biggan")


@pytest.mark.parametrize("name", list_gans())
def test_each_step_returns_a_finite_loss_and_its_stated_logs(name):
    spec, case = get_gan(name), CASES[name](seed=0)
    assert set(case.steps) == {"d_step", "g_step", *spec.extra_steps}
    for step, (call, keys) in case.steps.items():
        loss, logs = call()
        assert loss.dim() == 0 and loss.requires_grad and torch.isfinite(loss), (step, loss)
        assert set(logs) == keys, step
        # detached scalar tensors (no host sync in a step: trainables.gans.contract)
        assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad and math.isfinite(v)
                   for v in logs.values()), (step, logs)


def _state(bundle) -> dict[str, torch.Tensor]:
    return {f"{net}.{k}": v for net, m in bundle.nets.items() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("name", list_gans())
def test_restored_checkpoint_continues_bit_for_bit(name, tmp_path):
    n, m = 3, 3
    whole = CASES[name](seed=0).loop
    for t in range(n):
        whole.step(t)
    save_checkpoint(tmp_path / "gan.pt", whole.bundle, t=n)
    whole_logs = [whole.step(t) for t in range(n, n + m)]

    restored = CASES[name](seed=0).loop
    with torch.no_grad():  # other weights than a fresh build's: only the checkpoint can make them equal
        for p in restored.bundle.parameters():
            p.add_(1.0)
    start = load_checkpoint(tmp_path / "gan.pt", restored.bundle)["t"]
    restored_logs = [restored.step(t) for t in range(start, start + m)]

    assert restored_logs == whole_logs
    a, b = _state(whole.bundle), _state(restored.bundle)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


def _tiny_bundle(seed: int) -> GANBundle:
    torch.manual_seed(seed)
    nets = {"generator": torch.nn.Linear(3, 2), "disc": torch.nn.Linear(2, 1)}
    return GANBundle(nets, {k: torch.optim.Adam(n.parameters()) for k, n in nets.items()})


@pytest.mark.parametrize("fail_in", ["save", "replace"])
def test_checkpoint_write_failing_part_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch, fail_in):
    """A save that dies half-way through torch.save, or at the rename, leaves the last good
    checkpoint in place and no temporary file; the next save writes the new one."""
    bundle, path = _tiny_bundle(0), tmp_path / "gan.pt"
    save_checkpoint(path, bundle, t=1)
    saved_at_1 = {k: v.clone() for k, v in _state(bundle).items()}
    with torch.no_grad():
        for p in bundle.parameters():
            p.add_(1.0)
    real_save = torch.save

    def half_save(obj, file):
        real_save(obj, file)
        Path(file).write_bytes(Path(file).read_bytes()[:64])
        if fail_in == "save":
            raise OSError("disk full")

    def failing_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(torch, "save", half_save)
    if fail_in == "replace":
        monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        save_checkpoint(path, bundle, t=2)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gan.pt"]

    fresh = _tiny_bundle(1)
    assert load_checkpoint(path, fresh)["t"] == 1
    assert all(torch.equal(v, saved_at_1[k]) for k, v in _state(fresh).items())
    save_checkpoint(path, bundle, t=2)
    assert load_checkpoint(path, fresh)["t"] == 2
    assert all(torch.equal(v, _state(bundle)[k]) for k, v in _state(fresh).items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gan.pt"]

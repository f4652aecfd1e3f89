"""Fused trials (trainables.fused): K members trained as one stacked model are, member by
member, the K unfused trials with the same seeds and data (FESR and the classifier) — losses at every iteration,
final weights and predictions — up to float rounding, on the CPU."""

import pytest
import torch

from trainables.core.fit import FitOptions, TensorSplit, _train_epoch, make_optimizer, predict
from trainables.fused.classifier import FusedClassifier
from trainables.fused.device_draws import DeviceDraws
from trainables.fused.fesr import FusedFESRTrainer
from trainables.gans.fesr_fit import FESROptions, FESRTrainer
from trainables.configs.fesr_variants import VARIANTS
from trainables.nets.classifiers import SimpleClassifier
from trainables.nets.fesgan import CODE_DIM, IdentityNet

CPU = torch.device("cpu")
SIZE, K, N_CLASSES = 48, 3, 3
# Batched kernels add in another order than K separate ones; over a few Adam steps the
# members' losses stay within this relative tolerance of their unfused trials'.
RTOL, ATOL = 1e-4, 1e-5
# FESR's members are compared in float64: in float32 the kernels' rounding flips the odd
# ReLU or max-pool choice near a tie and Adam's normalised steps carry it a step of lr into
# a few weights, where float64 keeps every value within these of its unfused trial's.
RTOL_64, ATOL_64 = 1e-9, 1e-10


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _member_data(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Member i's own training set (another fold: other images, another size)."""
    n = 12 + i
    images = torch.rand(n, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(100 + i)) * 2 - 1
    return images, (torch.arange(n) + i) % N_CLASSES


def _identity(i: int):
    torch.manual_seed(50 + i)
    return IdentityNet(SIZE, 4, 0.125).eval().requires_grad_(False).features


def _opts(seed: int, **kw) -> FESROptions:
    return FESROptions(**{"size": SIZE, "gan_width": 0.0625, "r_width": 0.0625, "batch_size": 4, "pretrain_iters": 2,
                          "joint_iters": 3, "seed": seed, **kw})


@pytest.mark.parametrize("variant, identity", [("FESR_JL", "own"), ("FESR_JL", "shared"), ("FESR_Real", "own"),
                                               ("FESR_Real-matched", "own")])
def test_fused_members_train_as_their_unfused_trials(variant, identity, float64):
    """FESR_JL has every term (both discriminators, L_id through each member's own identity
    net or one all members share, as a loaded file is shared, R's dropout, the intra-class
    loss); FESR_Real synthesises from g(x) into all K expressions, FESR_Real-matched into the
    next input's expression. Five iterations cross from stage 1 into stage 2."""
    v, seeds = VARIANTS[variant], [0, 7, 3]
    shared = _identity(9)
    identities = ([_identity(i) if identity == "own" else shared for i in range(K)]) if v.identity else None
    data = [_member_data(i) for i in range(K)]
    fused = FusedFESRTrainer(v, [_opts(s) for s in seeds], N_CLASSES, data, CPU, identities)
    singles = [FESRTrainer(v, _opts(s), N_CLASSES, *data[i], CPU, identities[i] if identities else None)
               for i, s in enumerate(seeds)]
    assert fused.total_iters == singles[0].total_iters == 5

    for t in range(fused.total_iters):
        fused_logs = fused.step(t)
        for i, single in enumerate(singles):
            logs = single.step(t)
            assert sorted(logs) == sorted(fused_logs)
            for name, value in logs.items():
                assert fused_logs[name][i].item() == pytest.approx(value, rel=RTOL_64, abs=ATOL_64), (t, i, name)

    probe = torch.rand(10, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(9)) * 2 - 1
    for i, single in enumerate(singles):
        state, own = fused.member_state(i), single.state_dict()
        assert fused.recognizer_steps == single.recognizer_steps == 3
        for net, weights in own["nets"].items():
            for key, value in weights.items():
                torch.testing.assert_close(state["nets"][net][key], value, rtol=RTOL_64, atol=ATOL_64,
                                           msg=f"{net}.{key}")
        as_single = FESRTrainer(v, _opts(seeds[i]), N_CLASSES, *data[i], CPU)
        as_single.load_state_dict(state)
        for name, (a, b) in _outputs(as_single, single, probe).items():
            # against the output's scale: an output near zero (the tanh image's) differs by the
            # same rounding as one near 1, which the element's own relative tolerance cannot allow
            torch.testing.assert_close(a, b, rtol=0, atol=RTOL_64 * b.abs().max().item(), msg=name)


def _zero_in(net, opt, key: str) -> bool:
    """A bias feeding a normalisation (batch, instance or group norm) has no effect and a
    zero gradient in exact arithmetic; Adam scales its rounding noise up to ±lr a step, so
    the fused and unfused values of it differ by that much without any output differing."""
    param = dict(net.named_parameters()).get(key)
    return (param is not None and "exp_avg_sq" in opt.state.get(param, {})
            and bool(opt.state[param]["exp_avg_sq"].max() < 1e-12))


@torch.no_grad()
def _outputs(a: FESRTrainer, b: FESRTrainer, probe: torch.Tensor) -> dict:
    """Every net's output on probe images, for two trainers (eval mode: no dropout)."""
    a.bundle.eval(), b.bundle.eval()
    out = {}
    u = torch.rand(len(probe), N_CLASSES, generator=torch.Generator().manual_seed(1))
    for name in a.nets:
        if name == "decoder":
            code = torch.rand(len(probe), CODE_DIM, generator=torch.Generator().manual_seed(2)) * 2 - 1
            out[name] = (a.nets[name](code, u), b.nets[name](code, u))
        elif name == "d_z":
            code = torch.rand(len(probe), CODE_DIM, generator=torch.Generator().manual_seed(3)) * 2 - 1
            out[name] = (a.nets[name](code), b.nets[name](code))
        else:
            pa, pb = a.nets[name](probe), b.nets[name](probe)
            out[name] = (torch.cat([t.flatten() for t in pa]), torch.cat([t.flatten() for t in pb])) \
                if isinstance(pa, tuple) else (pa, pb)
    return out


def test_a_member_checkpoint_resumes_as_its_unfused_trial():
    """A member's state is an unfused checkpoint: loaded into a fresh single trainer (or
    into a fresh fused one) it continues exactly as the fused run does."""
    v, seeds = VARIANTS["FESR_JL"], [4, 5]
    data = [_member_data(i) for i in range(2)]
    fused = FusedFESRTrainer(v, [_opts(s, pretrain_iters=1) for s in seeds], N_CLASSES, data, CPU)
    for t in range(2):
        fused.step(t)
    saved = fused.state_dict()
    resumed = FusedFESRTrainer(v, [_opts(s, pretrain_iters=1) for s in seeds], N_CLASSES, data, CPU)
    resumed.load_state_dict(saved)
    single = FESRTrainer(v, _opts(seeds[1], pretrain_iters=1), N_CLASSES, *data[1], CPU)
    single.load_state_dict(saved["members"][1])
    for t in range(2, 4):
        a, b, c = fused.step(t), resumed.step(t), single.step(t)
        assert {k: x.tolist() for k, x in a.items()} == {k: x.tolist() for k, x in b.items()}
        assert all(a[k][1].item() == pytest.approx(c[k], rel=RTOL, abs=ATOL) for k in c)


def test_members_with_their_own_loss_weights_train_as_their_unfused_trials(float64):
    """Each member weighs its own losses: λ1..λ6 differ by member (FESR_JL, every term)."""
    v, seeds = VARIANTS["FESR_JL"], [0, 7, 3]
    lambdas = [(1.0, 10.0, 5.0, 1.0, 1.0, 0.01), (0.1, 3.0, 0.5, 2.0, 0.5, 1.0), (2.0, 30.0, 0.0, 0.3, 3.0, 0.1)]
    identities = [_identity(i) for i in range(K)]
    data = [_member_data(i) for i in range(K)]
    fused = FusedFESRTrainer(v, [_opts(s, lambdas=lam) for s, lam in zip(seeds, lambdas)], N_CLASSES, data, CPU,
                             identities)
    singles = [FESRTrainer(v, _opts(s, lambdas=lam), N_CLASSES, *data[i], CPU, identities[i])
               for i, (s, lam) in enumerate(zip(seeds, lambdas))]
    for t in range(fused.total_iters):
        fused_logs = fused.step(t)
        for i, single in enumerate(singles):
            for name, value in single.step(t).items():
                assert fused_logs[name][i].item() == pytest.approx(value, rel=RTOL_64, abs=ATOL_64), (t, i, name)
    for i, single in enumerate(singles):
        for net, weights in single.state_dict()["nets"].items():
            for key, value in weights.items():
                torch.testing.assert_close(fused.member_state(i)["nets"][net][key], value, rtol=RTOL_64,
                                           atol=ATOL_64, msg=f"{i} {net}.{key}")


def test_members_may_differ_only_in_seed_and_loss_weights():
    with pytest.raises(ValueError, match="differ only in their seed and loss weights; these differ in lr"):
        FusedFESRTrainer(VARIANTS["FESR_JL"], [_opts(0), _opts(1, lr=3e-4, lambdas=(1, 1, 1, 1, 1, 1))], N_CLASSES,
                         [_member_data(0), _member_data(1)], CPU)
    with pytest.raises(ValueError, match="2 members' options but 1 members' data"):
        FusedFESRTrainer(VARIANTS["FESR_JL"], [_opts(0), _opts(1)], N_CLASSES, [_member_data(0)], CPU)


def test_device_draws_stay_in_each_members_own_data():
    """Members of different sizes: every drawn image is one of the member's own, its
    partner shows the same class, y′ differs from y, and all three classes get drawn."""
    data = []
    for i, n in enumerate((5, 9)):
        images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2) + 100 * i
        labels = torch.arange(n) % N_CLASSES
        data.append((images, labels, [torch.nonzero(labels == c).flatten() for c in range(N_CLASSES)]))
    torch.manual_seed(0)
    draws = DeviceDraws(data, batch_size=64, n_classes=N_CLASSES, device=CPU)
    batch = draws()
    assert batch["x"].shape == (2, 64, 1, 2, 2) and batch["z"].shape == (2, 64, CODE_DIM)
    for i, (images, labels, _) in enumerate(data):
        index = batch["x"][i, :, 0, 0, 0].long() - 100 * i  # each image's value is its index
        partner = batch["x_pr"][i, :, 0, 0, 0].long() - 100 * i
        assert index.min() >= 0 and index.max() < len(labels) and sorted(set(index.tolist())) == list(range(len(labels)))
        assert torch.equal(labels[index], batch["y"][i]) and torch.equal(labels[partner], batch["y"][i])
        assert (batch["y_other"][i] != batch["y"][i]).all() and set(batch["y_other"][i].tolist()) == {0, 1, 2}


def _classifier_opts(seed: int, **kw) -> FitOptions:
    return FitOptions(**{"epochs": 2, "batch_size": 8, "lr": 1e-3, "optimizer": "adamw", "weight_decay": 1e-4,
                         "schedule": "onecycle", "augment": True, "label_smoothing": 0.1, "seed": seed, "steps": 6,
                         **kw})


def _classifier_split(i: int) -> TensorSplit:
    n = 20 + 3 * i
    x = torch.randint(0, 256, (n, 1, SIZE, SIZE), dtype=torch.uint8, generator=torch.Generator().manual_seed(200 + i))
    return TensorSplit(x, torch.arange(n) % N_CLASSES)


def _classifier_net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return SimpleClassifier(N_CLASSES, width=0.125)


@pytest.mark.parametrize("optimizer", ["adamw", "adam", "sgd"])
def test_fused_classifiers_train_as_their_unfused_trials(optimizer):
    """The `simple` net (batch norm, dropout) with a one-cycle schedule, augmentation, label
    smoothing and weight decay, each member with its own seed and learning rate: each
    member's rounds (mean loss and accuracy), its weights, batch-norm statistics,
    predictions and optimizer state are its unfused trial's."""
    seeds, lrs = [0, 5, 2], [1e-3, 3e-3, 4e-4]
    opts = [_classifier_opts(s, lr=lr, optimizer=optimizer) for s, lr in zip(seeds, lrs)]
    splits = [_classifier_split(i) for i in range(K)]
    fused = FusedClassifier([_classifier_net(s) for s in seeds], opts, CPU)
    singles = [_classifier_net(s) for s in seeds]
    optimizers = [make_optimizer(net, o) for net, o in zip(singles, opts)]
    for epoch in range(2):
        rounds = fused.train_round(splits, epoch)
        for i, (net, opt) in enumerate(zip(singles, optimizers)):
            loss, acc = _train_epoch(net, opt, splits[i], opts[i], epoch, CPU)
            assert rounds[i][0] == pytest.approx(loss, rel=RTOL) and rounds[i][1] == acc, (epoch, i)
    probe = torch.randint(0, 256, (10, 1, SIZE, SIZE), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    for i, net in enumerate(singles):
        member = fused.member_net(i)
        # Parameters here, within a tenth of one step at the member's peak learning rate (12 steps
        # of rounding apart); batch-norm statistics through the predictions (eval mode uses
        # them: a running mean also holds the dead bias before it, which differs by Adam's noise).
        for key, value in net.named_parameters():
            if not _zero_in(net, optimizers[i], key):
                torch.testing.assert_close(member.state_dict()[key], value.detach(), rtol=RTOL, atol=lrs[i] / 10,
                                           msg=key)
        torch.testing.assert_close(predict(member, probe, CPU), predict(net, probe, CPU), rtol=RTOL, atol=ATOL)
        state, own = fused.member_state(i)["opt"], optimizers[i].state_dict()
        assert state["param_groups"][0]["lr"] == own["param_groups"][0]["lr"]
        assert sorted(state["state"][0]) == sorted(own["state"][0])  # the plain optimizer's keys


def test_fused_classifiers_need_one_recipe_and_a_step_budget():
    nets = [_classifier_net(0), _classifier_net(1)]
    with pytest.raises(ValueError, match="differ only in their seed and learning rate; these differ in batch_size"):
        FusedClassifier(nets, [_classifier_opts(0), _classifier_opts(1, batch_size=4, lr=0.1)], CPU)
    with pytest.raises(ValueError, match="need a step budget"):
        FusedClassifier(nets, [_classifier_opts(0, steps=None), _classifier_opts(1, steps=None)], CPU)


def test_each_fused_net_draws_its_dropout_masks_from_its_own_generators():
    """Generators given to one fused net are that net's: another's members (here 3, where
    2 generators were given) draw from torch's global generator meanwhile, and the first
    net's masks repeat with its generators seeded the same."""
    from torch import nn

    from trainables.nets.fused_layers import FusedNet, from_vectors
    from trainables.nets.stack import member_generators

    torch.manual_seed(0)
    a, b = (FusedNet([nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)) for _ in range(k)]) for k in (2, 3))

    def forward(net, k):
        return from_vectors(net(torch.ones(5, k, 4)))

    def seeded():
        return [torch.Generator().manual_seed(i) for i in range(2)]

    with member_generators([a], seeded()):
        first = forward(a, 2)
        assert forward(b, 3).shape == (3, 5, 4)
    with member_generators([a], seeded()):
        assert torch.equal(forward(a, 2), first)
    assert not torch.equal(first[0], first[1])  # each member its own masks

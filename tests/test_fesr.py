"""FESR's pieces in-process: the expression code, RDBP's stop-gradient, and, per variant,
the exact set of loss terms an iteration computes in each stage."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from trainables.gans import fesgan
from trainables.gans.fesr_fit import FESROptions, FESRTrainer, expression_code, intra_class_loss
from trainables.configs.fesr_variants import FESR_VARIANTS, VARIANTS

K = 7
TINY = FESROptions(size=48, gan_width=0.0625, r_width=0.0625, batch_size=4, pretrain_iters=1, joint_iters=1)


def test_expression_code_shape_and_range():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, K, (500,), generator=g)
    v = torch.rand(500, K, generator=g)
    u = expression_code(y, K, v)
    assert u.shape == (500, K)
    assert (u.abs() <= 1).all()
    target = u[torch.arange(500), y]
    assert (target >= 0).all() and torch.equal(target, v[torch.arange(500), y])
    others = u.clone()
    others[torch.arange(500), y] = -1
    assert (others <= 0).all()
    assert u.min() < -0.9 and u.max() > 0.9  # covers [-1, 1]


def test_rdbp_real_branch_gets_no_gradient_from_the_real_synthetic_term():
    torch.manual_seed(0)
    r = torch.nn.Linear(6, 3)
    x, x_pr, x_pf = (torch.randn(5, 6) for _ in range(3))
    f_x = r(x)
    f_x.retain_grad()
    f_pf = r(x_pf)
    f_pf.retain_grad()
    _, rf = intra_class_loss(f_x, r(x_pr), f_pf, rdbp=True)
    rf.backward()
    assert f_x.grad is None or torch.count_nonzero(f_x.grad) == 0  # real branch: exactly zero
    assert torch.count_nonzero(f_pf.grad) > 0  # synthetic branch: not
    # The R parameters' gradient is exactly the synthetic branch's.
    weight_grad = r.weight.grad.clone()
    r.zero_grad()
    f_x_const = r(x).detach()
    ((f_x_const - r(x_pf)).norm(dim=1).mean()).backward()
    assert torch.equal(weight_grad, r.weight.grad)
    # Without RDBP (FESR_JL-RDBP) the real branch gets a gradient.
    f_x = r(x)
    f_x.retain_grad()
    _, rf = intra_class_loss(f_x, r(x_pr), r(x_pf), rdbp=False)
    rf.backward()
    assert torch.count_nonzero(f_x.grad) > 0


def test_rdbp_through_the_trainer_step_stops_exactly_fesr_jl_real_branch(monkeypatch):
    """Eqs. 17–18 in the real training step: with the same seed, the gradient of the
    intra-class real–synthetic term L^rf_dist with respect to R_ext(x) of the real batch is
    exactly zero for FESR_JL (RDBP) and not zero for FESR_JL-RDBP (ordinary gradients)."""
    real_loss, seen = fesgan.intra_class_loss, {}

    def spy(f_x, f_pr, f_pf, rdbp):
        rr, rf = real_loss(f_x, f_pr, f_pf, rdbp)
        (grad,) = torch.autograd.grad(rf, f_x, retain_graph=True, allow_unused=True)
        seen.setdefault(name, []).append((rf.item(), torch.zeros_like(f_x) if grad is None else grad))
        return rr, rf

    monkeypatch.setattr(fesgan, "intra_class_loss", spy)
    for name in ("FESR_JL", "FESR_JL-RDBP"):
        _trainer(name, replace(TINY, pretrain_iters=0)).step(0)  # the first joint iteration
    (rdbp_value, rdbp_grad), = seen["FESR_JL"]
    (plain_value, plain_grad), = seen["FESR_JL-RDBP"]
    assert rdbp_value == pytest.approx(plain_value, rel=1e-6)  # the same forward pass: only the gradient differs
    assert torch.count_nonzero(rdbp_grad) == 0
    assert torch.count_nonzero(plain_grad) > 0


G = {"g_adv_img", "g_adv_z", "rec", "id", "g_cls_d"}
D = {"d_adv_img", "gp", "d_cls_real", "d_z"}
JOINT_R = {"r_cls_real", "r_cls_fake", "intra_rr", "intra_rf"}
# variant: (terms of a stage-1 iteration, terms of a stage-2 iteration); None: no such stage
EXPECTED = {
    "BASELINE": (None, {"r_cls_real"}),
    "FESR_OneSt": (None, G | D | JOINT_R | {"g_cls_r"}),
    "FESR_SL": (G | D, JOINT_R),
    "FESR_JL-IL": (G | D, G | D | {"r_cls_real", "r_cls_fake", "g_cls_r"}),
    "FESR_JL-RDBP": (G | D, G | D | JOINT_R | {"g_cls_r"}),
    "FESR_JL": (G | D, G | D | JOINT_R | {"g_cls_r"}),
    "FESR_Real": (G | D, G | D | {"r_cls_real", "r_cls_fake", "g_cls_r"}),
    "FESR_Real-matched": (G | D, G | D | {"r_cls_real", "r_cls_fake", "g_cls_r"}),
    "FG": (G | D, None),
    "FG-CO": (G - {"rec", "id"} | D, None),
    "FG-IP": (G - {"id"} | D, None),
    "FG-Dimg": ({"g_adv_z", "rec", "id", "d_z"}, None),
    "FG-Dimg_cls": (G - {"g_cls_d"} | D - {"d_cls_real"}, None),
    "FG-Dz": (G - {"g_adv_z"} | D - {"d_z"}, None),
}


def _trainer(name, opts=TINY):
    torch.manual_seed(1)  # the identity stand-in's weights: equal in every trainer, whatever ran before
    g = torch.Generator().manual_seed(1)
    images = torch.rand(40, 1, 48, 48, generator=g) * 2 - 1
    labels = torch.arange(40) % K
    identity = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 8)).requires_grad_(False)
    return FESRTrainer(VARIANTS[name], opts, K, images, labels, torch.device("cpu"), identity=identity)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_computes_exactly_its_loss_terms(name):
    assert set(EXPECTED) == set(VARIANTS)
    trainer = _trainer(name)
    stage1, stage2 = EXPECTED[name]
    terms = [set(trainer.step(t)) for t in range(trainer.total_iters)]
    assert terms == [s for s in (stage1, stage2) if s is not None]


@pytest.mark.parametrize("name", FESR_VARIANTS)
def test_every_fesr_variant_gives_r_joint_iters_optimizer_steps(name):
    trainer = _trainer(name)
    for t in range(trainer.total_iters):
        trainer.step(t)
    assert trainer.recognizer_steps == TINY.joint_iters


def test_fesr_real_decodes_each_real_input_into_every_expression():
    """Section IV-D: FESR_Real "generate[s] images with all expressions from the input
    images": for each real x, G_dec([g(x), u(k)]) for k = 1..K, labelled k."""
    trainer = _trainer("FESR_Real")
    g = torch.Generator().manual_seed(2)
    x, v = torch.rand(3, 1, 48, 48, generator=g) * 2 - 1, torch.rand(3, K, generator=g)
    with torch.no_grad():
        x_pf, y_pf = trainer.synthesize(x, torch.tensor([0, 1, 2]), v, z=None)
        assert x_pf.shape == (3 * K, 1, 48, 48)
        assert y_pf.tolist() == list(range(K)) * 3
        enc, dec = trainer.nets["encoder"], trainer.nets["decoder"]
        for i in range(3):
            for k in range(K):
                u = v[i:i + 1] * (2 * torch.nn.functional.one_hot(torch.tensor([k]), K).float() - 1)
                assert torch.allclose(x_pf[i * K + k], dec(enc(x[i:i + 1]), u)[0], atol=1e-5)


def test_fesr_real_matched_gives_r_as_many_synthetic_images_per_step_as_jl_il(monkeypatch):
    """Section IV-D: "the only difference between FESR_Real and FESR_JL-IL is the strategy of
    generating the auxiliary training data". FESR_Real-matched gives R, at every joint step,
    JL-IL's number of synthetic images with JL-IL's labels (the batch's), drawn from g(x) of the
    real inputs instead of z; the paper's FESR_Real, K per real input with uniform labels, is
    the declared difference."""
    real_step, seen = fesgan.r_step, {}

    def spy(bundle, batch, synthetic, lambdas, variant):
        seen.setdefault(variant.name, []).append((len(batch["x"]), synthetic[0].shape[0],
                                                  sorted(synthetic[1].tolist()), sorted(batch["y"].tolist())))
        return real_step(bundle, batch, synthetic, lambdas, variant)

    monkeypatch.setattr(fesgan, "r_step", spy)
    opts = replace(TINY, pretrain_iters=0, joint_iters=3, batch_size=6)
    for name in ("FESR_JL-IL", "FESR_Real-matched", "FESR_Real"):
        trainer = _trainer(name, opts)
        for t in range(trainer.total_iters):
            trainer.step(t)
    il, matched, paper = seen["FESR_JL-IL"], seen["FESR_Real-matched"], seen["FESR_Real"]
    assert len(il) == len(matched) == 3  # one R step per joint iteration
    for (b, n_il, labels_il, y), (_, n_matched, labels_matched, _) in zip(il, matched):
        assert n_il == n_matched == b == 6 and labels_il == labels_matched == y  # same count, same labels
    assert [n for _, n, _, _ in paper] == [6 * K] * 3  # the paper's FESR_Real: K per input


def test_fesr_real_matched_decodes_each_input_into_the_next_inputs_expression():
    trainer = _trainer("FESR_Real-matched")
    g = torch.Generator().manual_seed(2)
    x, v = torch.rand(3, 1, 48, 48, generator=g) * 2 - 1, torch.rand(3, K, generator=g)
    y = torch.tensor([0, 4, 2])
    with torch.no_grad():
        x_pf, y_pf = trainer.synthesize(x, y, v, z=None)
        assert y_pf.tolist() == [4, 2, 0]
        enc, dec = trainer.nets["encoder"], trainer.nets["decoder"]
        for i in range(3):
            assert torch.allclose(x_pf[i], dec(enc(x[i:i + 1]), expression_code(y_pf[i:i + 1], K, v[i:i + 1]))[0],
                                  atol=1e-5)


def test_sl_keeps_fesgan_frozen_in_stage_two_and_jl_does_not():
    for name, changes in (("FESR_SL", False), ("FESR_JL", True)):
        trainer = _trainer(name)
        trainer.step(0)
        before = {k: v.clone() for k, v in trainer.nets["decoder"].state_dict().items()}
        trainer.step(1)
        after = trainer.nets["decoder"].state_dict()
        assert any(not torch.equal(before[k], after[k]) for k in before) == changes, name


# --- the trainable --------------------------------------------------------------------

from tests.killed_worker import Interrupt, StopAt  # noqa: E402
from trainables.core.config import ConfigError  # noqa: E402
from trainables.core.reporting import InProcessReporter  # noqa: E402
from trainables.synthetic.identity import IdentityOptions, identity_extractor  # noqa: E402
from trainables.trials import fesr as fesr_trial  # noqa: E402
from trainables.trials.fesr import parse_config, train_fesr  # noqa: E402

TRIAL = {"dataset_options": {"n_images": 420, "n_subjects": 24}, "n_folds": 4, "gan_width": 0.0625,
         "r_width": 0.0625, "pretrain_iters": 6, "joint_iters": 6, "report_every": 3, "batch_size": 8,
         "identity_epochs": 1, "judge_width": 0.125, "judge_epochs": 1, "threads": 1}


@pytest.mark.parametrize("bad, message", [
    ({"variant": "FESR_XL"}, "allowed values"),
    ({"image_size": 96}, "48, 64 or 128"),
    ({"lambda6": -1.0}, "λ1..λ6"),
    ({"identity": "/no/such/file.pt"}, "not a file"),
    ({"joint_iters": 0}, "joint_iters must be ≥ 1"),
])
def test_bad_trial_config_says_what_is_wrong(bad, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**TRIAL, **bad})


def test_killed_trial_resumes_mid_joint_stage_to_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache_whole"))
    whole = InProcessReporter(tmp_path / "whole")
    final = train_fesr(TRIAL, whole)
    assert [h["stage"] for h in whole.history] == [1.0, 1.0, 2.0, 2.0]
    assert "loss/id" in whole.history[0] and "val/acc" in whole.history[2]
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache_cut"))
    with pytest.raises(Interrupt):
        train_fesr(TRIAL, StopAt(tmp_path / "cut", n=3))  # after the first stage-2 report
    resumed = InProcessReporter(tmp_path / "cut")
    again = train_fesr(TRIAL, resumed)
    assert [h["iteration"] for h in resumed.history] == [12]
    for key in ("test/acc_at_best_val", "test/acc", "loss/r_cls_real", "loss/g_cls_r", "val/acc"):
        assert again[key] == final[key], key
    assert {"predictions.csv", "r_features.npz", "fesgan_samples.png"} <= set(resumed.artifacts)


def test_variants_that_pretrain_share_one_stage1_fesgan(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    jl = InProcessReporter(tmp_path / "jl")
    train_fesr({**TRIAL, "variant": "FESR_JL"}, jl)
    assert len(list((tmp_path / "cache" / "fesgan").glob("stage1-*.pt"))) == 1
    sl = InProcessReporter(tmp_path / "sl")
    final = train_fesr({**TRIAL, "variant": "FESR_SL"}, sl)
    assert final["fesgan/stage1_from_cache"] == 1.0
    assert [h["stage"] for h in sl.history] == [2.0, 2.0]  # no stage-1 iterations run again
    one = InProcessReporter(tmp_path / "onest")
    train_fesr({**TRIAL, "variant": "FESR_OneSt"}, one)  # no stage 1 at all
    assert [h["stage"] for h in one.history] == [2.0, 2.0]
    assert len(list((tmp_path / "cache" / "fesgan").glob("stage1-*.pt"))) == 1


def test_variants_report_equal_budget_steps_for_r(tmp_path, monkeypatch):
    """BASELINE (no FESGAN, no stage 1) and FESR_JL (stage 1, then joint): R takes
    `joint_iters` optimizer steps in both, and every report says how many so far."""
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    finals = {}
    for name in ("BASELINE", "FESR_JL"):
        reporter = InProcessReporter(tmp_path / name)
        finals[name] = train_fesr({**TRIAL, "variant": name}, reporter)
        steps = [h["budget/steps"] for h in reporter.history]
        stage1 = TRIAL["pretrain_iters"] // TRIAL["report_every"] if name == "FESR_JL" else 0
        assert steps == [0.0] * stage1 + [3.0, 6.0]  # reports every 3 iterations, R from stage 2 on
    assert finals["BASELINE"]["budget/steps"] == finals["FESR_JL"]["budget/steps"] == TRIAL["joint_iters"]


def test_synthetic_data_variant_reports_its_images_quality_and_where_r_was_chosen(tmp_path, monkeypatch):
    """FESR_JL: the judge's agreement on the images R is given, its recall on real faces
    and chance, with their grid; every stage-2 report says where R's chosen iteration (the
    first best `val/acc`) lies in its `joint_iters`. BASELINE has no synthetic images."""
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    reporter = InProcessReporter(tmp_path / "jl")
    final = train_fesr({**TRIAL, "variant": "FESR_JL"}, reporter)
    for key in ("synth/agreement", "synth/real_recall", "synth/chance"):
        assert 0.0 <= final[key] <= 1.0, key
    assert final["synth/chance"] == pytest.approx(1 / K)
    # the gate's numbers per expression: every expression drawn equally often, judged out of K classes
    assert final["gate/classes"] == K
    counts = [final[k] for k in final if k.startswith("gate/") and k.endswith("/n")]
    assert len(counts) == K and len(set(counts)) == 1
    agreement = np.mean([final[k] for k in final if k.startswith("gate/") and k.endswith("/agreement")])
    assert agreement == pytest.approx(final["synth/agreement"])
    # each face the judge calls other than meant is off target for exactly one of the K - 1 other classes
    off_target = [final[k] for k in final if k.startswith("gate/") and k.endswith("/off_target_rate")]
    assert len(off_target) == K and np.mean(off_target) == pytest.approx((1 - agreement) / (K - 1))
    assert "samples_synthesis.png" in reporter.artifacts
    stage2 = [h for h in reporter.history if h["stage"] == 2.0]
    val_acc = [h["val/acc"] for h in stage2]
    for i, report in enumerate(stage2):
        chosen = int(np.argmax(val_acc[:i + 1]))
        expected = (chosen + 1) * TRIAL["report_every"] / TRIAL["joint_iters"]
        assert report["selection/at_fraction"] == pytest.approx(expected)
    assert all("selection/at_fraction" not in h for h in reporter.history if h["stage"] == 1.0)
    base = train_fesr({**TRIAL, "variant": "BASELINE"}, InProcessReporter(tmp_path / "base"))
    assert "synth/agreement" not in base and "selection/at_fraction" in base


@pytest.mark.parametrize("name", ["FESR_JL", "FESR_Real", "FESR_Real-matched"])
def test_r_synthetic_images_are_identities_by_expressions(name):
    """A row of K images per identity (a prior code z, or g(x) of a validation image)."""
    from trainables.synthetic.fesgan_eval import r_synthetic_images

    trainer = _trainer(name)
    val_x = torch.rand(5, 1, 48, 48) * 2 - 1
    images = r_synthetic_images(trainer, val_x, seed=0)
    n = 5 if name.startswith("FESR_Real") else len(images) // K
    assert images.shape == (n * K, 1, 48, 48) and n >= 5
    assert not torch.equal(images[0], images[1])  # one identity, two expressions


def test_fesgan_variant_reports_synthesis_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    reporter = InProcessReporter(tmp_path / "fg")
    final = train_fesr({**TRIAL, "variant": "FG"}, reporter)
    assert [h["stage"] for h in reporter.history] == [1.0, 1.0]
    assert 0 <= final["synthesis/ssim"] <= 1 and final["synthesis/psnr"] > 0 and final["synthesis/n_pairs"] > 0
    assert 0 <= final["synthesis/verification_rate"] <= 1 and final["synthesis/fid_fer"] >= 0
    assert 0 <= final["synthesis/verification_rate_val"] <= 1 and final["synthesis/verification_n_pairs_val"] > 0
    assert "synthesis/verification_threshold_val" in final and "synthesis/verification_threshold" not in final
    assert "test/acc" not in final  # no recognizer
    assert {"fesgan_samples.png", "fesgan_intensity.png", "fesgan_prior.png"} <= set(reporter.artifacts)


# cosine similarities by hand (S: same person, D: different). Validation's best threshold
# is 0.65 (between 0.7 S and 0.6 D: 5 of 6 right; only 0.4 S wrong). On test, 0.65 gets
# 4 of 6 (0.55 S and 0.5 S called different); test's own best, 0.4, would get 5 of 6.
VAL_PAIRS = (np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), np.array([1, 1, 1, 0, 0, 1], bool))
TEST_PAIRS = (np.array([0.9, 0.8, 0.62, 0.55, 0.5, 0.3]), np.array([1, 1, 0, 1, 1, 0], bool))


def test_verification_threshold_comes_from_validation_pairs_not_the_reported_ones():
    from trainables.synthetic.identity import accuracy_at, best_threshold, verification

    found = verification(*VAL_PAIRS, *TEST_PAIRS)
    assert found["synthesis/verification_threshold_val"] == pytest.approx(0.65)
    assert found["synthesis/verification_rate_val"] == pytest.approx(5 / 6)
    assert found["synthesis/verification_rate"] == pytest.approx(4 / 6)
    # choosing on test would have reported more: the number a test-set choice inflates
    assert accuracy_at(*TEST_PAIRS, best_threshold(*TEST_PAIRS)) == pytest.approx(5 / 6)
    assert (found["synthesis/verification_n_pairs_val"], found["synthesis/verification_n_pairs"]) == (6.0, 6.0)


def test_fesgan_verification_scores_test_pairs_at_the_validation_threshold(monkeypatch):
    """The trial's wiring: pairs built from the validation split set the threshold, the
    test split's pairs are reported; a split with no two subjects reports nothing."""
    from trainables.synthetic import fesgan_eval

    pairs = {"val": VAL_PAIRS, "test": TEST_PAIRS, "one subject": None}
    monkeypatch.setattr(fesgan_eval, "_pair_similarities", lambda trainer, identity, x, subjects: pairs[x])
    found = fesgan_eval._verification(None, None, ("val", None), ("test", None))
    assert found["synthesis/verification_rate"] == pytest.approx(4 / 6)
    assert found["synthesis/verification_threshold_val"] == pytest.approx(0.65)
    assert fesgan_eval._verification(None, None, ("one subject", None), ("test", None)) == {}


def test_no_subject_ids_means_no_identity_loss(tmp_path):
    images = torch.rand(10, 1, 48, 48) * 2 - 1
    extractor, metrics = identity_extractor("auto", images, None, IdentityOptions(48), "hash",
                                            torch.device("cpu"), tmp_path)
    assert extractor is None and metrics == {"identity/active": 0.0}
    trainer = FESRTrainer(VARIANTS["FG"], TINY, K, images, torch.arange(10) % K, torch.device("cpu"),
                          identity=extractor)
    assert "id" not in trainer.step(0)


@pytest.mark.parametrize("kind", ["export", "torchscript"])
def test_identity_and_trunk_from_a_local_file(tmp_path, monkeypatch, kind):
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, 2, 1), torch.nn.ReLU()).eval()
    if kind == "export":
        path = tmp_path / "net.pt2"
        batch = {0: torch.export.Dim("batch")}  # exported with a dynamic batch dimension, as the README says
        torch.export.save(torch.export.export(net, (torch.zeros(2, 1, 48, 48),), dynamic_shapes=(batch,)), str(path))
    else:
        path = tmp_path / "net.pt"
        torch.jit.trace(net, torch.zeros(2, 1, 48, 48)).save(str(path))
    extractor, metrics = identity_extractor(str(path), torch.zeros(2, 1, 48, 48), None, IdentityOptions(48), "h",
                                            torch.device("cpu"))
    assert metrics == {"identity/active": 1.0}
    assert torch.allclose(extractor(torch.ones(2, 1, 48, 48)), net(torch.ones(2, 1, 48, 48)))
    assert not any(p.requires_grad for p in extractor.parameters())
    # The same file as R's frozen trunk: R trains, the trunk does not.
    built = []

    class KeptTrainer(fesr_trial.FESRTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            r = self.nets["recognizer"]
            built.append((self, {k: v.clone() for k, v in r.ext.state_dict().items()}))

    monkeypatch.setattr(fesr_trial, "FESRTrainer", KeptTrainer)
    final = train_fesr({**TRIAL, "variant": "BASELINE", "trunk_weights": str(path)}, InProcessReporter(tmp_path / "r"))
    assert 0 <= final["test/acc_at_best_val"] <= 1
    (trainer, ext_before), = built
    r = trainer.nets["recognizer"]
    trunk_after = [p.detach() for p in r.trunk.parameters()]
    assert len(trunk_after) == 2 and all(torch.equal(a, b) for a, b in zip(trunk_after, net.parameters()))
    assert any(not torch.equal(v, ext_before[k]) for k, v in r.ext.state_dict().items())  # the rest of R trained

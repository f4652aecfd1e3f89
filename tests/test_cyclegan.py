"""The CycleGAN trainable in-process: config checks, exact resume of the GAN loop and of a
whole trial, the synthetic-set and GAN caches, the stage reporter, and the DAG arm."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.killed_worker import Interrupt, StopAt
from trainables.core.caches import synthetic_path, synthetic_set
from trainables.core.config import ConfigError
from trainables.core.real_data import load_real_data
from trainables.core.reporting import InProcessReporter, StageReporter
from trainables.data import EMOTIONS
from trainables.gans.cyclegan_fit import GANOptions, create_nets, train_cyclegan
from trainables.synthetic.cyclegan_synthesis import quality_metrics, reference_draw
from trainables.trials.cyclegan import gan_options, parse_arm, parse_config, train_cyclegan_trial

TINY = {"arm": "+disgust", "dataset_options": {"n_images": 420, "n_subjects": 24}, "net": "zhu_cnn", "width": 0.25,
        "epochs": 2, "batch_size": 32, "n_folds": 4, "gan_epochs": 2, "gan_width": 0.125, "gan_blocks": 1,
        "gan_batch_size": 8, "judge_width": 0.125, "judge_epochs": 2, "threads": 1}
OPTS = GANOptions(epochs=3, batch_size=4, lr_g=2e-4, lr_d=1e-4, adv_loss="lsgan", cycle_loss="weighted",
                  gamma_max=0.5, gamma_schedule="linear", lambda_cyc=10.0, real_label=0.9, lr_decay=True,
                  gp_weight=10.0, width=0.125, n_blocks=1, seed=3)


@pytest.mark.parametrize("bad, message", [
    ({"arm": "+joy"}, "targets must be emotions"),
    ({"arm": "+neutral"}, "other than the reference"),
    ({"arm": "more"}, "is not one of"),
    ({"adv_loss": "hinge"}, "'adv_loss'"),
    ({"gamma_max": 1.5}, "gamma_max"),
    ({"gan_epochs": 0}, "gan_epochs"),
    ({"n_critic": 0}, "n_critic"),
    ({"no_such_key": 1}, "CycleGAN keys"),
])
def test_bad_config_says_what_is_wrong(bad, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**TINY, **bad})


def test_arms():
    assert parse_arm("baseline") == ("baseline", ())
    assert parse_arm("+disgust,sad") == ("augment", ("disgust", "sad"))
    assert parse_arm("dag") == ("dag", ("all",))
    assert parse_arm("dag_real") == ("dag_real", ())


def _domains(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(12, 1, 48, 48, generator=g) * 2 - 1, torch.rand(7, 1, 48, 48, generator=g) * 2 - 1


def _weights(nets):
    return {f"{n}.{k}": v for n, m in nets.modules().items() for k, v in m.state_dict().items()}


def test_killed_gan_resumes_to_the_same_weights(tmp_path):
    ref, tgt = _domains()
    whole = train_cyclegan(ref, tgt, OPTS, InProcessReporter(tmp_path / "whole"), torch.device("cpu"),
                           lambda nets, epoch: {})
    with pytest.raises(Interrupt):
        train_cyclegan(ref, tgt, OPTS, StopAt(tmp_path / "cut", n=1), torch.device("cpu"), lambda nets, epoch: {})
    resumed_reporter = InProcessReporter(tmp_path / "cut")
    resumed = train_cyclegan(ref, tgt, OPTS, resumed_reporter, torch.device("cpu"), lambda nets, epoch: {})
    assert [h["gan/epoch"] for h in resumed_reporter.history] == [1, 2]
    a, b = _weights(whole), _weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and the loop does learn something: the weights moved from their initialisation
    torch.manual_seed(OPTS.seed)
    from trainables.nets.cyclegan import create_cyclegan
    fresh = _weights(create_cyclegan(OPTS.width, OPTS.n_blocks))
    assert not all(torch.equal(a[k], fresh[k]) for k in a)


def test_wgan_gp_and_vanilla_train_without_nans(tmp_path):
    ref, tgt = _domains(1)
    for adv in ("wgan-gp", "vanilla"):
        opts = GANOptions(**{**OPTS.__dict__, "adv_loss": adv, "epochs": 1})
        reporter = InProcessReporter(tmp_path / adv)
        train_cyclegan(ref, tgt, opts, reporter, torch.device("cpu"), lambda nets, epoch: {})
        assert all(np.isfinite(v) for v in reporter.history[-1].values())


@pytest.mark.parametrize("adv", ["lsgan", "vanilla", "wgan-gp"])
def test_a_wgan_gp_critic_has_no_batch_norm(adv):
    """The gradient penalty is per sample: a batch-norm critic's scores depend on the whole
    batch (Gulrajani et al. 2017 use none); Zhu et al.'s Table 5 discriminator keeps it."""
    opts = gan_options(parse_config({**TINY, "adv_loss": adv}).gan, seed=0)
    nets = create_nets(opts)
    kinds = {type(m) for d in (nets.disc_r, nets.disc_t) for m in d.modules()}
    assert (torch.nn.BatchNorm2d in kinds) == (adv != "wgan-gp")
    assert opts.n_critic == (5 if adv == "wgan-gp" else 1)  # Gulrajani et al.'s n_critic by default


@pytest.mark.parametrize("adv, n_critic", [("wgan-gp", 3), ("lsgan", 1)])
def test_the_critic_takes_n_critic_updates_per_generator_update(tmp_path, adv, n_critic):
    ref, tgt = _domains(2)  # 12 and 7 images, batch 4: ceil(12 / 4) = 3 generator updates per epoch
    opts = GANOptions(**{**OPTS.__dict__, "adv_loss": adv, "epochs": 2, "n_critic": n_critic})
    reporter = InProcessReporter(tmp_path / adv)
    train_cyclegan(ref, tgt, opts, reporter, torch.device("cpu"), lambda nets, epoch: {})
    optims = torch.load(reporter.checkpoint_path / "cyclegan.pt", weights_only=False)["optims"]
    steps = {name: {int(s["step"]) for s in optims[name]["state"].values()} for name in ("g", "d")}
    assert steps == {"g": {2 * 3}, "d": {2 * 3 * n_critic}}
    assert all(np.isfinite(v) for v in reporter.history[-1].values())


def test_stage_reporter_keeps_carried_files_and_its_own_state(tmp_path):
    parent = InProcessReporter(tmp_path / "trial")
    carried = tmp_path / "carried"
    carried.mkdir()
    (carried / "done.txt").write_text("stage one")
    state = tmp_path / "state"
    state.mkdir()
    (state / "s.pt").write_text("x")
    stage = StageReporter(parent, "two", None, carried, {"val/fid_fer": 3.0})
    assert stage.restore() is None
    stage.report({"epoch": 0}, checkpoint_dir=str(state))
    assert parent.history == [{"val/fid_fer": 3.0, "epoch": 0}]
    assert (parent.checkpoint_path / "carried" / "done.txt").read_text() == "stage one"
    again = StageReporter(parent, "two", parent.restore(), carried)
    assert (again.restore() is not None) and (tmp_path / "trial" / "checkpoint" / "two" / "s.pt").exists()
    assert StageReporter(parent, "three", parent.restore(), carried).restore() is None


def test_synthetic_set_is_generated_once(tmp_path):
    calls = []

    def generate():
        calls.append(1)
        return np.full((5, 48, 48), 7, np.uint8)

    first, hit1 = synthetic_set(tmp_path, "abc", "disgust", 5, 0, generate, draw="d")
    second, hit2 = synthetic_set(tmp_path, "abc", "disgust", 5, 0, generate, draw="d")
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert np.array_equal(first, second)
    synthetic_set(tmp_path, "abc", "disgust", 5, 1, generate, draw="d")  # another seed is another set
    assert len(calls) == 2
    synthetic_set(tmp_path, "abc", "disgust", 5, 0, generate, draw="e")  # another draw of the inputs too
    assert len(calls) == 3
    with pytest.raises(ValueError, match="expected uint8 4"):
        synthetic_set(tmp_path, "abd", "disgust", 4, 0, generate, draw="d")
    assert not synthetic_path(tmp_path, "abd", "disgust", 4, 0, "d").exists()


@pytest.mark.parametrize("fail_in", ["write", "replace"])
def test_synthetic_set_write_failing_part_way_leaves_nothing_and_the_next_call_regenerates(tmp_path, monkeypatch,
                                                                                        fail_in):
    calls, seen_temporaries = [], []

    def generate():
        calls.append(1)
        return np.arange(5 * 48 * 48).reshape(5, 48, 48).astype(np.uint8)

    folder = tmp_path / "synthetic"
    real_savez = np.savez
    if fail_in == "write":
        def half_savez(file, **arrays):  # half of the file on disk, then a full disk
            real_savez(file, **arrays)
            whole = Path(file).read_bytes()
            Path(file).write_bytes(whole[: len(whole) // 2])
            raise OSError("disk full")
        monkeypatch.setattr(np, "savez", half_savez)
    else:
        def failing_replace(src, dst):
            seen_temporaries.append(Path(src).stat().st_size)
            raise OSError("rename failed")
        monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        synthetic_set(tmp_path, "abc", "disgust", 5, 0, generate, draw="d")
    monkeypatch.undo()
    assert fail_in == "write" or seen_temporaries[0] > 5 * 48 * 48  # a whole temporary was there to clean up
    assert sorted(p.name for p in folder.iterdir()) == []

    images, hit = synthetic_set(tmp_path, "abc", "disgust", 5, 0, generate, draw="d")
    again, hit_again = synthetic_set(tmp_path, "abc", "disgust", 5, 0, generate, draw="d")
    assert (hit, hit_again) == (False, True) and len(calls) == 2
    assert np.array_equal(again, generate()) and np.array_equal(images, again)
    assert sorted(p.name for p in folder.iterdir()) == [synthetic_path(tmp_path, "abc", "disgust", 5, 0, "d").name]


@pytest.mark.parametrize("n, count", [(7, 3), (7, 7), (7, 23), (10, 40), (1, 4)])
def test_reference_draw_translates_every_image_once_before_any_repeat(n, count):
    idx = reference_draw(n, count, [3, 1])
    assert len(idx) == count
    for start in range(0, count, n):  # each block of n draws: no repeat, and full blocks hold every image
        block = idx[start:start + n]
        assert len(set(block.tolist())) == len(block) and set(block.tolist()) <= set(range(n))
    times = np.bincount(idx, minlength=n)
    assert set(times.tolist()) <= {count // n, -(-count // n)}
    assert np.array_equal(idx, reference_draw(n, count, [3, 1]))  # seeded


def test_trial_reports_gan_then_classifier_and_the_second_trial_reuses_the_set(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    first = InProcessReporter(tmp_path / "first")
    final = train_cyclegan_trial(TINY, first)
    gan_reports = [h for h in first.history if "gan_disgust/epoch" in h]
    assert [h["gan_disgust/epoch"] for h in gan_reports] == [0, 1]
    assert final["synth/disgust/from_cache"] == 0.0
    # by default one translated image per neutral training image: counted here from the split
    cfg = parse_config(TINY)
    real = load_real_data(cfg.classifier.data, cfg.classifier.seed)
    train_labels = real.labels[real.splits.train]
    n_neutral = int((train_labels == real.class_names.index("neutral")).sum())
    assert n_neutral > 0 and final["data/n_synthetic"] == final["synth/disgust/n"] == n_neutral
    assert final["data/n_train"] == len(train_labels) + n_neutral
    assert 0 <= final["test/acc_at_best_val"] <= 1
    assert {"samples_disgust.png", "predictions.csv"} <= set(first.artifacts)
    sets = list((tmp_path / "cache" / "synthetic").glob("disgust-*.npz"))
    assert len(sets) == 1 and len(np.load(sets[0])["images"]) == n_neutral
    stamp = sets[0].stat().st_mtime_ns
    # Another classifier (wider) needing the same GAN and set: both come from the cache.
    second = InProcessReporter(tmp_path / "second")
    again = train_cyclegan_trial({**TINY, "width": 0.5}, second)
    assert again["synth/disgust/from_cache"] == 1.0
    assert not [h for h in second.history if "gan_disgust/epoch" in h]  # no GAN training either
    assert sets[0].stat().st_mtime_ns == stamp


def test_each_gan_epoch_reports_validation_kid_and_the_trial_carries_it(tmp_path, monkeypatch):
    """`val/kid_fer` is cycle_gamma_search's metric: ASHA needs it after every GAN epoch."""
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    balanced = {"n_images": 420, "n_subjects": 24, "class_weights": {c: 1 for c in EMOTIONS[:7]}}
    reporter = InProcessReporter(tmp_path / "trial")
    final = train_cyclegan_trial({**TINY, "dataset_options": balanced, "epochs": 1}, reporter)
    gan_reports = [h for h in reporter.history if "gan_disgust/epoch" in h]
    assert len(gan_reports) == 2
    assert all(np.isfinite(h["val/kid_fer"]) and h["val/fid_fer"] >= 0 for h in gan_reports)
    assert all("val/kid_fer" in h for h in reporter.history)  # the classifier's reports carry it
    assert final["val/kid_fer"] == final["synth/disgust/kid_fer"]


def test_killed_trial_resumes_mid_gan_to_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache_whole"))
    whole = train_cyclegan_trial(TINY, InProcessReporter(tmp_path / "whole"))
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache_cut"))
    with pytest.raises(Interrupt):
        train_cyclegan_trial(TINY, StopAt(tmp_path / "cut", n=1))  # after the first GAN epoch
    assert not list((tmp_path / "cache_cut" / "cyclegans").glob("*.pt"))  # no half-trained GAN cached
    resumed = InProcessReporter(tmp_path / "cut")
    final = train_cyclegan_trial(TINY, resumed)
    assert [h.get("gan_disgust/epoch") for h in resumed.history[:1]] == [1]
    for key in ("test/acc_at_best_val", "test/macro_f1_at_best_val", "synth/disgust/fid_fer"):
        if key in whole:
            assert final[key] == whole[key], key


def test_dag_pretrains_on_generated_images_then_fine_tunes(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    config = {**TINY, "arm": "dag", "gan_epochs": 1, "pretrain_epochs": 1}
    reporter = InProcessReporter(tmp_path / "dag")
    final = train_cyclegan_trial(config, reporter)
    targets = {k.split("/")[1] for k in final if k.startswith("synth/") and k.endswith("/n")}
    assert targets == {"angry", "disgust", "fear", "happy", "sad", "surprise"}
    assert len([h for h in reporter.history if "pretrain/train/acc" in h]) == 1  # one pre-training epoch
    assert len([h for h in reporter.history if "train/acc" in h]) == 2  # then two fine-tuning epochs
    assert final["data/n_synthetic"] == 0  # fine-tuning is on real images only


def test_dag_real_takes_dags_two_stages_on_real_images(tmp_path, monkeypatch):
    """DAG's control: the same budget split, two fits each chosen on validation (the second
    restarting the schedule), pre-trained on the real training images; no GAN, no judge."""
    from trainables.trials import cyclegan

    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    pretrained_on, real_pretrain = [], cyclegan.pretrain_fit

    def spy_pretrain(cfg, real, pretraining, net, opts, reporter, device):
        pretrained_on.append((pretraining, opts))
        return real_pretrain(cfg, real, pretraining, net, opts, reporter, device)

    monkeypatch.setattr(cyclegan, "pretrain_fit", spy_pretrain)
    config = {**TINY, "arm": "dag_real", "epochs": 4, "steps": 16}
    reporter = InProcessReporter(tmp_path / "dag_real")
    final = train_cyclegan_trial(config, reporter)
    cfg = parse_config(config)
    real = load_real_data(cfg.classifier.data, cfg.classifier.seed)
    (images, labels), opts = pretrained_on[0]
    assert len(pretrained_on) == 1 and np.array_equal(images, real.data.images[real.splits.train])
    assert np.array_equal(labels, real.labels[real.splits.train])
    # DAG's split of the 16-step budget over 4 report rounds: 2 rounds of 8 steps, then 2 of 8
    assert (opts.epochs, opts.steps) == (2, 8)
    assert [h["pretrain/budget/steps"] for h in reporter.history if "pretrain/train/acc" in h] == [4, 8]
    assert [h["budget/steps"] for h in reporter.history if "train/acc" in h] == [12, 16]
    assert final["budget/steps"] == 16 and final["data/n_synthetic"] == 0
    assert not [k for h in reporter.history for k in h if k.startswith(("gan_", "synth/", "judge/"))]


def test_an_oversampling_trial_on_fer2013_reports_the_test_copies_of_training_images_it_left_out(
        tmp_path, monkeypatch):
    """FER2013 has test images with a pixel-identical copy in Training; an arm that repeats
    training images has memorised them. The studies with oversampling arms leave them out of
    validation and test (declared at every scale), and a trial says how many."""
    from study.spec import SCALES, load_study
    from tests.test_data_splits import write_fer_with_planted_copies

    for study in ("cyclegan_augmentation", "cycle_gamma", "cycle_gamma_search"):
        spec = load_study(study)
        assert spec.base_config["drop_eval_duplicates"] is True, study
        assert all("288 of 3,589 PrivateTest" in spec.deviations(s)["drop_eval_duplicates"] for s in SCALES)
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    n_val, n_test = write_fer_with_planted_copies(tmp_path / "fer2013.csv")
    config = {**{k: v for k, v in TINY.items() if k not in ("dataset_options", "n_folds")},
              "dataset": "fer2013", "data_root": str(tmp_path), "arm": "oversample+disgust", "epochs": 1,
              "drop_eval_duplicates": True}
    final = train_cyclegan_trial(config, InProcessReporter(tmp_path / "trial"))
    assert (final["data/n_dropped_val"], final["data/n_dropped_test"]) == (n_val, n_test) == (2, 3)
    assert (final["data/n_val"], final["data/n_test"]) == (7 * 4 - 2, 7 * 4 - 3)
    assert final["data/n_synthetic"] > 0  # the disgust images repeated


FINETUNE = {**TINY, "arm": "baseline", "finetune_dataset": "synthfaces", "finetune_epochs": 2, "finetune_fold": 1}


def test_finetune_stage_tests_on_the_other_split_and_keeps_the_source_results(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    reporter = InProcessReporter(tmp_path / "whole")
    final = train_cyclegan_trial(FINETUNE, reporter)
    source = [h for h in reporter.history if "source/train/acc" in h]
    target = [h for h in reporter.history if "train/acc" in h]
    assert len(source) == 2 and len(target) == 2
    assert all("source/test/acc_at_best_val" in h for h in target)  # carried into every later report
    assert final["test/acc_at_best_val"] != final["source/test/acc_at_best_val"]  # fold 1 vs fold 0
    assert {"source_predictions.csv", "predictions.csv"} <= set(reporter.artifacts)
    # Killed right after the source stage's last checkpoint: the source stage is not run again.
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache_cut"))
    with pytest.raises(Interrupt):
        train_cyclegan_trial(FINETUNE, StopAt(tmp_path / "cut", n=2))
    resumed = InProcessReporter(tmp_path / "cut")
    again = train_cyclegan_trial(FINETUNE, resumed)
    assert not [h for h in resumed.history if "source/train/acc" in h]
    assert [h["epoch"] for h in resumed.history] == [0, 1]
    for key in ("test/acc_at_best_val", "test/macro_f1_at_best_val", "source/test/acc_at_best_val"):
        assert again[key] == final[key], key


@pytest.mark.parametrize("bad, message", [
    ({"finetune_dataset": "mnist"}, "not a registered dataset"),
    ({"finetune_dataset": "ckplus", "finetune_root": "/no/such/folder"}, "needs finetune_root"),
    ({"finetune_epochs": 0}, "finetune_epochs"),
])
def test_bad_finetune_config_says_what_is_wrong(bad, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**FINETUNE, **bad})


def test_finetune_on_ckplus_gets_a_head_for_its_classes(tmp_path, monkeypatch):
    from tests.test_data_real import CK_COUNTS, CK_DIR
    if not CK_DIR.exists():
        pytest.skip(f"real CK+48 not found at {CK_DIR} (set FERLAB_DATASETS to the datasets folder)")
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    config = {**FINETUNE, "finetune_dataset": "ckplus", "finetune_root": str(CK_DIR), "finetune_epochs": 1}
    reporter = InProcessReporter(tmp_path / "ck")
    final = train_cyclegan_trial(config, reporter)
    assert "test/acc_contempt" in final and "test/acc_neutral" not in final  # CK+48's classes
    assert "source/test/acc_neutral" in final  # synthfaces' classes
    predictions = pd.read_csv(reporter.artifacts["predictions.csv"])
    assert set(predictions["label"]) <= set(CK_COUNTS) and "prob_contempt" in predictions


class _Constant(torch.nn.Module):
    """A 'generator' that draws one flat grey level whatever its input, in [-1, 1]."""

    def __init__(self, level: float):
        super().__init__()
        self.level = level

    def forward(self, x):
        return torch.full_like(x, self.level)


def _brightness_judge():
    """A judge that calls a bright face class 0 and a dark one class 1 (of 7)."""
    from trainables.core.judge import Judge

    net = torch.nn.Module()
    # two features, the mean brightness of each half of the face (FID needs more than one)
    net.features = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d((1, 2)), torch.nn.Flatten())
    head = torch.nn.Linear(2, 7)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.weight[0], head.weight[1] = 5.0, -5.0
    net.classifier = torch.nn.Sequential(torch.nn.Identity(), head)
    return Judge(net, 48, torch.device("cpu"), val_acc=0.5)


def test_the_gates_artifact_rate_is_the_judge_on_the_cycles_reconstructions():
    judge = _brightness_judge()
    reference = np.random.default_rng(0).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    # G draws white faces (class 0), F, the cycle back, black ones (class 1): the reconstructions
    # F(G(x)) are all black
    for target, artifacts, agreement in ((1, 1.0, 0.0), (0, 0.0, 1.0)):
        found = quality_metrics(judge, _Constant(1.0), _Constant(-1.0), reference, reference, target,
                                torch.device("cpu"))
        assert (found["artifact_rate"], found["agreement"]) == (artifacts, agreement)

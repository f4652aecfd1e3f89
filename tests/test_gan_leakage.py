"""No validation or test image reaches a GAN-side stage that learns: the real-data judge
(its validation split only chooses its epoch), each CycleGAN and the reference images its
synthetic set translates, FESGAN and R, and the identity extractor.

Each test spies on the functions that receive a stage's training tensors, runs the stage
at its smallest size, and compares what they got with the trial's splits row by row
(hashes of the images prepared the same way): every row is a training image, and none is
a validation or test image. "Every row is a training image" keeps the check from passing
by a format mismatch, where nothing would match anything."""

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from trainables.core import judge
from trainables.core.real_data import images_split, load_real_data
from trainables.core.reporting import InProcessReporter
from trainables.data import EMOTIONS
from trainables.gans.fesr_fit import FESRTrainer
from trainables.nets import net_spec
from trainables.synthetic import cyclegan_synthesis, identity
from trainables.trials import cyclegan, fesr

# every class equally often: a class-fraction sample keeps ≥ 2 training images of each
DATA = {"dataset_options": {"n_images": 210, "n_subjects": 15, "class_weights": {c: 1 for c in EMOTIONS[:7]}},
        "n_folds": 5, "threads": 1}


def _rows(x) -> set[str]:
    x = x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return {hashlib.sha1(np.ascontiguousarray(row).tobytes()).hexdigest() for row in x}


class Splits:
    """Row hashes of a trial's train and held-out (validation + test) images under one
    preparation (`prepare`: uint8 N×H×W → what the stage is given)."""

    def __init__(self, real, prepare):
        images, s = real.data.images, real.splits
        self.train = _rows(prepare(images[s.train]))
        self.val, self.test = _rows(prepare(images[s.val])), _rows(prepare(images[s.test]))
        # the fixture has no image in two splits, so a shared row can only be a leak
        assert not self.train & (self.val | self.test) and not self.val & self.test

    def assert_training_only(self, tensors, what: str) -> None:
        assert tensors, f"the spy on {what} saw nothing"
        for x in tensors:
            seen = _rows(x)
            assert not seen & self.val, f"{what} got {len(seen & self.val)} validation images"
            assert not seen & self.test, f"{what} got {len(seen & self.test)} test images"
            assert seen <= self.train, f"{what} got {len(seen - self.train)} images that are not training images"


def spy_judge_fit(monkeypatch) -> dict:
    """Record the judge's training and validation images as its fit receives them."""
    seen = {"train": [], "val": []}
    real_fit = judge.fit

    def spy(net, train, val, *args, **kwargs):
        seen["train"].append(train.x)
        seen["val"].append(val.x)
        return real_fit(net, train, val, *args, **kwargs)

    monkeypatch.setattr(judge, "fit", spy)
    return seen


def assert_judge_trained_on_training_images(seen: dict, real, real_whole=None) -> None:
    """The judge trains on training images only (the whole training split before
    `class_fraction` sampling: `real_whole`) and chooses its epoch on validation images;
    no test image reaches it."""
    size = net_spec(judge.JudgeOptions().net).input_size

    def prepare(images):
        return images_split(images, np.zeros(len(images), int), size).x

    splits = Splits(real_whole or real, prepare)
    splits.assert_training_only(seen["train"], "the judge's fit (training side)")
    for x in seen["val"]:
        assert _rows(x) <= splits.val, "the judge chose its epoch on images other than validation images"


CYCLEGAN_TINY = {**DATA, "arm": "+disgust", "gan_epochs": 1, "gan_width": 0.0625, "gan_blocks": 1,
                 "gan_batch_size": 32, "judge_width": 0.0625, "judge_epochs": 1}


@pytest.fixture
def one_thread():
    """What the trial's `threads` key does, for the stage functions called without it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synthesize(config: dict, tmp_path):
    """The synthetic side of a CycleGAN trial (judge, GANs, synthetic sets), as the trial
    runs it; returns the parsed config, the trial's real data and the synthetic set."""
    cfg = cyclegan.parse_config({**config, "cache_dir": str(tmp_path)})
    real = load_real_data(cfg.classifier.data, cfg.classifier.seed)
    with tempfile.TemporaryDirectory(prefix="ferlab-test-carried-") as carried:
        _, synthetic = cyclegan.synthesize(cfg, real, InProcessReporter(tmp_path / "trial"), None, Path(carried),
                                           torch.device("cpu"))
    return cfg, real, synthetic


def test_no_held_out_image_reaches_the_judge_a_cyclegan_or_its_synthetic_set(tmp_path, monkeypatch, one_thread):
    """A '+disgust' trial's synthetic side: the judge, the neutral→disgust CycleGAN's two
    training domains, and the neutral images translated into the synthetic set."""
    seen = spy_judge_fit(monkeypatch)
    seen["gan"], seen["translated"] = [], []
    real_train_gan = cyclegan_synthesis.train_cyclegan

    def spy_gan(reference, target, *args, **kwargs):
        seen["gan"] += [reference, target]
        return real_train_gan(reference, target, *args, **kwargs)

    monkeypatch.setattr(cyclegan_synthesis, "train_cyclegan", spy_gan)
    generating = []  # non-empty while a synthetic set is being made (not while it is evaluated)
    real_translate, real_set = cyclegan_synthesis.translate, cyclegan_synthesis.synthetic_set

    def spy_translate(generator, images, *args, **kwargs):
        if generating:
            seen["translated"].append(images)
        return real_translate(generator, images, *args, **kwargs)

    def spy_set(*args, **kwargs):
        *head, generate = args

        def generate_spied():
            generating.append(True)
            try:
                return generate()
            finally:
                generating.pop()

        return real_set(*head, generate_spied, **kwargs)

    monkeypatch.setattr(cyclegan_synthesis, "translate", spy_translate)
    monkeypatch.setattr(cyclegan_synthesis, "synthetic_set", spy_set)
    _, real, synthetic = synthesize(CYCLEGAN_TINY, tmp_path)
    assert_judge_trained_on_training_images(seen, real)
    Splits(real, cyclegan_synthesis._to_gan).assert_training_only(seen["gan"], "the CycleGAN")
    Splits(real, lambda images: images).assert_training_only(seen["translated"], "the synthetic set's translation")
    assert len(synthetic[1]) == sum(len(x) for x in seen["translated"])


class JudgeDone(Exception):
    pass


def test_with_class_fraction_the_judge_takes_the_whole_training_split_and_no_held_out_image(tmp_path, monkeypatch,
                                                                                            one_thread):
    """`class_fraction` samples the classifier's (and the GANs') training split; the judge
    is trained on the whole training split (trainables.core.real_data.judge_split), which
    must still hold no validation or test image. Stops once the judge is trained."""
    seen = spy_judge_fit(monkeypatch)

    def stop(*args, **kwargs):
        raise JudgeDone

    monkeypatch.setattr(cyclegan, "obtain_generators", stop)
    with pytest.raises(JudgeDone):
        synthesize({**CYCLEGAN_TINY, "class_fraction": 0.5}, tmp_path)
    cfg = cyclegan.parse_config({**CYCLEGAN_TINY, "class_fraction": 0.5})
    sampled = load_real_data(cfg.classifier.data, cfg.classifier.seed)
    whole = load_real_data(dataclasses.replace(cfg.classifier.data, class_fraction=None), cfg.classifier.seed)
    assert len(sampled.splits.train) < len(whole.splits.train)
    assert_judge_trained_on_training_images(seen, whole)
    (trained_on,) = seen["train"]
    assert len(trained_on) == len(whole.splits.train)


FESR_TINY = {**DATA, "gan_width": 0.0625, "r_width": 0.0625, "pretrain_iters": 2, "joint_iters": 2,
             "report_every": 2, "batch_size": 8, "identity_epochs": 1, "judge_width": 0.0625, "judge_epochs": 1}


@pytest.mark.parametrize("variant", ["FESR_JL", "FG"])
def test_no_held_out_image_or_subject_reaches_fesgan_r_the_identity_extractor_or_the_judge(tmp_path, monkeypatch,
                                                                                           variant):
    """A FESR trial (FESGAN + R with L_id and the intra-class loss, judged by the real-data
    judge) and a FESGAN-only one (identity extractor and judge for its synthesis
    metrics): every batch Algorithm 1 draws (x and its same-class partner x^{p,r}), the
    pool it draws from, and the identity extractor's images hold training images only;
    the identity extractor learns training subjects only."""
    seen = spy_judge_fit(monkeypatch)
    seen.update(pool=[], batches=[], identity=[], subjects=[])
    real_init, real_draw = FESRTrainer.__init__, FESRTrainer._draw

    def spy_init(self, variant, opts, n_classes, images, *args, **kwargs):
        seen["pool"].append(images)
        real_init(self, variant, opts, n_classes, images, *args, **kwargs)

    def spy_draw(self, t):
        batch = real_draw(self, t)
        seen["batches"] += [batch["x"], batch["x_pr"]]
        return batch

    real_identity = identity.train_identity_net

    def spy_identity(images, subjects, *args, **kwargs):
        seen["identity"].append(images)
        seen["subjects"].append(np.asarray(subjects))
        return real_identity(images, subjects, *args, **kwargs)

    monkeypatch.setattr(FESRTrainer, "__init__", spy_init)
    monkeypatch.setattr(FESRTrainer, "_draw", spy_draw)
    monkeypatch.setattr(identity, "train_identity_net", spy_identity)
    config = {**FESR_TINY, "variant": variant, "cache_dir": str(tmp_path)}
    fesr.train_fesr(config, InProcessReporter(tmp_path / "trial"))
    cfg = fesr.parse_config(config)
    real = load_real_data(cfg.data, cfg.seed)
    in_gan_range = Splits(real, lambda images: fesr.to_gan_range(images, cfg.fesr.size))
    in_gan_range.assert_training_only(seen["pool"], "FESRTrainer's image pool")
    in_gan_range.assert_training_only(seen["batches"], "Algorithm 1's batches")
    in_gan_range.assert_training_only(seen["identity"], "the identity extractor")
    subjects, s = np.asarray(real.data.subjects), real.splits
    (learned,) = seen["subjects"]
    assert set(learned) == set(subjects[s.train])
    assert not set(learned) & set(subjects[s.val]) and not set(learned) & set(subjects[s.test])
    assert_judge_trained_on_training_images(seen, real)


def test_a_judge_split_whose_held_out_images_differ_from_the_trials_is_refused_even_under_python_O():
    from types import SimpleNamespace

    from trainables.core.real_data import check_same_evaluation
    from trainables.data import DataError

    sampled = SimpleNamespace(train=np.array([0, 1]), val=np.array([5, 6]), test=np.array([8, 9]))
    check_same_evaluation(SimpleNamespace(train=np.arange(5), val=np.array([5, 6]), test=np.array([8, 9])), sampled)
    with pytest.raises(DataError, match=r"other test images than the trial's \(2 vs 2, 1 not in the trial's\): "
                                        "sampling class_fraction must leave validation and test unchanged"):
        check_same_evaluation(SimpleNamespace(train=np.arange(5), val=np.array([5, 6]), test=np.array([8, 1])), sampled)
    with pytest.raises(DataError, match=r"other val images than the trial's \(3 vs 2"):
        check_same_evaluation(SimpleNamespace(train=np.arange(5), val=np.array([5, 6, 7]), test=np.array([8, 9])),
                              sampled)

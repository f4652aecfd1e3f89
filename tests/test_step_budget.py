"""`max_passes`: a step budget capped at passes over the fold's real training images, so a
scale sized for FER2013 trains a 200-image set in minutes, and every arm of a comparison
(real images plus oversampled or synthetic ones) keeps the same budget."""

import math

import pytest

from trainables.configs.classifier import parse_config, step_budget
from trainables.core.config import ConfigError
from trainables.core.members import InProcessGroup
from trainables.core.reporting import InProcessReporter
from trainables.trials.classifier import train_classifier
from trainables.trials.classifier_fused import train_classifiers
from trainables.trials.cyclegan import train_cyclegan_trial

CPU = {"net": "simple", "epochs": 20, "steps": 8000, "batch_size": 64, "max_passes": 400}


@pytest.mark.parametrize("n_train, steps", [
    (170, 1063),  # JAFFE-sized: 400 × 170 / 64 = 1062.5 → 1063
    (28709, 8000),  # FER2013's training split: 179k steps of passes, so the scale's 8,000 hold
    (2, 20),  # 400 × 2 / 64 = 12.5 → 13 steps, fewer than the 20 report rounds: one each
])
def test_the_cap_is_passes_over_the_real_training_images(n_train, steps):
    assert step_budget(parse_config(CPU), n_train).steps == steps


def test_without_max_passes_the_budget_is_the_scales():
    assert step_budget(parse_config({**CPU, "max_passes": None}), 170).steps == 8000


@pytest.mark.parametrize("change", [{"steps": None}, {"max_passes": 0}, {"max_passes": -1.5}])
def test_a_cap_without_a_step_budget_or_below_one_pass_fraction_is_refused(change):
    with pytest.raises(ConfigError, match="max_passes caps a step budget"):
        parse_config({**CPU, **change})


TRIAL = {"dataset": "synthfaces", "dataset_options": {"n_images": 420, "n_subjects": 24}, "n_folds": 4,
         "net": "zhu_cnn", "width": 0.125, "epochs": 2, "steps": 500, "batch_size": 32, "max_passes": 2,
         "threads": 1}


def test_a_trial_trains_for_its_passes_and_the_oversampled_arm_for_the_same_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    real = train_classifier(TRIAL, InProcessReporter(tmp_path / "real"))
    n_real = real["data/n_train_real"]
    assert real["budget/steps"] == math.ceil(2 * n_real / 32) < 500
    oversampled = train_cyclegan_trial({**TRIAL, "arm": "oversample+disgust"}, InProcessReporter(tmp_path / "over"))
    assert oversampled["data/n_synthetic"] > 0 and oversampled["data/n_train_real"] == n_real
    assert oversampled["budget/steps"] == real["budget/steps"]  # the repeats add images, not steps
    crossed = train_classifier({**TRIAL, "cross_dataset": "synthfaces"}, InProcessReporter(tmp_path / "cross"))
    assert crossed["budget/steps"] == real["budget/steps"] and crossed["data/n_blind"] > 0


def test_fused_members_whose_folds_give_other_budgets_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    members = [{**TRIAL, "net": "simple", "seed": 0, "fold": fold, "max_passes": 20} for fold in (0, 1)]
    sizes = [train_classifier({**m, "steps": 2}, InProcessReporter(tmp_path / f"f{m['fold']}"))["data/n_train_real"]
             for m in members]
    assert math.ceil(20 * sizes[0] / 32) != math.ceil(20 * sizes[1] / 32)  # the folds' caps differ
    with pytest.raises(ConfigError, match=r"budgets of \[\d+, \d+\] steps"):
        train_classifiers(members, InProcessGroup(2, tmp_path / "fused"))

"""The CycleGAN toy (Zhu et al. §4.1): the trainable in-process, and its study end to end."""


import numpy as np

import pandas as pd
import pytest

from tests.killed_worker import Interrupt, StopAt
from tests.test_launch import launch, launch_record
from trainables.core.config import ConfigError
from trainables.core.reporting import InProcessReporter
from trainables.trials.toy import MINOR, draw_data, oversampled, parse_toy_config, train_toy

SEED0 = {"seed": 0, "threads": 1, "gan_steps": 500}
SHORT = {"seed": 1, "threads": 1, "gan_steps": 400, "report_every": 200}


@pytest.fixture(scope="module")
def seed0(tmp_path_factory):
    reporter = InProcessReporter(tmp_path_factory.mktemp("toy"))
    return train_toy(dict(SEED0), reporter), reporter


def test_generated_points_help_the_minority_class(seed0):
    final, reporter = seed0
    keys = ["test/acc_real_only", "test/acc_augmented", "test/acc_minor_real_only", "test/acc_minor_augmented"]
    assert all(0 <= final[k] <= 1 for k in keys)
    assert final["test/acc_minor_augmented"] > final["test/acc_minor_real_only"]
    assert all("val/acc" in m for m in reporter.history)  # Tune's metric, in every report
    assert not [k for m in reporter.history for k in m if "best" in k]  # watched, never chosen on
    assert final["data/n_generated"] == 900 and "points.csv" in reporter.artifacts


@pytest.mark.parametrize("sizes, n_train, repeats", [
    # 2 × 1000 + 100 + 900: each minority point once real and 9 times repeated
    ({"n_minor": 100, "n_generated": 900}, 3000, {10: 100}),
    # 2 × 1000 + 30 + 100: 3 copies of each (90) and 10 more drawn once: 10 points × 5, 20 × 4
    ({"n_minor": 30, "n_generated": 100}, 2130, {5: 10, 4: 20}),
])
def test_oversample_repeats_each_minority_point_equally(sizes, n_train, repeats):
    cfg = parse_toy_config({"seed": 3, "n_major": 1000, **sizes})
    x, y = oversampled(draw_data(cfg), cfg)
    assert len(x) == len(y) == n_train
    assert np.bincount(y).tolist() == [1000, 1000, n_train - 2000]
    _, counts = np.unique(x[y == MINOR], axis=0, return_counts=True)
    assert dict(zip(*np.unique(counts, return_counts=True))) == repeats


def test_a_trial_reports_the_oversampling_control(seed0):
    final, reporter = seed0
    assert 0 <= final["test/acc_oversample"] <= 1 and 0 <= final["test/acc_minor_oversample"] <= 1
    assert final["test/acc_minor_oversample"] > final["test/acc_minor_real_only"]
    assert all(m["val/acc_oversample"] == final["val/acc_oversample"] for m in reporter.history)


def test_no_arm_is_chosen_on_validation(monkeypatch, tmp_path):
    """The controls are tested with their only SVM, so the GAN arm is tested with its last
    generator, even where validation would prefer an earlier one (validation accuracy made
    to fall report by report here)."""
    from trainables.trials import toy

    fits, scores, real_fit = [], [], toy.fit_svm

    def spy_fit(x, y, cfg):
        fits.append(x.copy())
        return real_fit(x, y, cfg)

    def falling(svm, x, y):  # each score below the one before: validation prefers the first generator
        scores.append(1.0 - 0.01 * len(scores))
        return scores[-1], scores[-1]

    monkeypatch.setattr(toy, "fit_svm", spy_fit)
    monkeypatch.setattr(toy, "accuracies", falling)
    small = {"seed": 1, "threads": 1, "gan_steps": 40, "report_every": 20, "n_major": 200, "n_minor": 20,
             "n_generated": 180, "n_eval": 30}
    final = train_toy(small, InProcessReporter(tmp_path))
    # fits: real only, oversampling, one augmented SVM per report (2), then the tested augmented one
    assert len(fits) == 5
    assert np.array_equal(fits[-1], fits[-2])  # tested on the last report's generator …
    assert not np.array_equal(fits[-1], fits[-3])  # … not the first report's, which validation preferred
    assert final["step"] == 40


def test_same_seed_same_numbers(seed0, tmp_path):
    assert train_toy(dict(SEED0), InProcessReporter(tmp_path)) == seed0[0]


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    whole = train_toy(dict(SHORT), InProcessReporter(tmp_path / "whole"))
    with pytest.raises(Interrupt):
        train_toy(dict(SHORT), StopAt(tmp_path / "killed", n=1))
    resumed = InProcessReporter(tmp_path / "killed")
    assert train_toy(dict(SHORT), resumed) == whole
    assert [m["step"] for m in resumed.history] == [400]


@pytest.mark.parametrize("bad, message", [
    ({"n_minor": 0}, "'n_minor' must be ≥ 1"),
    ({"adv_loss": "wgan-gp"}, "'adv_loss' = 'wgan-gp' is not allowed"),
    ({"gan_step": 10}, "unknown config key.*gan_step"),
    ({"n_generated": 2000}, "n_generated"),
    ({"fold": 1}, "'fold' = 1"),
])
def test_bad_config_names_the_key(bad, message):
    with pytest.raises(ConfigError, match=message):
        train_toy({**SEED0, **bad}, InProcessReporter())


def test_smoke_study_prints_the_table_beside_the_paper(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = launch("cyclegan_toy", "--scale", "smoke", "--storage-path", str(tmp_path / "ray"), "--tracking-uri", uri,
                 cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "CycleGAN toy (Zhu et al. §4.1)" in out.stdout
    assert "Zhu et al. 2017: 93.30" in out.stdout and "Zhu et al. 2017: 98.00" in out.stdout
    record = launch_record(tmp_path, "ray")
    assert record["parent_run_id"] in out.stdout
    stats = pd.read_csv(tmp_path / "reports" / "cyclegan_toy" / "cyclegan_toy.stats.csv")
    ours = stats[stats["kind"] == "ours"]
    assert set(ours["training set"]) == {"linear SVM, real only", "+ 900 CycleGAN points", "+ repeated minority points"}
    assert (ours["n"] == 2).all() and ours["mean"].between(0, 1).all()
    minority = ours[ours["column"] == "minority acc"].set_index("training set")["mean"]
    assert minority["+ 900 CycleGAN points"] > minority["linear SVM, real only"]
    cheap = pd.read_csv(tmp_path / "reports" / "cyclegan_toy" / "cyclegan_toy_vs_oversample.stats.csv")
    assert (cheap["kind"] == "paired_diff").sum() == 2  # the GAN row's two Δ vs oversampling

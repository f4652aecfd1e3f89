"""The CycleGAN toy (Zhu et al. §4.1): the trainable in-process, and its study end to end."""

import json

import pandas as pd
import pytest

from tests.test_launch import launch
from trainables.config import ConfigError
from trainables.reporting import InProcessReporter
from trainables.toy import train_toy

SEED0 = {"seed": 0, "threads": 1, "gan_steps": 500}
SHORT = {"seed": 1, "threads": 1, "gan_steps": 400, "report_every": 200}


class Interrupt(Exception):
    pass


class StopAfterFirst(InProcessReporter):
    def report(self, metrics, checkpoint_dir=None):
        super().report(metrics, checkpoint_dir)
        raise Interrupt


@pytest.fixture(scope="module")
def seed0(tmp_path_factory):
    reporter = InProcessReporter(tmp_path_factory.mktemp("toy"))
    return train_toy(dict(SEED0), reporter), reporter


def test_generated_points_help_the_minority_class(seed0):
    final, reporter = seed0
    keys = ["test/acc_real_only", "test/acc_augmented", "test/acc_minor_real_only", "test/acc_minor_augmented"]
    assert all(0 <= final[k] <= 1 for k in keys)
    assert final["test/acc_minor_augmented"] > final["test/acc_minor_real_only"]
    assert final["val/acc_best"] == max(m["val/acc"] for m in reporter.history)
    assert all("val/acc_best" in m for m in reporter.history)  # Tune's metric, in every report
    assert final["data/n_generated"] == 900 and "points.csv" in reporter.artifacts


def test_same_seed_same_numbers(seed0, tmp_path):
    assert train_toy(dict(SEED0), InProcessReporter(tmp_path)) == seed0[0]


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    whole = train_toy(dict(SHORT), InProcessReporter(tmp_path / "whole"))
    with pytest.raises(Interrupt):
        train_toy(dict(SHORT), StopAfterFirst(tmp_path / "killed"))
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
    record = json.loads(next((tmp_path / "ray").glob("*/ferlab_launch.json")).read_text())
    assert record["parent_run_id"] in out.stdout
    stats = pd.read_csv(tmp_path / "reports" / "cyclegan_toy" / "cyclegan_toy.stats.csv")
    ours = stats[stats["kind"] == "ours"]
    assert set(ours["training set"]) == {"linear SVM, real only", "+ 900 CycleGAN points"}
    assert (ours["n"] == 2).all() and ours["mean"].between(0, 1).all()
    minority = ours[ours["column"] == "minority acc"].set_index("training set")["mean"]
    assert minority["+ 900 CycleGAN points"] > minority["linear SVM, real only"]

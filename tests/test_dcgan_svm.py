"""DCGAN features + SVM (Alharbawee & Pugeault): ROC/AUC against scikit-learn, the
Optuna search's reproducibility, that labels never reach the DCGAN and the test side
never reaches the SVM's tuning, the feature cache, and the study launched small."""

import hashlib
import inspect

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from tests.test_launch import CKPLUS
from trainables.core.config import ConfigError
from trainables.core.reporting import InProcessReporter
from trainables.core.roc import auc, ovr_auc, roc_curve
from trainables.core.svm_tuning import SVMSearch, cv_folds, tune_svm
from trainables.gans.dcgan_fit import DCGANTrainer
from trainables.synthetic.dcgan_pretrain import pretrain_dcgan, trainer_options
from trainables.trials import dcgan_svm

TINY = {"dataset_options": {"n_images": 240, "n_subjects": 12}, "n_folds": 4, "dcgan_epochs": 2,
        "dcgan_width": 0.0625, "dcgan_batch_size": 32, "dcgan_size": 48, "eval_samples": 40, "svm_trials": 3,
        "inner_folds": 3, "judge_epochs": 1, "judge_width": 0.0625, "threads": 1}


def test_roc_and_auc_match_scikit_learn_on_a_fixed_case_with_ties():
    rng = np.random.default_rng(0)
    positive = rng.integers(0, 2, 300).astype(bool)
    scores = np.round(rng.normal(size=300) + positive, 1)  # rounded: many ties
    fpr, tpr = roc_curve(positive, scores)
    their_fpr, their_tpr, _ = sklearn_roc_curve(positive, scores, drop_intermediate=False)
    assert np.allclose(fpr, their_fpr) and np.allclose(tpr, their_tpr)
    assert auc(positive, scores) == pytest.approx(roc_auc_score(positive, scores), abs=1e-12)
    labels = rng.integers(0, 3, 300)
    multi = rng.normal(size=(300, 3)) + np.eye(3)[labels]
    found = ovr_auc(labels, multi, ["a", "b", "c"])
    for k, name in enumerate("abc"):
        assert found[f"auc_{name}"] == pytest.approx(roc_auc_score(labels == k, multi[:, k]), abs=1e-12)
    assert found["mean_auc"] == pytest.approx(np.mean([found[f"auc_{n}"] for n in "abc"]))


def _toy(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 150)
    x = rng.normal(size=(150, 12)) + 1.5 * np.eye(3, 12)[y]
    return x, y, np.repeat(np.arange(30), 5)


def test_optuna_search_is_reproducible_for_a_seed_and_changes_with_it():
    x, y, groups = _toy()
    a = tune_svm(x, y, groups, SVMSearch(n_trials=5, inner_folds=4, seed=3))
    b = tune_svm(x, y, groups, SVMSearch(n_trials=5, inner_folds=4, seed=3))
    c = tune_svm(x, y, groups, SVMSearch(n_trials=5, inner_folds=4, seed=4))
    assert a == b and a[0] != c[0]


def test_inner_folds_keep_each_subject_in_one_fold():
    _, y, groups = _toy()
    for train, val in cv_folds(y, groups, 5, seed=0):
        assert not set(groups[train]) & set(groups[val])


def test_the_dcgan_is_given_images_only(tmp_path, monkeypatch):
    """No DCGAN entry point takes labels, and the one tensor the trainer gets in a trial is
    the pre-training images themselves (N×1×S×S, nothing appended)."""
    for fn in (DCGANTrainer.__init__, pretrain_dcgan):
        assert not any("label" in p for p in inspect.signature(fn).parameters)
    given = []
    original = DCGANTrainer.__init__

    def spy(self, opts, images, device):
        given.append(images)
        original(self, opts, images, device)

    monkeypatch.setattr(DCGANTrainer, "__init__", spy)
    cfg = {**TINY, "cache_dir": str(tmp_path)}
    dcgan_svm.train_dcgan_svm(cfg, InProcessReporter(tmp_path / "trial"))
    pre, _, test = dcgan_svm.experiment_sides(dcgan_svm.parse_config(cfg))
    (images,) = given
    expected = torch.from_numpy(dcgan_svm.resize_images(pre.images, 48)).float().div_(127.5).sub_(1).unsqueeze(1)
    assert images.shape == expected.shape and torch.equal(images, expected)
    assert not set(pre.idx) & set(test.idx)  # the pre-training side never holds a test image


def test_a_capped_dcgan_learns_from_a_sample_and_the_baseline_cnn_from_the_whole_side(tmp_path, monkeypatch):
    """`dcgan_max_images` shrinks the DCGAN's images only: the baseline CNN (the `cnn`
    features and the FID's instrument) trains and validates on every pre-training image."""
    given, judged = [], []
    original = DCGANTrainer.__init__

    def spy(self, opts, images, device):
        given.append(len(images))
        original(self, opts, images, device)

    def judge_spy(images, labels, train_idx, val_idx, *args, **kwargs):
        judged.append(np.concatenate([train_idx, val_idx]))
        return real_judge(images, labels, train_idx, val_idx, *args, **kwargs)

    real_judge = dcgan_svm.real_data_judge
    monkeypatch.setattr(DCGANTrainer, "__init__", spy)
    monkeypatch.setattr(dcgan_svm, "real_data_judge", judge_spy)
    cfg = {**TINY, "cache_dir": str(tmp_path), "dcgan_max_images": 50}
    found = dcgan_svm.train_dcgan_svm(cfg, InProcessReporter(tmp_path / "trial"))
    pre, _, _ = dcgan_svm.experiment_sides(dcgan_svm.parse_config(cfg))
    assert given == [50] and found["data/n_pretrain"] == 50
    (seen,) = judged
    assert sorted(seen) == sorted(pre.idx) and found["data/n_cnn_pretrain"] == len(pre.idx) > 50


@pytest.mark.parametrize("override, beta1", [({}, 0.9), ({"dcgan_beta1": 0.5}, 0.5)])
def test_the_study_s_dcgan_uses_the_papers_adam_beta1(override, beta1):
    """Alharbawee & Pugeault: "a momentum coefficient term, denoted by β_1, was chosen to be
    0.9"; Radford's 0.5 stays selectable."""
    from search_spaces.dcgan_svm import STUDY
    cfg = dcgan_svm.parse_config({**STUDY.base_config, "dcgan_width": 0.0625, **override})
    trainer = DCGANTrainer(trainer_options(cfg.dcgan), torch.zeros(2, 1, 64, 64),
                           torch.device("cpu"))
    assert [opt.param_groups[0]["betas"] for opt in trainer.bundle.optims.values()] == [(beta1, 0.999)] * 2


def _row_hashes(x: np.ndarray) -> set[str]:
    return {hashlib.sha1(np.ascontiguousarray(row).tobytes()).hexdigest() for row in x}


@pytest.mark.parametrize("features", ["dcgan", "pixels", "cnn"])
def test_svm_tuning_sees_only_the_training_side_and_test_is_scored_once(tmp_path, monkeypatch, features):
    seen = {}
    real_tune, real_fit = dcgan_svm.tune_svm, dcgan_svm.fit_and_test
    monkeypatch.setattr(dcgan_svm, "tune_svm", lambda x, y, g, s: seen.setdefault("tune", x) is None
                        or real_tune(x, y, g, s))
    monkeypatch.setattr(dcgan_svm, "fit_and_test", lambda train, test, *a: seen.setdefault("test", test[0]) is None
                        or real_fit(train, test, *a))
    out = dcgan_svm.train_dcgan_svm({**TINY, "features": features, "cache_dir": str(tmp_path)},
                                    InProcessReporter(tmp_path / "trial"))
    assert not _row_hashes(seen["tune"]) & _row_hashes(seen["test"])
    assert len(seen["tune"]) == out["data/n_svm_train"] and len(seen["test"]) == out["data/n_test"]
    assert 0 <= out["test/acc"] <= 1 and 0 <= out["test/mean_auc"] <= 1


def test_features_are_extracted_once_per_extractor_and_side(tmp_path, monkeypatch):
    calls = []
    real = dcgan_svm.resize_images
    monkeypatch.setattr(dcgan_svm, "resize_images", lambda *a, **k: calls.append(1) or real(*a, **k))
    config = {**TINY, "features": "pixels", "cache_dir": str(tmp_path)}
    first = dcgan_svm.train_dcgan_svm(config, InProcessReporter(tmp_path / "a"))
    again = dcgan_svm.train_dcgan_svm(config, InProcessReporter(tmp_path / "b"))
    assert len(calls) == 2 and first["test/acc"] == again["test/acc"]  # train and test side, once


def test_launch_prints_the_matrix_and_quality_tables(tmp_path):
    from tests.test_launch import launch, launched_runs

    out = launch("dcgan_svm", "--set", "dcgan_epochs=2", "--set", "dcgan_width=0.0625", "--set", "svm_trials=3",
                 "--set", "inner_folds=3", "--set", "judge_epochs=1", "--set", "eval_samples=40",
                 "--set", 'dataset_options={"n_images": 240, "n_subjects": 12}', cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, _, runs = launched_runs(tmp_path)
    assert sorted(r.data.params["features"] for r in runs) == ["cnn", "dcgan", "pixels"]
    dcgan = next(r for r in runs if r.data.params["features"] == "dcgan")
    history = client.get_metric_history(dcgan.info.run_id, "dcgan/fid_fer")
    # one report per DCGAN epoch, then the SVM's, which carries the last epoch's measurements
    assert [m.step for m in history] == [0, 1, 2] and history[2].value == history[1].value
    epochs = client.get_metric_history(dcgan.info.run_id, "dcgan/epoch")
    assert [m.value for m in sorted(epochs, key=lambda m: m.step)] == [0, 1, 1]
    assert {"roc.csv", "confusion_matrix.csv", "dcgan_history.csv"} <= {a.path for a in
                                                                        client.list_artifacts(dcgan.info.run_id)}
    assert "DCGAN features + SVM" in out.stdout and "IS: not measured" in out.stdout


def test_local_inception_weights_add_is_and_standard_fid(tmp_path):
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    weights = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), weights)
    out = dcgan_svm.train_dcgan_svm({**TINY, "dcgan_epochs": 1, "eval_samples": 12, "inception_weights": str(weights),
                                     "cache_dir": str(tmp_path)}, InProcessReporter(tmp_path / "trial"))
    assert out["dcgan/is"] >= 1.0 and out["dcgan/fid_inception"] >= 0
    with pytest.raises(ConfigError, match="inception_weights .* is not a file"):
        dcgan_svm.parse_config({"inception_weights": str(tmp_path / "missing.pth")})


def test_the_cross_dataset_matrix_is_two_grid_axes_with_one_map_of_roots(tmp_path, monkeypatch):
    from search_spaces.dcgan_svm import STUDY
    from study.runner import LaunchOptions, trial_space

    (tmp_path / "ck").mkdir()
    (tmp_path / "fer.csv").touch()
    monkeypatch.chdir(tmp_path)
    overrides = {"data_roots": {"ckplus": "ck", "fer2013": "fer.csv"}, "pretrain_dataset": ["fer2013", "ckplus"],
                 "test_dataset": [None, "fer2013"]}
    space = trial_space(STUDY, LaunchOptions("smoke", "ckplus", "ck", "ray", "sqlite:///m.db", overrides=overrides),
                        has_official_split=False)
    assert space["pretrain_dataset"] == {"grid_search": ["fer2013", "ckplus"]}
    assert space["test_dataset"] == {"grid_search": [None, "fer2013"]}
    # trials do not run in the launch's directory: the roots are made absolute
    assert space["data_roots"] == {"ckplus": str(tmp_path / "ck"), "fer2013": str(tmp_path / "fer.csv")}
    cfg = dcgan_svm.parse_config({"dataset": "ckplus", "pretrain_dataset": "fer2013", "test_dataset": "ckplus",
                                  "data_roots": space["data_roots"]})
    assert cfg.root_for("fer2013") == str(tmp_path / "fer.csv") and cfg.root_for("ckplus") == str(tmp_path / "ck")
    assert cfg.root_for("fer2013", "elsewhere") == "elsewhere"  # a side's own root wins
    with pytest.raises(ConfigError, match=r"data_roots\['fer2013'\]"):
        dcgan_svm.parse_config({"pretrain_dataset": "fer2013", "data_roots": {"ckplus": "ck"}})
    with pytest.raises(ConfigError, match="data_roots names unregistered datasets \\['mnist'\\]"):
        dcgan_svm.parse_config({"data_roots": {"mnist": "ck"}})


@pytest.mark.skipif(not CKPLUS.is_dir(), reason=f"real CK+48 not found at {CKPLUS} (set FERLAB_DATASETS)")
def test_a_real_pretraining_side_from_the_map(tmp_path):
    cfg = dcgan_svm.parse_config({**TINY, "pretrain_dataset": "ckplus", "data_roots": {"ckplus": str(CKPLUS)},
                                  "cache_dir": str(tmp_path)})
    pre, train, test = dcgan_svm.experiment_sides(cfg)
    assert pre.data.name == "ckplus" and len(pre.idx) == 981  # all of CK+48: the test side is synthfaces
    assert train.data.name == test.data.name == "synthfaces"

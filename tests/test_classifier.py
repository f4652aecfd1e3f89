"""The classifier trainable in-process: metrics, config validation, determinism, resume."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from tests.killed_worker import Interrupt, StopAt
from trainables.core.config import ConfigError
from trainables.core.metrics import classification_metrics
from trainables.core.reporting import InProcessReporter
from trainables.core import fit as fit_module
from trainables.core.fit import predict
from trainables.core.real_data import load_real_data, tensor_split
from trainables.nets import net_spec
from trainables.trials.classifier import build_net, parse_config, train_classifier

TINY = {"dataset": "synthfaces", "dataset_options": {"n_images": 360, "n_subjects": 24}, "net": "zhu_cnn",
        "width": 0.25, "epochs": 3, "batch_size": 32, "n_folds": 4, "augment": "classical", "threads": 1}


def test_classification_metrics_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0])
    m = classification_metrics(labels, preds, ["a", "b", "c"])
    assert m["acc"] == pytest.approx(4 / 6)
    assert m["acc_a"] == 0.5 and m["acc_b"] == 1.0 and m["acc_c"] == 0.5
    # one-vs-rest for "a": TP=1, FP=1 (a c predicted a), FN=1, TN=3 -> 4/6
    assert m["ovr_acc_a"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx(np.mean([0.5, 0.8, 2 / 3]))


def test_top_pred_share_by_hand():
    """The share of predictions in the most-predicted class, whatever the labels: 3 of 4
    predictions say "a"."""
    m = classification_metrics(np.array([0, 1, 2, 1]), np.array([0, 0, 0, 1]), ["a", "b", "c"])
    assert m["top_pred_share"] == pytest.approx(0.75)
    assert classification_metrics(np.array([0, 1]), np.array([1, 1]), ["a", "b"])["top_pred_share"] == 1.0


def test_class_without_test_images_gets_no_accuracy():
    m = classification_metrics(np.array([0, 0]), np.array([0, 1]), ["a", "b"])
    assert "acc_b" not in m and m["ovr_acc_b"] == 0.5


@pytest.mark.parametrize("bad, message", [
    ({"nett": "simple"}, "unknown config key"),
    ({"net": "resnet"}, "allowed values"),
    ({"epochs": "ten"}, "wrong type"),
    ({"augment": "gan"}, "allowed values"),
    ({"epochs": 0}, "≥ 1"),
    ({"optimizer": "rmsprop"}, r"allowed values: \['adam', 'adamw', 'sgd'\]"),
    ({"schedule": "step"}, r"allowed values: \['onecycle', 'cosine', 'constant'\]"),
    ({"beta1": 1.0}, r"beta1 and beta2 .* \[0, 1\)"),
    ({"optimizer": "sgd", "beta1": 0.5}, "Nesterov momentum"),
])
def test_bad_config_names_the_key(bad, message):
    with pytest.raises(ConfigError, match=message):
        train_classifier({**TINY, **bad}, InProcessReporter())


@pytest.mark.parametrize("extra, betas", [({}, (0.9, 0.999)),  # the default: what every config trained with
                                          ({"beta1": 0.5}, (0.5, 0.999)),  # Zhu et al.'s β1
                                          ({"optimizer": "adamw", "beta1": 0.5, "beta2": 0.99}, (0.5, 0.99))])
def test_adam_betas_are_config_keys_that_reach_the_optimizer(extra, betas, tmp_path, monkeypatch):
    made = []
    real = fit_module.make_optimizer
    monkeypatch.setattr(fit_module, "make_optimizer", lambda net, opts: made.append(real(net, opts)) or made[-1])
    train_classifier({**TINY, "epochs": 1, "steps": 2, **extra}, InProcessReporter(tmp_path))
    assert [opt.param_groups[0]["betas"] for opt in made] == [betas]


@pytest.mark.parametrize("what, name, call", [
    ("optimizer", "rmsprop", lambda opts: fit_module.make_optimizer([torch.zeros(1, requires_grad=True)], opts)),
    ("schedule", "step", lambda opts: fit_module.lr_factor(opts.schedule, 1, 10)),
])
def test_an_unknown_optimizer_or_schedule_fails_naming_the_known_ones(what, name, call):
    """No silent fallback (an unknown optimizer used to train with SGD, an unknown schedule
    with cosine), wherever the options come from."""
    from types import SimpleNamespace

    known = {"optimizer": "adam, adamw, sgd", "schedule": "onecycle, cosine, constant"}[what]
    opts = SimpleNamespace(optimizer="adam", schedule="onecycle", lr=0.1, weight_decay=0.0, betas=(0.9, 0.999))
    with pytest.raises(ValueError, match=f"unknown {what} '{name}'; known: {known}"):
        call(SimpleNamespace(**{**vars(opts), what: name}))
    with pytest.raises(ValueError, match=f"unknown {what} '{name}'; known: {known}"):
        fit_module.FitOptions(**{"epochs": 1, "batch_size": 8, "lr": 0.1, "optimizer": "adam", "weight_decay": 0.0,
                                 "schedule": "onecycle", "augment": False, "label_smoothing": 0.0, "seed": 0,
                                 what: name})


def test_reports_once_per_epoch_and_final_metrics(tmp_path):
    reporter = InProcessReporter(tmp_path)
    final = train_classifier(TINY, reporter)
    assert [h["epoch"] for h in reporter.history] == [0, 1, 2]
    assert final["val/acc_best"] == max(h["val/acc"] for h in reporter.history)
    for key in ("test/acc", "test/acc_at_best_val", "test/macro_f1_at_best_val", "test/ovr_acc_happy_at_best_val"):
        assert 0.0 <= final[key] <= 1.0
    predictions = pd.read_csv(reporter.artifacts["predictions.csv"])
    assert len(predictions) == final["data/n_test"]
    assert (predictions["label"] == predictions["pred"]).mean() == pytest.approx(final["test/acc_at_best_val"])
    confusion = pd.read_csv(reporter.artifacts["confusion_matrix.csv"], index_col=0)
    assert confusion.values.sum() == final["data/n_test"]


def test_test_metrics_and_predictions_come_from_the_epoch_validation_chose(tmp_path, monkeypatch):
    """Validation made to peak at epoch 1 of 3: `test/acc_at_best_val` and predictions.csv
    are those of the weights after epoch 1 (snapshotted here, evaluated here), `test/acc`
    those of the last epoch's."""
    config = TINY
    forced_val_acc, snapshots = iter([0.5, 0.9, 0.7]), []
    real_evaluate = fit_module._evaluate

    def evaluate(net, split, device, hflip_tta):
        loss, _ = real_evaluate(net, split, device, hflip_tta)
        snapshots.append(copy.deepcopy(net.state_dict()))
        return loss, next(forced_val_acc)

    monkeypatch.setattr(fit_module, "_evaluate", evaluate)
    reporter = InProcessReporter(tmp_path)
    final = train_classifier(config, reporter)
    assert final["best_epoch"] == 1 and final["val/acc_best"] == 0.9 and len(snapshots) == 3

    cfg = parse_config(config)
    real, device = load_real_data(cfg.data, cfg.seed), torch.device("cpu")
    test = tensor_split(real.data.images, real.labels, real.splits.test, net_spec(cfg.net).input_size)

    def test_probabilities(state):
        net = build_net(cfg, len(real.class_names), device)
        net.load_state_dict(state)
        return predict(net, test.x, device).numpy()

    chosen, last, y = test_probabilities(snapshots[1]), test_probabilities(snapshots[-1]), test.y.numpy()
    assert np.abs(chosen - last).max() > 1e-3  # the two nets can be told apart on test
    assert final["test/acc_at_best_val"] == pytest.approx((chosen.argmax(1) == y).mean())
    assert final["test/acc"] == pytest.approx((last.argmax(1) == y).mean())
    predictions = pd.read_csv(reporter.artifacts["predictions.csv"])
    assert predictions["pred"].tolist() == [real.class_names[k] for k in chosen.argmax(1)]
    np.testing.assert_allclose(predictions[[f"prob_{c}" for c in real.class_names]].to_numpy(), chosen, atol=1e-5)


def test_reports_where_the_chosen_epoch_lies_and_prediction_collapse(tmp_path):
    """`selection/at_fraction` = (chosen epoch + 1) / epochs in every report, the chosen
    epoch being the first best `val/acc` so far; `top_pred_share` at both test points."""
    reporter = InProcessReporter(tmp_path)
    final = train_classifier(TINY, reporter)
    val_acc = [h["val/acc"] for h in reporter.history]
    for epoch, report in enumerate(reporter.history):
        chosen = int(np.argmax(val_acc[:epoch + 1]))  # argmax returns the first of equal maxima
        assert report["selection/at_fraction"] == pytest.approx((chosen + 1) / TINY["epochs"])
    for key in ("test/top_pred_share", "test/top_pred_share_at_best_val"):
        assert 1 / 7 <= final[key] <= 1.0


def test_same_seed_same_metrics(tmp_path):
    a = train_classifier({**TINY, "epochs": 2}, InProcessReporter(tmp_path / "a"))
    b = train_classifier({**TINY, "epochs": 2}, InProcessReporter(tmp_path / "b"))
    c = train_classifier({**TINY, "epochs": 2, "seed": 1}, InProcessReporter(tmp_path / "c"))
    assert a == b
    assert a["train/loss"] != c["train/loss"]


def test_interrupted_trial_resumes_from_its_checkpoint(tmp_path):
    straight = train_classifier(TINY, InProcessReporter(tmp_path / "straight"))
    with pytest.raises(Interrupt):
        train_classifier(TINY, StopAt(tmp_path / "resumed", n=2))  # after epoch 1's report
    resumed = InProcessReporter(tmp_path / "resumed")
    final = train_classifier(TINY, resumed)
    assert [h["epoch"] for h in resumed.history] == [2]  # epochs 0-1 came from the checkpoint
    assert final == straight

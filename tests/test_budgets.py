"""Budgets everywhere: every registered trainable, run in-process on its tiniest config,
says in every report the optimizer steps its compared model has taken so far
(`budget/steps`), and the count is the one its config implies: a step budget's share per
report round, or epochs × batches. The tables refuse to pair arms whose budgets differ,
which they can only do where every run logs one."""

import math

import pytest

from trainables.core.reporting import InProcessReporter
from trainables.trials import dcgan_svm
from trainables.trials.registry import get_trainable, list_trainables

FACES = {"dataset_options": {"n_images": 240, "n_subjects": 12}, "n_folds": 4, "threads": 1}


def _rounds(steps: int, epochs: int) -> list[int]:
    """A step budget split over report rounds (trainables.core.fit.round_steps), cumulative."""
    return [steps * (e + 1) // epochs for e in range(epochs)]


def _classifier(history, cfg):
    return [h["budget/steps"] for h in history] == _rounds(cfg["steps"], cfg["epochs"])


def _cyclegan(history, cfg):
    """The GANs' epochs first (the classifier has taken no step: 0; each GAN counts its own
    generator updates, epochs × batches of the larger class), then the classifier's rounds."""
    from trainables.core.real_data import load_real_data
    from trainables.synthetic.cyclegan_synthesis import ClassImages
    from trainables.trials.cyclegan import parse_config

    clf = parse_config(cfg).classifier
    real = load_real_data(clf.data, clf.seed)
    sizes = [len(ClassImages(real, real.splits.train, c).images) for c in ("neutral", "disgust")]
    per_epoch = math.ceil(max(sizes) / min(cfg["gan_batch_size"], *sizes))
    gan = [h for h in history if "gan_disgust/budget/steps" in h]
    assert [h["gan_disgust/budget/steps"] for h in gan] == [per_epoch * (e + 1) for e in range(cfg["gan_epochs"])]
    assert all(h["budget/steps"] == 0 for h in gan)
    return [h["budget/steps"] for h in history[len(gan):]] == _rounds(cfg["steps"], cfg["epochs"])


def _toy(history, cfg):
    return [h["budget/steps"] for h in history] == list(range(cfg["report_every"], cfg["gan_steps"] + 1,
                                                             cfg["report_every"]))


def _fesr(history, cfg):
    # stage 1 trains FESGAN alone: R (the compared net) has taken 0 steps; then R's iterations
    stage1 = cfg["pretrain_iters"] // cfg["report_every"]
    joint = list(range(cfg["report_every"], cfg["joint_iters"] + 1, cfg["report_every"]))
    return [h["budget/steps"] for h in history] == [0] * stage1 + joint


def _dcgan_svm(history, cfg):
    # the DCGAN's epochs (epochs × batches of the pre-training images), then the SVM's report
    per_epoch = math.ceil(history[-1]["data/n_pretrain"] / cfg["dcgan_batch_size"])
    expected = [per_epoch * (e + 1) for e in range(cfg["dcgan_epochs"])]
    return [h["budget/steps"] for h in history] == expected + expected[-1:]


def _synthetic_ratio(history, cfg):
    # budget 'epochs': passes over the training set in batches
    per_epoch = math.ceil(history[-1]["data/n_train"] / cfg["batch_size"])
    return [h["budget/steps"] for h in history] == [per_epoch * (e + 1) for e in range(cfg["epochs"])]


CASES = {
    "classifier": ({**FACES, "net": "zhu_cnn", "width": 0.125, "epochs": 3, "steps": 10, "batch_size": 16},
                   _classifier),
    "cyclegan": ({**FACES, "dataset_options": {"n_images": 420, "n_subjects": 24}, "arm": "+disgust",
                  "net": "zhu_cnn", "width": 0.125, "epochs": 2, "steps": 6, "batch_size": 16, "gan_epochs": 2,
                  "gan_width": 0.0625, "gan_blocks": 0, "gan_batch_size": 8, "judge_width": 0.0625,
                  "judge_epochs": 1}, _cyclegan),
    "cyclegan_toy": ({"threads": 1, "gan_steps": 40, "report_every": 20, "n_major": 200, "n_minor": 20,
                      "n_generated": 180, "n_eval": 30}, _toy),
    "fesr": ({**FACES, "gan_width": 0.0625, "r_width": 0.0625, "pretrain_iters": 4, "joint_iters": 4,
              "report_every": 2, "batch_size": 8, "identity_epochs": 1, "judge_width": 0.0625, "judge_epochs": 1},
             _fesr),
    "dcgan_svm": ({**FACES, "dcgan_epochs": 2, "dcgan_width": 0.0625, "dcgan_batch_size": 32, "dcgan_size": 48,
                   "eval_samples": 20, "svm_trials": 2, "inner_folds": 2, "judge_epochs": 1, "judge_width": 0.0625},
                  _dcgan_svm),
    "synthetic_ratio": ({**FACES, "net": "picha_cnn", "width": 0.0625, "epochs": 2, "batch_size": 32,
                         "judge_width": 0.0625, "judge_epochs": 1, "max_ratio": 1,
                         "cross_options": {"n_images": 60, "n_subjects": 6, "seed": 7}}, _synthetic_ratio),
}


def test_every_registered_trainable_has_a_budget_case():
    assert sorted(CASES) == list_trainables()


@pytest.mark.parametrize("name", list_trainables())
def test_every_report_of_every_trainable_carries_its_step_budget(name, tmp_path, monkeypatch):
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))  # nothing trained elsewhere is reused
    config, expected = CASES[name]
    train, parse = get_trainable(name)
    parse(config)
    reporter = InProcessReporter(tmp_path / "trial")
    train(config, reporter)
    missing = [i for i, h in enumerate(reporter.history) if "budget/steps" not in h]
    assert reporter.history and not missing, f"{name}: reports {missing} log no budget/steps"
    assert expected(reporter.history, config), [h["budget/steps"] for h in reporter.history]


@pytest.mark.parametrize("features", ["cnn", "pixels"])
def test_dcgan_svm_budget_is_the_steps_of_the_network_whose_features_the_svm_reads(features, tmp_path, monkeypatch):
    """`cnn`: the baseline CNN's training (judge_epochs × batches of 64 of the 90 % it
    trains on); `pixels`: nothing trained, 0."""
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "cache"))
    config = {**CASES["dcgan_svm"][0], "features": features}
    reporter = InProcessReporter(tmp_path / "trial")
    dcgan_svm.train_dcgan_svm(config, reporter)
    pre, _, _ = dcgan_svm.experiment_sides(dcgan_svm.parse_config(config))
    n_judge_train = len(pre.idx) - max(len(set(pre.labels)), len(pre.idx) // 10)  # its validation: _judge
    expected = config["judge_epochs"] * math.ceil(n_judge_train / 64) if features == "cnn" else 0
    assert [h["budget/steps"] for h in reporter.history] == [expected]


def test_a_prefixed_stage_passes_the_budget_on_unprefixed(tmp_path):
    """DAG's pre-training and the source stage before fine-tuning report under a prefix;
    the budget is one counter of one net across stages, so it stays `budget/steps`."""
    from trainables.core.reporting import StageReporter

    parent = InProcessReporter(tmp_path / "trial")
    StageReporter(parent, "pretrain", None, tmp_path, prefix="pretrain").report({"budget/steps": 5, "val/acc": 0.5})
    assert parent.history == [{"pretrain/budget/steps": 5, "budget/steps": 5, "pretrain/val/acc": 0.5}]

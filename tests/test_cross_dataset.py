"""Train on one dataset, test on another (the baseline study's `--cross-dataset`): the
classifier trial called in-process on tiny fixtures, the dry run's arms, the table's rows."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from trainables.core.config import ConfigError
from trainables.core.reporting import InProcessReporter
from trainables.data import DataError
from trainables.trials.classifier import parse_trial, train_classifier

TINY = {"dataset": "synthfaces", "dataset_options": {"n_images": 240, "n_subjects": 12}, "net": "simple",
        "width": 0.125, "epochs": 2, "steps": 6, "batch_size": 32, "n_folds": 4, "threads": 1,
        "cross_dataset": "synthfaces", "cross_options": {"n_images": 200, "n_subjects": 10, "seed": 5}}


def write_faces(root, classes, subjects=("S01", "S02", "S03", "S04", "S05"), per=2):
    """`<class>/<subject>_<n>.png` grayscale 16×16 images, distinct per class."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for s in subjects:
            for n in range(per):
                pixels = np.clip(rng.normal(40 + 60 * c, 10, (16, 16)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / name / f"{s}_{n}.png")
    return root


def test_blind_and_finetuned_on_the_same_held_out_images(tmp_path):
    reporter = InProcessReporter(tmp_path / "trial")
    out = train_classifier({**TINY, "cross_steps": 4}, reporter)
    # the own-dataset keys are the baseline's, unchanged
    assert {"test/acc_at_best_val", "val/acc_best", "budget/steps"} <= set(out)
    assert 0 <= out["blind/acc_at_best_val"] <= 1 and 0 <= out["finetuned/test/acc_at_best_val"] <= 1
    assert out["finetuned/data/n_test"] == out["data/n_blind"] > 0
    held_out = pd.read_csv(reporter.artifacts["finetuned_predictions.csv"])
    assert len(held_out) == out["data/n_blind"]
    # the fine-tuning budget adds cross_steps to the source's steps
    assert out["finetuned/budget/steps"] == out["budget/steps"] + 4
    # one report per round of each stage, the fine-tune rounds prefixed
    assert [h.get("finetuned/epoch") for h in reporter.history] == [None, None, 0, 1]
    # the last report carries the source's chosen-epoch test and blind metrics
    assert reporter.history[-1]["test/acc_at_best_val"] == out["test/acc_at_best_val"]
    assert reporter.history[-1]["blind/acc_at_best_val"] == out["blind/acc_at_best_val"]


def test_blind_only_without_cross_steps_predicts_among_the_shared_classes(tmp_path):
    cross = write_faces(tmp_path / "other", ["happy", "sad", "contempt"])
    out = train_classifier({**TINY, "cross_dataset": "imagefolder", "cross_root": str(cross),
                            "cross_options": {"subject_regex": r"^(S\d+)_"}, "cross_n_folds": 5},
                           InProcessReporter(tmp_path / "trial"))
    assert not any(k.startswith("finetuned/") for k in out)
    # contempt, which synthfaces lacks, is dropped; only happy and sad are tested (one subject of five)
    assert {k for k in out if k.startswith("blind/acc_") and k != "blind/acc_at_best_val"} == {
        "blind/acc_happy_at_best_val", "blind/acc_sad_at_best_val"}
    assert out["data/n_blind"] == 2 * 2


def test_no_shared_classes_and_unknown_dataset_are_clear_errors(tmp_path):
    cross = write_faces(tmp_path / "other", ["contempt"])
    with pytest.raises(DataError, match="shares 0 class"):
        train_classifier({**TINY, "cross_dataset": "imagefolder", "cross_root": str(cross), "cross_options": {}},
                         InProcessReporter(tmp_path / "trial"))
    with pytest.raises(ConfigError, match="'mnist' is not a registered dataset; known: .*synthfaces"):
        parse_trial({**TINY, "cross_dataset": "mnist"})
    with pytest.raises(ConfigError, match="without cross_dataset"):
        parse_trial({"cross_root": str(cross)})


def test_dry_run_shows_the_cross_arms(capsys):
    from study import launch

    assert launch.main(["baseline", "--dry-run", "--cross-dataset", "synthfaces"]) == 0
    out = capsys.readouterr().out
    assert "Cross-dataset arm blind: tested on synthfaces" in out
    assert "Cross-dataset arm finetuned: fine-tuned 60 steps" in out
    assert launch.main(["baseline", "--dry-run", "--cross-dataset", "nope"]) == 2
    assert "'nope' is not a registered dataset" in capsys.readouterr().err


def test_the_baseline_table_gets_the_cross_rows():
    from analysis.layouts.baseline import baseline

    rows = [{"run_id": f"r{seed}", "parent_run_id": "p", "status": "FINISHED", "dataset": "synthfaces",
             "scale": "smoke", "procedural": True, "seed": seed, "fold": 0, "param.net": "simple",
             "param.cross_dataset": "imagefolder", "param.cross_steps": "60", "budget/steps": 210,
             "finetuned/budget/steps": 270, "test/acc_at_best_val": 0.6, "blind/acc_at_best_val": 0.3 + 0.01 * seed,
             "finetuned/test/acc_at_best_val": 0.8} for seed in range(3)]
    [table] = baseline(pd.DataFrame(rows))
    cells = table.cells.set_index("tested_on")
    assert list(cells.index) == ["imagefolder (blind)", "imagefolder (fine-tuned)", "synthfaces test"]
    assert cells.loc["imagefolder (blind)", "overall acc"].startswith("31.00")
    assert cells.loc["imagefolder (fine-tuned)", "overall acc"].startswith("80.00")
    assert cells.loc["imagefolder (fine-tuned)", "budget (steps)"].startswith("270")
    assert any("tested on imagefolder's held-out images" in note and "fine-tuned 60 steps" in note
               for note in table.footnotes)

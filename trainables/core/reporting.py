"""The small interface training code reports through, so one training function runs
under Ray Tune (study.tune_reporter) and in a plain process or test (InProcessReporter)."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

import pandas as pd

from atomic import copy_folder, recover
from trainables.core.metrics import confusion_matrix

# The optimizer steps the trial's compared model has taken so far (trainables.core.fit); the
# tables pair only runs of equal budgets.
BUDGET = "budget/steps"


class Reporter(Protocol):
    def report(self, metrics: dict[str, float], checkpoint_dir: str | None = None) -> None:
        """Called once per epoch; `checkpoint_dir` holds everything needed to resume."""

    def restore(self) -> str | None:
        """The directory of the latest checkpoint of this trial, or None on a fresh start."""

    def log_artifact(self, path: str) -> None:
        """Keep a result file (predictions, confusion matrix) with the trial."""


class InProcessReporter:
    """Keeps the reported history in memory and the latest checkpoint in `workdir`, replaced
    whole: a process killed while reporting leaves the previous checkpoint to resume from."""

    def __init__(self, workdir: str | Path | None = None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ferlab-trial-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.history: list[dict[str, float]] = []
        self.artifacts: dict[str, Path] = {}

    @property
    def checkpoint_path(self) -> Path:
        return self.workdir / "checkpoint"

    def report(self, metrics, checkpoint_dir=None):
        self.history.append(dict(metrics))
        if checkpoint_dir is not None:
            copy_folder(checkpoint_dir, self.checkpoint_path)

    def restore(self):
        recover(self.checkpoint_path)
        return str(self.checkpoint_path) if self.checkpoint_path.exists() else None

    def log_artifact(self, path):
        dest = self.workdir / "artifacts" / Path(path).name
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(path, dest)
        self.artifacts[dest.name] = dest


class StageReporter:
    """One stage of a multi-stage trial (CycleGAN, then classifier) behind the Reporter
    protocol. The trial has one checkpoint at a time, so each checkpoint holds the
    running stage's state under `<stage>/` and the finished stages' results under
    `carried/` (copied from `carried_dir`); a resume from any checkpoint finds both.
    `carried_metrics` go into every report, so a metric a scheduler watches (a GAN's
    validation FID) stays present after its stage ends.

    With `prefix` the stage's metrics and artifacts are renamed (`source/test/acc`,
    `source_predictions.csv`): a stage whose results a later stage would overwrite
    (the source-dataset classifier before fine-tuning) keeps them apart. `budget/steps`
    is also passed on as it is: it counts one net's optimizer steps across its stages
    (DAG's pre-training, then fine-tuning), and every report of the trial carries it."""

    def __init__(self, parent: Reporter, stage: str, restored: str | None, carried_dir: Path,
                 carried_metrics: dict | None = None, prefix: str = ""):
        self.parent, self.stage, self.prefix = parent, stage, prefix
        self.restored = Path(restored) if restored else None
        self.carried_dir = Path(carried_dir)
        self.carried_metrics = dict(carried_metrics or {})

    def report(self, metrics, checkpoint_dir=None):
        own = {f"{self.prefix}/{k}" if self.prefix else k: v for k, v in metrics.items()}
        if BUDGET in metrics:
            own[BUDGET] = metrics[BUDGET]
        with tempfile.TemporaryDirectory(prefix="ferlab-stage-") as tmp:
            shutil.copytree(self.carried_dir, Path(tmp) / "carried")
            if checkpoint_dir is not None:
                shutil.copytree(checkpoint_dir, Path(tmp) / self.stage)
            self.parent.report({**self.carried_metrics, **own}, checkpoint_dir=tmp)

    def restore(self):
        mine = self.restored / self.stage if self.restored else None
        return str(mine) if mine is not None and mine.is_dir() else None

    def log_artifact(self, path):
        if not self.prefix:
            self.parent.log_artifact(path)
            return
        with tempfile.TemporaryDirectory(prefix="ferlab-artifact-") as tmp:
            renamed = Path(tmp) / f"{self.prefix}_{Path(path).name}"
            shutil.copy(path, renamed)
            self.parent.log_artifact(str(renamed))


def restored_carried(restored: str | None, carried_dir: Path) -> None:
    """Copy the finished stages' results of a restored checkpoint into `carried_dir`."""
    source = Path(restored) / "carried" if restored else None
    if source is not None and source.is_dir():
        shutil.copytree(source, carried_dir, dirs_exist_ok=True)


def write_test_artifacts(reporter: Reporter, workdir: str, test_idx, labels, probs, class_names):
    preds = probs.argmax(1)
    table = pd.DataFrame({"index": test_idx, "label": [class_names[k] for k in labels],
                          "pred": [class_names[k] for k in preds]})
    for k, name in enumerate(class_names):
        table[f"prob_{name}"] = probs[:, k]
    pred_path = os.path.join(workdir, "predictions.csv")
    table.to_csv(pred_path, index=False)
    cm = pd.DataFrame(confusion_matrix(labels, preds, len(class_names)), index=class_names, columns=class_names)
    cm.index.name = "true\\pred"
    cm_path = os.path.join(workdir, "confusion_matrix.csv")
    cm.to_csv(cm_path)
    reporter.log_artifact(pred_path)
    reporter.log_artifact(cm_path)

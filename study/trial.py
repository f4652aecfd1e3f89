"""The Ray edge of training: a Tune function trainable that runs a registered training
function with a reporter backed by `tune.report` / `tune.get_checkpoint`."""

import shutil
import tempfile
from pathlib import Path

from ray import tune

from trainables import classifier

# name -> (training function, config validator run in the driver before any trial starts)
TRAINABLES = {"classifier": (classifier.train_classifier, classifier.parse_config)}


class TuneReporter:
    """Artifacts are carried in the trial's next checkpoint (under `artifacts/`), so the
    driver can log them to MLflow whichever node the trial ran on."""

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="ferlab-trial-"))
        self.pending_dir = self.workdir / "pending"
        self.pending_dir.mkdir()
        self.pending: list[Path] = []

    def report(self, metrics, checkpoint_dir=None):
        if checkpoint_dir is None and self.pending:
            checkpoint_dir = tempfile.mkdtemp(prefix="ferlab-ckpt-", dir=self.workdir)
        if checkpoint_dir is None:
            tune.report(metrics)
            return
        if self.pending:
            target = Path(checkpoint_dir) / "artifacts"
            target.mkdir(exist_ok=True)
            for path in self.pending:
                shutil.copy(path, target / path.name)
            self.pending = []
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(checkpoint_dir))

    def restore(self):
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        local = Path(tempfile.mkdtemp(prefix="ferlab-restore-", dir=self.workdir))
        return checkpoint.to_directory(str(local))

    def log_artifact(self, path):
        kept = self.pending_dir / Path(path).name
        shutil.copy(path, kept)
        self.pending.append(kept)


def run_trial(config: dict, trainable_name: str) -> None:
    reporter = TuneReporter()
    try:
        train, _ = TRAINABLES[trainable_name]
        train(config, reporter)
    finally:
        shutil.rmtree(reporter.workdir, ignore_errors=True)

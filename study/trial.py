"""The Ray edge of training: a Tune function trainable that runs a registered training
function with a reporter backed by `tune.report` / `tune.get_checkpoint`."""

import shutil
import tempfile
from pathlib import Path

from ray import tune

from trainables import classifier, cyclegan, dcgan_svm, fesr, synthetic_ratio, toy

# name -> (training function, config validator run in the driver before any trial starts)
TRAINABLES = {
    "classifier": (classifier.train_classifier, classifier.parse_config),
    "cyclegan": (cyclegan.train_cyclegan_trial, cyclegan.parse_config),
    "cyclegan_toy": (toy.train_toy, toy.parse_toy_config),
    "fesr": (fesr.train_fesr, fesr.parse_config),
    "dcgan_svm": (dcgan_svm.train_dcgan_svm, dcgan_svm.parse_config),
    "synthetic_ratio": (synthetic_ratio.train_synthetic_ratio, synthetic_ratio.parse_config),
}


class TuneReporter:
    """Artifacts ride in every later checkpoint of the trial (under `artifacts/`), so the
    driver logs them to MLflow from the final checkpoint, whichever node the trial ran
    on and however often it was restored."""

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="ferlab-trial-"))
        self.kept_dir = self.workdir / "kept"
        self.kept_dir.mkdir()

    def report(self, metrics, checkpoint_dir=None):
        kept = list(self.kept_dir.iterdir())
        if checkpoint_dir is None and kept:
            checkpoint_dir = tempfile.mkdtemp(prefix="ferlab-ckpt-", dir=self.workdir)
        if checkpoint_dir is None:
            tune.report(metrics)
            return
        if kept:
            target = Path(checkpoint_dir) / "artifacts"
            target.mkdir(exist_ok=True)
            for path in kept:
                shutil.copy(path, target / path.name)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(checkpoint_dir))

    def restore(self):
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        local = Path(tempfile.mkdtemp(prefix="ferlab-restore-", dir=self.workdir))
        restored = checkpoint.to_directory(str(local))
        artifacts = Path(restored) / "artifacts"
        if artifacts.is_dir():
            for path in artifacts.iterdir():
                shutil.copy(path, self.kept_dir / path.name)
        return restored

    def log_artifact(self, path):
        shutil.copy(path, self.kept_dir / Path(path).name)


def run_trial(config: dict, trainable_name: str) -> None:
    reporter = TuneReporter()
    try:
        train, _ = TRAINABLES[trainable_name]
        train(config, reporter)
    finally:
        shutil.rmtree(reporter.workdir, ignore_errors=True)

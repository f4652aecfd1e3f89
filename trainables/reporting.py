"""The small interface training code reports through, so one training function runs
under Ray Tune (study.tune_reporter) and in a plain process or test (InProcessReporter)."""

import shutil
import tempfile
from pathlib import Path
from typing import Protocol


class Reporter(Protocol):
    def report(self, metrics: dict[str, float], checkpoint_dir: str | None = None) -> None:
        """Called once per epoch; `checkpoint_dir` holds everything needed to resume."""

    def restore(self) -> str | None:
        """The directory of the latest checkpoint of this trial, or None on a fresh start."""

    def log_artifact(self, path: str) -> None:
        """Keep a result file (predictions, confusion matrix) with the trial."""


class InProcessReporter:
    """Keeps the reported history in memory and the latest checkpoint in `workdir`."""

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
            staging = self.workdir / "checkpoint.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(checkpoint_dir, staging)
            shutil.rmtree(self.checkpoint_path, ignore_errors=True)
            staging.rename(self.checkpoint_path)

    def restore(self):
        return str(self.checkpoint_path) if self.checkpoint_path.exists() else None

    def log_artifact(self, path):
        dest = self.workdir / "artifacts" / Path(path).name
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(path, dest)
        self.artifacts[dest.name] = dest

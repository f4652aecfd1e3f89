"""The Ray edge of training: a Tune function trainable that runs a registered training
function with a reporter backed by `tune.report` / `tune.get_checkpoint`.

Config keys starting with `_` belong to the platform, not the training function:
`_watchdog_s` (the study's limit on a silent trial, study.watchdog), `_checkpoint_s` (how
often a report carries its checkpoint, study.checkpoint_pacing) and `_fault` (failures
injected for the tests, study.faults)."""

import json
import logging
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pyarrow.fs as pafs
import ray
from ray import tune

from study.checkpoint_pacing import CheckpointPacing, kept_fingerprint
from study.faults import Faults, parse_faults
from study.fusing import MEMBERS_KEY, member_configs
from study.space import platform_keys
from study.watchdog import Watchdog

from trainables.core.members import MemberGroup
from trainables.trials.registry import get_fused, get_trainable


PROGRESS = "ferlab_progress.json"  # in every checkpoint: how many reports the trial had made


class TuneReporter:
    """Artifacts ride in every later checkpoint of the trial (under `artifacts/`), so the
    driver logs them to MLflow from the final checkpoint, whichever node the trial ran
    on and however often it was restored.

    Every report also says where it ran (`ferlab_node_id`, `ferlab_hostname`) and, in a
    restored attempt, from which report's checkpoint (`trial/resumed_from_report`)."""

    def __init__(self, fault: Faults | None = None, watchdog: Watchdog | None = None, checkpoint_s: float = 0):
        self.pacing = CheckpointPacing(checkpoint_s)
        self.workdir = Path(tempfile.mkdtemp(prefix="ferlab-trial-"))
        self.kept_dir = self.workdir / "kept"
        self.kept_dir.mkdir()
        self.fault, self.watchdog = fault, watchdog
        self.where = {"ferlab_node_id": ray.get_runtime_context().get_node_id(), "ferlab_hostname": socket.gethostname()}
        self.reports, self.resumed_from = 0, None
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as directory:
                progress = Path(directory) / PROGRESS
                if progress.exists():
                    self.reports = self.resumed_from = json.loads(progress.read_text())["reports"]

    def report(self, metrics, checkpoint_dir=None, must_checkpoint: bool = False):
        """`checkpoint_dir` goes to Tune when the pacing says one is due (or `must_checkpoint`)."""
        if self.fault is not None:
            self.fault.before_report(self.reports, resumed=self.resumed_from is not None)
        self.reports += 1
        metrics = {**metrics, **self.where}
        if self.resumed_from is not None:
            metrics["trial/resumed_from_report"] = self.resumed_from
        kept = kept_fingerprint(self.kept_dir)
        if not self.pacing.due(kept, must_checkpoint):
            checkpoint_dir = None
        elif checkpoint_dir is None and kept:
            checkpoint_dir = tempfile.mkdtemp(prefix="ferlab-ckpt-", dir=self.workdir)
        if checkpoint_dir is None:
            tune.report(metrics)
        else:
            if kept:
                shutil.copytree(self.kept_dir, Path(checkpoint_dir) / "artifacts", dirs_exist_ok=True)
            (Path(checkpoint_dir) / PROGRESS).write_text(json.dumps({"reports": self.reports}))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(checkpoint_dir))
            self.pacing.sent(kept)
        if self.watchdog is not None:
            self.watchdog.pet()

    def restore(self):
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        local = Path(tempfile.mkdtemp(prefix="ferlab-restore-", dir=self.workdir))
        restored = checkpoint.to_directory(str(local))
        artifacts = Path(restored) / "artifacts"
        if artifacts.is_dir():
            shutil.copytree(artifacts, self.kept_dir, dirs_exist_ok=True)
        return restored

    def log_artifact(self, path):
        shutil.copy(path, self.kept_dir / Path(path).name)


def trial_storage_dir() -> tuple[pafs.FileSystem, str]:
    """The trial's directory in the launch's storage (where its checkpoints go), with its
    filesystem. Not `tune.get_context().get_trial_dir()`: in Ray 2.60 that names a local
    staging directory, and a different one when the trial runs in a reused actor. Ray has
    no public API for this; its session's storage context holds it."""
    from ray.train._internal.session import get_session

    storage = get_session().storage
    return storage.storage_filesystem, storage.trial_fs_path


# Ray logs every checkpoint a trial saves at INFO, and the driver echoes each line.
CHECKPOINT_LOGGER = "ray.train._internal.storage"


def quiet_exit_in_finalizer(unraisable) -> None:
    """`sys.unraisablehook` of a trial's worker. At the end of a launch Ray stops the
    workers with SIGTERM, and Ray's handler raises SystemExit wherever the worker is; in a
    finalizer (a weakref callback of the garbage collector) Python cannot raise it and
    prints "Exception ignored in ... SystemExit: 1" with a traceback, which the driver
    echoes. The worker is exiting either way; any other unraisable error still prints."""
    if not issubclass(unraisable.exc_type, SystemExit):
        sys.__unraisablehook__(unraisable)


class TuneGroup(MemberGroup):
    """A fused trial's members (trainables.core.members) reporting through one TuneReporter:
    a round is one Tune report, each member's metrics under `ferlab_members` (by index)
    and the round's failures under `ferlab_failed`; study.tracking splits them into the
    members' runs. A member's artifacts ride under `artifacts/<index>/`. Faults
    (`_fault`) hit a member by its own config, at its report index."""

    def __init__(self, reporter: TuneReporter, faults: list[list]):
        super().__init__(len(faults), kept=reporter.kept_dir)
        self.reporter, self.faults = reporter, faults
        self.restored = reporter.restore()
        self.restored_failures(self.restored)

    def before_report(self, index: int) -> None:
        Faults(self.faults[index]).before_report(self.reporter.reports, resumed=self.reporter.resumed_from is not None)

    def emit(self, staged, failures, checkpoint_dir):
        # a round with a failure is checkpointed: a resumed group must know not to rerun the member
        self.reporter.report({"ferlab_members": {str(i): m for i, m in staged.items()},
                              "ferlab_failed": {str(i): e for i, e in failures.items()}}, checkpoint_dir,
                             must_checkpoint=bool(failures))

    def restore(self):
        return self.restored


def run_trial(config: dict, trainable_name: str) -> None:
    logging.getLogger(CHECKPOINT_LOGGER).setLevel(logging.WARNING)
    sys.unraisablehook = quiet_exit_in_finalizer
    config, platform = platform_keys(config)
    members = [platform_keys(m)[0] for m in member_configs({**config, MEMBERS_KEY: platform[MEMBERS_KEY]})] \
        if MEMBERS_KEY in platform else None
    faults = parse_faults(platform.get("_fault"))
    watchdog = None
    if platform.get("_watchdog_s"):
        watchdog = Watchdog(platform["_watchdog_s"], trial_storage_dir()).start()
    hits = [f for f in faults if f.hits(config)]
    reporter = TuneReporter(Faults(hits) if hits and members is None else None, watchdog,
                            checkpoint_s=platform.get("_checkpoint_s", 0))
    try:
        if members is None:
            train, _ = get_trainable(trainable_name)
            train(config, reporter)
        else:
            train_members, _ = get_fused(trainable_name)
            train_members(members, TuneGroup(reporter, [[f for f in faults if f.hits(m)] for m in members]))
    finally:
        if watchdog is not None:
            watchdog.stop()
        shutil.rmtree(reporter.workdir, ignore_errors=True)

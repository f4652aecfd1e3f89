"""How K fused trials (trainables.fused) report: each member through a Reporter of its own,
as if it ran alone, and the group as one report per round with one checkpoint.

A member's `report` stages its metrics and its checkpoint (under `members/<index>/` of the
round's checkpoint); the group's `end_round()` sends every member's staged metrics, the
failures of the round and the round's checkpoint at once (`emit`). A member that
fails (`fail`: its training diverged, its own evaluation raised) stops reporting and the
others go on; its failure rides in every later checkpoint (`MEMBERS_FILE`), so a resumed
group does not run it again."""

import json
import shutil
import tempfile
from pathlib import Path

from atomic import copy_folder, recover

MEMBERS_FILE = "ferlab_members.json"


class MemberReporter:
    """Member i's Reporter: its checkpoint is `members/<i>/` of the group's, its artifacts
    are kept apart from the other members'."""

    def __init__(self, group: "MemberGroup", index: int):
        self.group, self.index = group, index

    def report(self, metrics, checkpoint_dir=None):
        self.group.before_report(self.index)
        if checkpoint_dir is not None:
            shutil.copytree(checkpoint_dir, self.group.round_dir() / "members" / str(self.index), dirs_exist_ok=True)
        self.group.staged[self.index] = dict(metrics)

    def restore(self):
        restored = self.group.restore()
        mine = Path(restored) / "members" / str(self.index) if restored else None
        return str(mine) if mine is not None and mine.is_dir() else None

    def log_artifact(self, path):
        self.group.keep_artifact(self.index, path)


class MemberGroup:
    """The reports of K members. Subclasses say where a round goes (`emit`) and where the
    group's last checkpoint is (`restore`)."""

    def __init__(self, size: int, kept: Path):
        """`kept`: where members' artifacts are kept, as `<index>/<name>`."""
        self.members = [MemberReporter(self, i) for i in range(size)]
        self.staged: dict[int, dict] = {}
        self.failed: dict[int, str] = {}  # member → its error, restored from the checkpoint
        self.new_failures: dict[int, str] = {}
        self._round: Path | None = None
        self.kept = kept

    def alive(self) -> list[int]:
        return [i for i in range(len(self.members)) if i not in self.failed]

    def fail(self, index: int, error: BaseException) -> None:
        self.staged.pop(index, None)
        self.failed[index] = self.new_failures[index] = f"{type(error).__name__}: {error}"

    def before_report(self, index: int) -> None:
        """A hook before member `index` reports (the platform's injected faults)."""

    def keep_artifact(self, index: int, path) -> None:
        folder = self.kept / str(index)
        folder.mkdir(exist_ok=True)
        shutil.copy(path, folder / Path(path).name)

    def round_dir(self) -> Path:
        """The checkpoint this round's reports gather into."""
        if self._round is None:
            self._round = Path(tempfile.mkdtemp(prefix="ferlab-round-"))
        return self._round

    def end_round(self) -> None:
        checkpoint = self.round_dir()
        (checkpoint / MEMBERS_FILE).write_text(json.dumps({"failed": self.failed}))
        staged, failures = self.staged, self.new_failures
        self.staged, self.new_failures, self._round = {}, {}, None
        try:
            self.emit(staged, failures, str(checkpoint))
        finally:
            shutil.rmtree(checkpoint, ignore_errors=True)

    def restored_failures(self, restored: str | None) -> None:
        path = Path(restored) / MEMBERS_FILE if restored else None
        if path is not None and path.exists():
            self.failed = {int(k): v for k, v in json.loads(path.read_text())["failed"].items()}

    def emit(self, staged: dict[int, dict], failures: dict[int, str], checkpoint_dir: str) -> None:
        raise NotImplementedError

    def restore(self) -> str | None:
        raise NotImplementedError


class InProcessGroup(MemberGroup):
    """Each member's history in memory and the latest checkpoint in `workdir` (tests,
    plain processes)."""

    def __init__(self, size: int, workdir: str | Path):
        self.workdir = Path(workdir)
        (self.workdir / "kept").mkdir(parents=True, exist_ok=True)
        super().__init__(size, kept=self.workdir / "kept")
        self.history: list[list[dict]] = [[] for _ in range(size)]
        self.restored_failures(self.restore())

    def emit(self, staged, failures, checkpoint_dir):
        for i, metrics in staged.items():
            self.history[i].append(metrics)
        copy_folder(checkpoint_dir, self.workdir / "checkpoint")

    def restore(self):
        path = self.workdir / "checkpoint"
        recover(path)
        return str(path) if path.exists() else None

    def artifacts(self, index: int) -> list[str]:
        folder = self.kept / str(index)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

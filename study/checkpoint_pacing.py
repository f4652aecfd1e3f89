"""How often a trial's reports carry its checkpoint: every report writes one to the
launch's storage, and with `num_to_keep` Tune also saves its experiment state at each, so
short epochs would spend much of a trial on saving. A report's checkpoint is sent when the
trial's last one is `every_s` old (0: every report), and always when the trial's kept
artifacts changed since (they reach MLflow only from the trial's last checkpoint) or the
caller says it must (a fused member's failure, which a resumed group must not rerun).
A trial that fails resumes from its last checkpoint, at most `every_s` of work back."""

import time
from pathlib import Path

EVERY_S = 30.0  # the launch's default (`--set _checkpoint_s=SECONDS`)


def kept_fingerprint(kept_dir: Path) -> tuple:
    """What a directory of kept artifacts holds: each file's path, size and change time."""
    files = sorted(p for p in kept_dir.rglob("*") if p.is_file())
    return tuple((str(p.relative_to(kept_dir)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


class CheckpointPacing:
    def __init__(self, every_s: float, clock=time.monotonic):
        if every_s < 0:
            raise ValueError(f"_checkpoint_s must be 0 (every report) or more seconds, got {every_s}")
        self.every_s, self.clock = float(every_s), clock
        self.last = clock()  # a trial's first checkpoint comes `every_s` after it starts
        self.kept: tuple = ()

    def due(self, kept: tuple, must: bool = False) -> bool:
        return must or kept != self.kept or self.clock() - self.last >= self.every_s

    def sent(self, kept: tuple) -> None:
        self.last, self.kept = self.clock(), kept

"""Failures injected on purpose, through the platform config key `_fault`, so the
fault-tolerance tests can make a real trial raise or hang at a chosen report:

    --set '_fault={"when": {"seed": 1}, "raise_at_report": 2}'   # every attempt raises there
    --set '_fault={"when": {"seed": 2}, "hang_at_report": 2}'    # the first attempt hangs there
    --set '_fault=[{…}, {…}]'                                     # several

`when` selects the trials it hits by their config values (all trials without it). With
`"signal": PATH` a fault that hits first writes one line to PATH, a named pipe the test
holds open: the test waits on the pipe for the trial to reach that report, not by polling
(the hung trial cannot move past it). Report
indices count the trial's reports from its start, restored ones included, so a retried
trial that resumes from report 1's checkpoint meets report 2 again: a raise repeats on
every attempt (the trial ends failed once its retries are spent), a hang happens only in
an attempt that started fresh, not from a checkpoint (the watchdog stops it; the retry
resumes and finishes)."""

import time
from dataclasses import dataclass, field

from trainables.core.config import from_dict


class InjectedFailure(RuntimeError):
    """Raised by a trial on purpose (`_fault`)."""


@dataclass(frozen=True)
class Fault:
    when: dict = field(default_factory=dict)
    raise_at_report: int | None = None
    hang_at_report: int | None = None
    signal: str | None = None  # a named pipe to write one line to when the fault hits

    def hits(self, config: dict) -> bool:
        return all(config.get(key) == value for key, value in self.when.items())

    def before_report(self, index: int, resumed: bool) -> None:
        if index == self.raise_at_report:
            self._signal(f"raise at report {index}")
            raise InjectedFailure(f"injected failure (_fault) at report {index}")
        if index == self.hang_at_report and not resumed:
            self._signal(f"hang at report {index}")
            while True:  # hung until the watchdog, or the driver's end, stops the process
                time.sleep(3600)

    def _signal(self, what: str) -> None:
        if self.signal is not None:
            with open(self.signal, "w") as pipe:
                pipe.write(what + "\n")


def parse_faults(spec: dict | list | None) -> list[Fault]:
    specs = [] if spec is None else spec if isinstance(spec, list) else [spec]
    return [from_dict(Fault, s) for s in specs]


class Faults:
    """The faults that hit one trial."""

    def __init__(self, faults: list[Fault]):
        self.faults = faults

    def before_report(self, index: int, resumed: bool) -> None:
        for fault in self.faults:
            fault.before_report(index, resumed)

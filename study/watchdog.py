"""A hung trial — no report for longer than its study's limit — is stopped: every
thread's stack goes to the trial's log (stderr, which Ray keeps per worker and echoes to
the driver) and to `watchdog-<time>.txt` in the trial directory, then the worker process
exits. Tune sees a failed trial and retries it from its last checkpoint.

Exiting the process, not raising, because the hung thread is the one that would have to
raise, and a thread stuck in a C call or a lock cannot be interrupted from outside."""

import faulthandler
import os
import sys
import threading
import time
from pathlib import Path

EXIT_CODE = 75


class Watchdog:
    def __init__(self, limit_s: float, dump_dir: str | Path | None):
        self.limit_s = float(limit_s)
        self.dump_dir = Path(dump_dir) if dump_dir else None
        self.last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ferlab-watchdog", daemon=True)

    def start(self) -> "Watchdog":
        self._thread.start()
        return self

    def pet(self) -> None:
        """A report arrived."""
        self.last = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(5.0, self.limit_s / 4)):
            silent = time.monotonic() - self.last
            if silent > self.limit_s:
                self._dump(silent)
                os._exit(EXIT_CODE)

    def _dump(self, silent: float) -> None:
        header = (f"ferlab watchdog: no report for {silent:.0f} s (limit {self.limit_s:g} s); "
                  f"stopping the trial (pid {os.getpid()}) to retry it from its last checkpoint\n")
        sys.stderr.write(header)
        sys.stderr.flush()
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        if self.dump_dir is not None:
            self.dump_dir.mkdir(parents=True, exist_ok=True)
            with open(self.dump_dir / f"watchdog-{time.strftime('%Y%m%d-%H%M%S')}.txt", "w") as out:
                out.write(header)
                out.flush()
                faulthandler.dump_traceback(file=out, all_threads=True)

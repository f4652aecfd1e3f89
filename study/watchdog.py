"""A hung trial — no report for longer than its study's limit — is stopped: every
thread's stack goes to the trial's log (stderr, which Ray keeps per worker and echoes to
the driver) and to `watchdog-<time>.txt` in the trial directory, then the worker process
exits. Tune sees a failed trial and retries it from its last checkpoint.

Exiting the process, not raising, because the hung thread is the one that would have to
raise, and a thread stuck in a C call or a lock cannot be interrupted from outside."""

import faulthandler
import os
import sys
import tempfile
import threading
import time

import pyarrow.fs as pafs

EXIT_CODE = 75


class Watchdog:
    """`dump_to`: (filesystem, directory) that gets `watchdog-<time>.txt`: the trial's
    directory in the launch's storage, local or a bucket (pyarrow, as Tune writes it)."""

    def __init__(self, limit_s: float, dump_to: tuple[pafs.FileSystem, str] | None):
        self.limit_s = float(limit_s)
        self.dump_to = dump_to
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
        if self.dump_to is not None:
            filesystem, directory = self.dump_to
            with tempfile.TemporaryFile("w+") as local:  # faulthandler writes to a file descriptor
                local.write(header)
                local.flush()
                faulthandler.dump_traceback(file=local, all_threads=True)
                local.seek(0)
                filesystem.create_dir(directory, recursive=True)
                with filesystem.open_output_stream(f"{directory}/watchdog-{time.strftime('%Y%m%d-%H%M%S')}.txt") as out:
                    out.write(local.read().encode())

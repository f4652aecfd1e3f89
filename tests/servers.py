"""Real servers for the tracking tests: a throwaway PostgreSQL cluster (Debian's
`postgresql` package, which `.ci/run` installs where it is missing) and the MLflow
tracking server `python -m study.tracking` starts. Both listen on loopback only."""

import glob
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def start_postgres():
    """Yields the URL of a fresh database `mlflow` on a new PostgreSQL cluster; the
    cluster and its files are removed afterwards."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian's postgresql package; .ci/run installs it)")
    # PostgreSQL refuses to run as root: as root, the cluster is the postgres user's.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="ferlab-pg-"))  # outside pytest's 0700 tmp, which postgres cannot enter
    if as_user:
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
    port = free_port()
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "ferlab", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w",
                        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       check=True, capture_output=True)
        subprocess.run([*as_user, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "ferlab",
                        "mlflow"], check=True, capture_output=True)
        yield f"postgresql://ferlab@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class Output:
    """A process's output pipe, copied to `log` (or nowhere) on a thread for as long as the
    process writes, so it never blocks on a full pipe. `wait()` returns the first line that
    holds `marker` once it has come: waiting on the pipe itself, not polling a file."""

    def __init__(self, pipe, marker: str, log: Path | None = None):
        self.marker, self.log = marker, log
        self._line: str | None = None
        self._seen = threading.Event()
        self._tail: list[str] = []
        self._thread = threading.Thread(target=self._copy, args=(pipe,), daemon=True)
        self._thread.start()

    def _copy(self, pipe) -> None:
        with open(self.log or os.devnull, "w") as out:
            for line in iter(pipe.readline, b""):
                text = line.decode(errors="replace")
                out.write(text)
                out.flush()
                self._tail = (self._tail + [text])[-40:]
                if self._line is None and self.marker in text:
                    self._line = text.strip()
                    self._seen.set()
        self._seen.set()  # the process closed its output: wait() says so

    def wait(self, timeout_s: float) -> str:
        self._seen.wait(timeout_s)
        if self._line is None:
            ended = "closed its output" if self._seen.is_set() else f"wrote no such line in {timeout_s:g} s"
            raise AssertionError(f"the process {ended} before {self.marker!r}:\n" + "".join(self._tail))
        return self._line


def start_tracking_server(backend: str, artifacts: Path, log: Path):
    """Yields the URL of `python -m study.tracking` serving `backend`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "study.tracking", "--backend-store-uri", backend,
                               "--artifacts-destination", artifacts.as_uri(), "--port", str(port)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        Output(server.stdout, "MLflow UI and tracking server", log).wait(180)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # stopped with all its workers
            urllib.request.urlopen(f"{url}/health", timeout=2)


class Rendezvous:
    """A named pipe a trial's fault (`"signal": path`, study.faults) writes to when it hits:
    `wait()` returns that line once the trial is there, with no polling. Opened for reading
    before the launch starts, so the trial's write never blocks."""

    def __init__(self, folder):
        self.path = str(folder / "fault.fifo")
        os.mkfifo(self.path)
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._keep = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # no EOF before the trial writes

    def wait(self, timeout_s: float) -> str:
        ready, _, _ = select.select([self._fd], [], [], timeout_s)
        if not ready:
            raise TimeoutError(f"no trial reached its fault in {timeout_s:g} s")
        return os.read(self._fd, 4096).decode().strip()

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._keep)


def poll_until(condition, timeout_s: float, what: str, every_s: float = 0.5):
    """Ask `condition()` every `every_s` s until it returns something true, and return that;
    fail after `timeout_s` s naming `what`. Only for a system that tells no hook of ours
    when it is done: Tune uploading its state on its own schedule, Ray's autoscaler removing
    idle nodes. Every other wait in the suite is on an event (Rendezvous, Output,
    wait_exited), and tests/test_suite_rules.py keeps this the suite's only sleep."""
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        time.sleep(every_s)
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux's /proc children lists), deepest last."""
    found, todo = [], [pid]
    while todo:
        for task in glob.glob(f"/proc/{todo.pop()}/task/*/children"):
            try:
                children = [int(c) for c in Path(task).read_text().split()]
            except OSError:  # the task ended while we read
                continue
            found += children
            todo += children
    return found


def wait_exited(pids: list[int], timeout: float = 30.0) -> list[int]:
    """Wait, on each process's own exit (a pidfd becomes readable when it ends), until
    every one of `pids` has exited or `timeout` s have passed; returns those still alive."""
    deadline = time.monotonic() + timeout
    alive = []
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:  # gone already
            continue
        try:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                alive.append(pid)
        finally:
            os.close(fd)
    return alive

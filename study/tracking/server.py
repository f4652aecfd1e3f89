"""The MLflow tracking server (with its UI) that `python -m study.tracking` starts.

By default it serves the same local store `study.launch` writes (`sqlite:///mlflow.db`
in the working directory), so past runs appear, bound to loopback. A shared server binds
elsewhere only behind MLflow's basic-auth app: a tracking server lets anyone who reaches
it read and delete every run."""

import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from study.storage import resolve_tracking_uri
from study.tracking.store import artifacts_beside

BACKEND_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
AUTH_SETTINGS = {  # what MLflow's basic-auth app will not start without
    "MLFLOW_FLASK_SERVER_SECRET_KEY": "MLFLOW_FLASK_SERVER_SECRET_KEY signs the login forms (the same on every server)",
    "MLFLOW_AUTH_ADMIN_PASSWORD": "MLFLOW_AUTH_ADMIN_PASSWORD is the first admin's password (user 'admin', "
                                  "12+ characters), or MLFLOW_AUTH_CONFIG_PATH names a basic_auth.ini holding it",
}


WORKER_HEALTHCHECK_S = 60


class ServerError(ValueError):
    """A server setting that cannot work; the message says what to give instead."""


@dataclass(frozen=True)
class ServerOptions:
    backend_store_uri: str
    artifacts_destination: str
    host: str = "127.0.0.1"
    port: int = 5000
    auth: bool = False
    workers: int = 2


def default_backend() -> str:
    """The store `study.launch` writes by default; a tracking URI that is itself a server
    cannot be a server's backend."""
    uri = resolve_tracking_uri(None)
    if uri.startswith(("http://", "https://")):
        raise ServerError(f"MLFLOW_TRACKING_URI is a server ({uri}), not a store a server can serve: "
                          "give --backend-store-uri (e.g. postgresql://user@host/db or sqlite:///mlflow.db)")
    return uri


def default_artifacts(backend: str) -> str:
    """Beside an SQLite store, the same `mlartifacts/` folder `study.launch` uses; else
    `./mlartifacts`."""
    return artifacts_beside(backend) or (Path.cwd() / "mlartifacts").resolve().as_uri()


def local_host(host: str) -> str:
    """Where this machine reaches a server bound to `host` (any interface: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(opts: ServerOptions) -> None:
    scheme = opts.backend_store_uri.split(":", 1)[0].split("+", 1)[0]
    if scheme not in BACKEND_SCHEMES:
        raise ServerError(f"--backend-store-uri {opts.backend_store_uri!r}: expected a database URI "
                          f"({', '.join(s + '://' for s in BACKEND_SCHEMES)}...)")
    if not is_loopback(opts.host) and not opts.auth:
        raise ServerError(f"--host {opts.host} would expose every run without a login: bind to 127.0.0.1, "
                          "or add --auth to serve through MLflow's basic-auth app")
    if opts.auth:
        unset = [name for name in AUTH_SETTINGS if not os.environ.get(name)]
        if "MLFLOW_AUTH_CONFIG_PATH" in os.environ and "MLFLOW_AUTH_ADMIN_PASSWORD" in unset:
            unset.remove("MLFLOW_AUTH_ADMIN_PASSWORD")  # the config file holds the admin password
        if unset:
            raise ServerError(f"--auth needs {' and '.join(unset)} set: " + "; ".join(AUTH_SETTINGS[n] for n in unset))
    if not 0 < opts.port < 65536:
        raise ServerError(f"--port {opts.port}: expected 1–65535")
    with socket.socket() as probe:
        if probe.connect_ex((local_host(opts.host), opts.port)) == 0:
            raise ServerError(f"port {opts.port} on {opts.host} is taken: give another --port")


def command(opts: ServerOptions) -> list[str]:
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", opts.backend_store_uri,
           "--artifacts-destination", opts.artifacts_destination, "--serve-artifacts",
           "--host", opts.host, "--port", str(opts.port), "--workers", str(opts.workers),
           # uvicorn kills a worker that does not answer its supervisor's ping within 5 s (its
           # default); a worker still importing MLflow on a busy machine misses that, and the
           # replacement is killed the same way, so the server never answers
           "--uvicorn-opts", f"--timeout-worker-healthcheck {WORKER_HEALTHCHECK_S}"]
    if opts.auth:
        cmd += ["--app-name", "basic-auth"]
    return cmd


def url(opts: ServerOptions) -> str:
    return f"http://{local_host(opts.host)}:{opts.port}"


def wait_ready(process: subprocess.Popen, address: str, timeout_s: float = 120) -> None:
    """Until the server answers `/health`; raises if it exits first or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the MLflow server exited with status {process.returncode} before it answered "
                              f"(its output above says why)")
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise ServerError(f"the MLflow server did not answer at {address}/health within {timeout_s:.0f} s")

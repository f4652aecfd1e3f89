"""`python -m study.tracking`: what it refuses before starting anything, and a shared
server behind MLflow's basic-auth app answering only to a login."""

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.servers import REPO, descendants, free_port, wait_exited

AUTH_ENV = ("MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_AUTH_CONFIG_PATH",
            "MLFLOW_TRACKING_URI")


def clean_env(**extra) -> dict:
    """This environment without any MLflow auth or tracking settings, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if k not in AUTH_ENV}, "PYTHONPATH": str(REPO), **extra}


def tracking(*args, cwd, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "study.tracking", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=clean_env(**(env or {})))


def test_a_non_loopback_host_without_auth_is_refused(tmp_path):
    out = tracking("--host", "0.0.0.0", cwd=tmp_path)
    assert out.returncode == 2 and "--host 0.0.0.0" in out.stderr and "--auth" in out.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_auth_without_its_secrets_names_them(tmp_path):
    out = tracking("--auth", "--port", str(free_port()), cwd=tmp_path)
    assert out.returncode == 2
    assert "MLFLOW_FLASK_SERVER_SECRET_KEY" in out.stderr and "MLFLOW_AUTH_ADMIN_PASSWORD" in out.stderr


def test_a_server_uri_is_not_a_backend(tmp_path):
    out = tracking("--backend-store-uri", "http://127.0.0.1:5000", cwd=tmp_path)  # port-rule: refused unopened
    assert out.returncode == 2 and "expected a database URI" in out.stderr
    out = tracking(cwd=tmp_path, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})  # port-rule: unopened
    assert out.returncode == 2 and "give --backend-store-uri" in out.stderr


def test_a_taken_port_is_refused(tmp_path):
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        out = tracking("--port", str(held.getsockname()[1]), cwd=tmp_path)
    assert out.returncode == 2 and "is taken" in out.stderr


def _search(url: str, login: str | None) -> int:
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/experiments/search", method="POST",
                                     data=json.dumps({"max_results": 1}).encode(),
                                     headers={"Content-Type": "application/json"})
    if login:
        request.add_header("Authorization", "Basic " + base64.b64encode(login.encode()).decode())
    try:
        # The first request a login lets through is the tracking store's first answer: over
        # 10 s once, with the suite running beside an evidence launch on 2 cores.
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_auth_server_answers_only_to_a_login(tmp_path):
    port = free_port()
    env = clean_env(MLFLOW_FLASK_SERVER_SECRET_KEY="test-secret", MLFLOW_AUTH_ADMIN_PASSWORD="correct-horse-battery")
    server = subprocess.Popen([sys.executable, "-m", "study.tracking", "--auth", "--port", str(port)], cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers: list[int] = []
    try:
        seen = []
        for line in server.stdout:
            seen.append(line)
            if "MLflow UI and tracking server" in line:
                break
        else:
            pytest.fail("the server stopped before it answered:\n" + "".join(seen[-40:]))
        url = f"http://127.0.0.1:{port}"
        assert _search(url, None) == 401
        assert _search(url, "admin:wrong-password-here") == 401
        assert _search(url, "admin:correct-horse-battery") == 200
        workers = descendants(server.pid)
        assert workers  # the web server's own processes, which must end with it
    finally:
        server.terminate()
        server.wait(60)
    assert wait_exited(workers) == []
    with pytest.raises(urllib.error.URLError):  # gone, web workers included
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "basic_auth.db").exists()

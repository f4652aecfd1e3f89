"""`--address HOST:PORT` against a head started the way the README says, `ray start --head`,
which turns on Ray's token authentication once a token exists (`~/.ray/auth_token`, which
any earlier local `ray.init()` writes). HOME points at temp folders, so the user's own
~/.ray is never read or written; the head has its own port and temp dir, and is stopped by
killing only its own processes (`ray stop` would stop every Ray on the machine)."""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.test_autoscaling import _stop_processes_marked
from tests.test_cluster import _children
from tests.test_launch import launch

HEAD_MARKER = "FERLAB_TOKEN_HEAD"
SMALLEST = ("cyclegan_toy", "--set", "gan_steps=40", "--set", "report_every=40", "--set", "seed=[0]")


def _home(root: Path, token: str | None) -> Path:
    home = root / ("home-with-token" if token else "home-without-token")
    (home / ".ray").mkdir(parents=True)
    if token:
        (home / ".ray" / "auth_token").write_text(token)
    return home


@pytest.fixture(scope="module")
def token_head():
    """A one-CPU head in token mode; yields (address, token, root). A short temp dir of its
    own: Ray's socket paths under it must stay within the OS limit."""
    root = Path(tempfile.mkdtemp(prefix="ferlab-tok-"))
    token = secrets.token_hex(32)
    marker = uuid.uuid4().hex
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_AUTH_", "RAY_ADDRESS"))}
    env.update(HOME=str(_home(root, token)), **{HEAD_MARKER: marker})
    try:
        out = subprocess.run(["ray", "start", "--head", f"--port={port}",
                              "--num-cpus=1", f"--temp-dir={root / 'ray'}", "--include-dashboard=false",
                              "--disable-usage-stats"], env=env, capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert "Token authentication is enabled" in out.stderr + out.stdout  # the case under test, not a disabled head
        yield f"127.0.0.1:{port}", token, root
    finally:
        _stop_processes_marked(f"{HEAD_MARKER}={marker}")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def ray_auth_env(monkeypatch):
    """The launch sees only the token places the test gives it."""
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_launch_joins_the_token_head_with_the_token_in_home_and_never_records_it(token_head, ray_auth_env,
                                                                                 tmp_path):
    address, token, root = token_head
    ray_auth_env.setenv("HOME", str(root / "home-with-token"))
    out = launch(*SMALLEST, "--address", address, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, record, runs = _children(tmp_path)
    assert [r.info.status for r in runs.values()] == ["FINISHED"] and "test/acc_augmented" in runs[0].data.metrics
    assert client.get_run(record["parent_run_id"]).info.status == "FINISHED"
    assert token not in out.stdout + out.stderr
    assert token.encode() not in (tmp_path / "mlflow.db").read_bytes()  # params, tags, anything


def test_a_launch_without_the_token_fails_with_one_line_saying_what_to_set(token_head, ray_auth_env, tmp_path):
    address, _, root = token_head
    ray_auth_env.setenv("HOME", str(_home(tmp_path, None)))
    out = launch(*SMALLEST, "--address", address, cwd=tmp_path, store=False, timeout=120)
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: the Ray cluster at {address} wants an auth token and none was found: set "
                      "RAY_AUTH_TOKEN to the head's token (`ray get-auth-token` on the head prints it), or "
                      "RAY_AUTH_TOKEN_PATH to a file holding it, or copy the head's ~/.ray/auth_token to this "
                      "machine"]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "mlflow.db").exists()  # failed before any run was made


def test_a_wrong_token_or_a_token_file_that_is_not_there_fails_with_one_line(token_head, ray_auth_env, tmp_path):
    address, _, root = token_head
    ray_auth_env.setenv("HOME", str(_home(tmp_path, None)))
    what_to_set = ("set RAY_AUTH_TOKEN to the head's token (`ray get-auth-token` on the head prints it), or "
                   "RAY_AUTH_TOKEN_PATH to a file holding it, or copy the head's ~/.ray/auth_token to this machine")
    for variable, value, error in (
            ("RAY_AUTH_TOKEN_PATH", str(tmp_path / "no-such-token"),
             f"error: RAY_AUTH_TOKEN_PATH={tmp_path / 'no-such-token'} names no file: {what_to_set}"),
            ("RAY_AUTH_TOKEN", secrets.token_hex(32),
             f"error: the Ray cluster at {address} refused the auth token from RAY_AUTH_TOKEN: {what_to_set}")):
        out = launch(*SMALLEST, "--address", address, cwd=tmp_path, store=False, timeout=120,
                     env={variable: value})
        assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
        assert out.stderr.strip().splitlines() == [error]  # nothing before it, no traceback
        assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize("address, error", [
    # port-rule: 1 is privileged, where nothing listens
    ("127.0.0.1:1", "error: nothing answers at 127.0.0.1:1 (connection refused): check the head's address and port "
                    "(`ray start --head` prints them; its default port is 6379) and that this machine can reach it"),
    ("127.0.0.1", "error: --address must be 'auto' or HOST:PORT (the head's address, e.g. 10.0.0.5:6379), got "
                  "'127.0.0.1'"),
])
def test_a_mistyped_address_fails_at_once_with_one_line(address, error, ray_auth_env, tmp_path):
    out = launch(*SMALLEST, "--address", address, cwd=tmp_path, store=False, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [error], out.stdout[-3000:] + out.stderr[-3000:]


def test_the_suites_local_rays_share_its_token_and_write_none_of_their_own(tmp_path):
    """Ray writes ~/.ray/auth_token at the first local start that finds no token; on a fresh
    machine the suite's processes start several Rays at once, each writing a token of its own
    over the others', and a cluster that read an earlier one refuses its later nodes' calls.
    The suite gives every Ray one token file (conftest), so a local start writes none."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, "HOME": str(home)}
    code = ("import ray; from ray._raylet import get_authentication_mode, AuthenticationMode; "
            "ray.init(num_cpus=1, include_dashboard=False, logging_level='ERROR'); "
            "print(get_authentication_mode() == AuthenticationMode.TOKEN); ray.shutdown()")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "True"  # token mode, with the suite's token
    assert not (home / ".ray" / "auth_token").exists()

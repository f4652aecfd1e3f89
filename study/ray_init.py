"""Starting Ray for a launch: a local Ray of its own, or joining a cluster. Kept apart from
study.runner, which imports Ray Tune, MLflow and torch, so that `study.launch` can start a
local Ray while those imports run."""

import logging
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import ray

from study.spec import StudyError

# Where Ray looks for a cluster's auth token, in its order: the token itself, a file named
# by the second variable, or the file `ray start` and `ray get-auth-token --generate` write.
TOKEN_VARIABLE, TOKEN_PATH_VARIABLE = "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_FILE = "~/.ray/auth_token"
WHAT_TO_SET = (f"set {TOKEN_VARIABLE} to the head's token (`ray get-auth-token` on the head prints it), "
               f"or {TOKEN_PATH_VARIABLE} to a file holding it, or copy the head's {DEFAULT_TOKEN_FILE} "
               "to this machine")


# Our packages a trial imports, shipped to every node of a cluster (tests/test_shipped_packages.py
# checks that a trial's imports need no other).
SHIPPED_PACKAGES = ("analysis", "atomic", "search_spaces", "study", "trainables")


def start_ray(address: str | None) -> None:
    """Local Ray, or join a cluster. On a cluster the driver's own code goes to every
    node with the job (Ray's `py_modules`), so trials run exactly the commit the parent
    run records, whatever version a node has installed."""
    if ray.is_initialized():
        return
    if address:
        import importlib

        use_token_if_cluster_wants_one(address)
        modules = [importlib.import_module(name) for name in SHIPPED_PACKAGES]
        ray.init(address=address, log_to_driver=True, runtime_env={"py_modules": modules,
                                                                  "excludes": ["__pycache__", "*.pyc"]})
    else:
        # "local": a Ray of its own, even where `ray start` left a cluster running (which a
        # bare ray.init() would join, and share with whatever else runs there). No
        # prestarted workers (Ray's internal settings): Ray starts one per CPU when the
        # driver connects, the trials' actors start workers of their own and never use
        # them (the commit that added this setting has the A/B timings).
        # Its own Ray needs no word that it started, nor that it uses a token (one of its own).
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
        ray.init(address="local", include_dashboard=False, log_to_driver=True, logging_level=logging.WARNING,
                 _system_config={"enable_worker_prestart": False, "prestart_worker_first_driver": False})


def use_token_if_cluster_wants_one(address: str) -> None:
    """Connect to a token-auth cluster (what `ray start --head` makes once a token exists)
    in token mode. Ray itself turns token mode on only for `address="auto"`; with HOST:PORT
    its driver connects without a token and, refused, retries for 20 s before a
    ConnectionError. So ask the cluster's GCS first (it answers at once): refused without a
    token, switch to token mode where a token is found, or fail with one line saying what
    to set. The token itself is never printed, logged or passed on."""
    from ray._raylet import AuthenticationMode, get_authentication_mode

    if address == "auto" or "://" in address:  # Ray finds the token for "auto"; ray:// is Ray Client
        return
    check_reachable(address)
    check_token_file()
    token_mode = get_authentication_mode() == AuthenticationMode.TOKEN
    if token_mode and not _token_found():  # a GCS client would abort the process (Ray's check)
        raise StudyError(f"RAY_AUTH_MODE=token and no auth token was found for the Ray cluster at {address}: "
                         f"{WHAT_TO_SET}")
    if _gcs_accepts(address):
        return
    if not token_mode and _token_found():
        _enable_token_mode()
        if _gcs_accepts(address):
            return
    raise StudyError(_refused(address))


PROBE_S = 5.0  # how long a head's port may take to accept a connection


def check_reachable(address: str) -> None:
    """Fail in one line, within seconds, where nothing listens at HOST:PORT: Ray's own
    clients retry a dead address for 40 s per probe and `ray.init` for ever."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise StudyError(f"--address must be 'auto' or HOST:PORT (the head's address, e.g. 10.0.0.5:6379), "
                         f"got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err)).lower()
        raise StudyError(f"nothing answers at {address} ({reason}): check the head's address and port (`ray start "
                         "--head` prints them; its default port is 6379) and that this machine can reach it") from None


def check_token_file() -> None:
    """A token file named by RAY_AUTH_TOKEN_PATH must exist (Ray raises a long traceback)."""
    path = os.environ.get(TOKEN_PATH_VARIABLE)
    if path and not os.environ.get(TOKEN_VARIABLE) and not Path(path).expanduser().is_file():
        raise StudyError(f"{TOKEN_PATH_VARIABLE}={path} names no file: {WHAT_TO_SET}")


def _gcs_accepts(address: str) -> bool:
    """False when the GCS at `address` refuses this process's credentials; a port that
    accepts connections but answers no GCS call fails here, in one line."""
    from ray._raylet import GcsClient
    from ray.exceptions import AuthenticationError, RpcError

    try:
        with _native_stderr_muted():  # Ray's C++ client logs each refusal before raising it
            GcsClient(address=address)
    except AuthenticationError:
        return False
    except RpcError as err:
        raise StudyError(f"{address} accepts connections but no Ray head answered there ({err}): check the port "
                         "(`ray start --head` prints the head's address)") from None
    return True


@contextmanager
def _native_stderr_muted():
    """File descriptor 2 pointed at /dev/null, where Ray's C++ logging writes."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _token_found() -> bool:
    from ray._raylet import AuthenticationTokenLoader

    return AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True)


def _token_source() -> str:
    """Which of Ray's token places this process reads, for messages."""
    if os.environ.get(TOKEN_VARIABLE):
        return TOKEN_VARIABLE
    if os.environ.get(TOKEN_PATH_VARIABLE):
        return f"{TOKEN_PATH_VARIABLE}={os.environ[TOKEN_PATH_VARIABLE]}"
    return DEFAULT_TOKEN_FILE


def _refused(address: str) -> str:
    if not _token_found():
        return f"the Ray cluster at {address} wants an auth token and none was found: {WHAT_TO_SET}"
    return f"the Ray cluster at {address} refused the auth token from {_token_source()}: {WHAT_TO_SET}"


def _enable_token_mode() -> None:
    """What Ray does for itself on `address="auto"`: token mode for this process (and the
    processes it starts), with Ray's cached config and token re-read."""
    from ray._raylet import AuthenticationTokenLoader, Config

    os.environ["RAY_AUTH_MODE"] = "token"
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()

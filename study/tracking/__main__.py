"""`python -m study.tracking`: an MLflow tracking server with its UI, for comparing runs.

    python -m study.tracking [--backend-store-uri URI] [--artifacts-destination URI]
                             [--host 127.0.0.1] [--port 5000] [--auth] [--workers 2]

Then `python -m study.launch <study> --tracking-uri http://127.0.0.1:5000` logs through
it. Stops on Ctrl-C."""

import argparse
import ctypes
import os
import signal
import subprocess
import sys

from study.tracking import server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m study.tracking", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend-store-uri", help="database for runs (default: the store study.launch uses, "
                                                    "$MLFLOW_TRACKING_URI or sqlite:///mlflow.db here)")
    parser.add_argument("--artifacts-destination", help="where artifacts are kept (default: mlartifacts/ beside "
                                                        "an SQLite store, else ./mlartifacts; s3://... for a bucket)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; any other "
                                                            "needs --auth)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--auth", action="store_true", help="serve through MLflow's basic-auth app (logins)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        backend = args.backend_store_uri or server.default_backend()
        opts = server.ServerOptions(backend_store_uri=backend,
                                    artifacts_destination=args.artifacts_destination or server.default_artifacts(backend),
                                    host=args.host, port=args.port, auth=args.auth, workers=args.workers)
        server.check(opts)
    except server.ServerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    # Its own process group: MLflow's server runs its web workers as children, and all of
    # them must go when this command stops; killed outright, this command takes the
    # server with it (PR_SET_PDEATHSIG), so no server outlives it holding the port.
    process = subprocess.Popen(server.command(opts), start_new_session=True, preexec_fn=_die_with_parent)
    try:
        server.wait_ready(process, server.url(opts))
        print(f"MLflow UI and tracking server: {server.url(opts)}\n"
              f"  backend {opts.backend_store_uri}\n  artifacts {opts.artifacts_destination}\n"
              f"Log to it: python -m study.launch <study> --tracking-uri {server.url(opts)}", flush=True)
        return process.wait()
    except server.ServerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(process)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
            process.wait(wait_s)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


if __name__ == "__main__":
    sys.exit(main())

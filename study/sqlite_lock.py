"""MLflow and Optuna make an SQLite database's tables and run its schema migrations when a
process first opens it, and two processes doing that to one new file at once collide (a
table or column "already exists"): two launches started together in one folder. Opening
under `opening(url)` makes the second wait until the first has made the tables."""

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path


def sqlite_path(url: str) -> Path | None:
    """The database file of an `sqlite:///PATH` URL; None for any other URL."""
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


@contextmanager
def opening(url: str):
    """Holds an exclusive lock on the folder of the SQLite database at `url`, creating the
    folder if missing; any other URL: no lock."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock

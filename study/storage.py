"""Where launches live: `--storage-path` is a directory (local, or a volume every node
mounts) or a cloud URI (s3://bucket/prefix, gs://bucket/prefix) that Tune writes its
experiment state and checkpoints to, so any node and a restarted driver can restore them.

A launch is the Tune experiment directory `<storage>/<name>`, holding the launch record
(ferlab_launch.json) beside Tune's own files: `--resume` finds a launch by its record,
wherever the storage is. Files go through pyarrow's filesystems, the ones Tune uses, so
credentials and endpoints come from the same places (for S3: the AWS_* environment
variables, including AWS_ENDPOINT_URL for an S3-compatible server)."""

import json
import os
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from study.spec import StudyError

from atomic import write_bytes

RECORD = "ferlab_launch.json"
CLOUD_SCHEMES = ("s3", "gs", "gcs")
PROBE_TRIES = 5


def is_uri(location: str) -> bool:
    return "://" in location


def resolve(where: str) -> str:
    """An absolute local path, or a cloud URI checked for its scheme."""
    if not is_uri(where):
        return str(Path(where).resolve())
    scheme = where.split("://", 1)[0]
    if scheme not in CLOUD_SCHEMES:
        raise StudyError(f"--storage-path {where!r}: scheme {scheme!r} is not supported; "
                         f"give a directory or a {', '.join(s + '://' for s in CLOUD_SCHEMES)} URI")
    return where.rstrip("/")


def resolve_tracking_uri(uri: str | None) -> str:
    """`--tracking-uri`, else MLFLOW_TRACKING_URI, else an SQLite store in the working
    directory (absolute, because trials and reports may run from elsewhere)."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    return uri or f"sqlite:///{Path.cwd().resolve() / 'mlflow.db'}"


def _fs(location: str) -> tuple[pafs.FileSystem, str]:
    if not is_uri(location):
        return pafs.LocalFileSystem(), location
    try:
        return pafs.FileSystem.from_uri(location)
    except Exception as err:  # noqa: BLE001 — pyarrow raises several types for a bad URI
        raise StudyError(f"cannot open storage {location!r}: {err}") from err


def join(location: str, name: str) -> str:
    return f"{location.rstrip('/')}/{name}"


def exists(location: str) -> bool:
    fs, path = _fs(location)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def ensure_writable(root: str) -> None:
    """Fail before anything is recorded when the storage cannot take a launch's files
    (no such bucket, no credentials, a read-only directory). A directory this makes is
    removed again, so a launch refused later leaves nothing behind; launches starting at
    once on one new directory may each remove it under the others, so the probe is
    retried, and the directory is removed only while empty."""
    fs, path = _fs(root)
    probe = f"{path}/.ferlab-probe-{uuid.uuid4().hex}"
    try:
        new = fs.get_file_info(path).type == pafs.FileType.NotFound
        for attempt in range(PROBE_TRIES):
            try:
                fs.create_dir(path, recursive=True)
                with fs.open_output_stream(probe) as out:
                    out.write(b"ok")
                break
            except (FileNotFoundError, FileExistsError):  # another launch made or removed it meanwhile
                if attempt == PROBE_TRIES - 1:
                    raise
        fs.delete_file(probe)
    except Exception as err:  # noqa: BLE001 — OSError, ArrowInvalid, permission errors
        raise StudyError(f"--storage-path {root!r} cannot be written to: {err}") from err
    if new:
        _remove_if_empty(fs, path)


def _remove_if_empty(fs: pafs.FileSystem, path: str) -> None:
    """Best effort: another launch may have written into it or removed it meanwhile."""
    if isinstance(fs, pafs.LocalFileSystem):
        try:
            os.rmdir(path)  # refuses a directory that is not empty, atomically
        except OSError:
            pass
        return
    try:
        if not fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)):
            fs.delete_dir(path)
    except OSError:
        pass


def refuse_existing(launch_dir: str, study: str) -> None:
    """A new launch never writes into an existing experiment, live or restorable."""
    if exists(launch_dir):
        raise StudyError(f"{launch_dir} already holds a launch of this name; continue it with  python -m study.launch "
                         f"{study} --resume {launch_dir.rsplit('/', 1)[-1]}  or choose another --name")


def write_record(launch_dir: str, record: dict) -> None:
    """Whole or not at all: a local file is renamed into place, and an object store makes
    an object visible only once its upload completes."""
    fs, path = _fs(launch_dir)
    fs.create_dir(path, recursive=True)
    body = json.dumps(record, indent=2).encode()
    if is_uri(launch_dir):
        with fs.open_output_stream(f"{path}/{RECORD}") as out:
            out.write(body)
        return
    write_bytes(Path(path) / RECORD, body)


def read_record(launch_dir: str) -> dict | None:
    fs, path = _fs(launch_dir)
    try:
        with fs.open_input_stream(f"{path}/{RECORD}") as stream:
            return json.loads(stream.read())
    except FileNotFoundError:
        return None


def latest_launch(root: str, prefix: str) -> str | None:
    """The launch directory under `root` whose name starts with `prefix` and whose record
    was written last."""
    fs, path = _fs(root)
    try:
        entries = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    except Exception:  # noqa: BLE001 — an unreadable root holds no launch
        return None
    dirs = [e for e in entries if e.type == pafs.FileType.Directory and e.base_name.startswith(prefix)]
    records = fs.get_file_info([f"{d.path}/{RECORD}" for d in dirs])
    found = [(r.mtime, d.base_name) for d, r in zip(dirs, records) if r.type == pafs.FileType.File]
    return join(root, max(found)[1]) if found else None

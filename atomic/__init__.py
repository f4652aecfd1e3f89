"""Writes that are whole or not at all: every cache entry, checkpoint and record goes
through here, so a process killed at any instant leaves the previous version or the new
one at the final path, never half of one and never neither.

A file is written beside its final path under a hidden temporary name, flushed to disk,
renamed over the old one (`os.replace`, atomic within one file system), and then the
directory is flushed so that the rename itself survives a power cut.

A folder cannot be renamed over a non-empty folder, so replacing one takes two renames:
the old folder steps aside to `.old-<name>`, the new one takes its place, and only then is
the old one removed. A kill between the two renames leaves `.old-<name>` and no `<name>`;
`recover` (which every reader and the next writer call first) moves it back.

Two writers of one folder at once: the rename of the later fails while the earlier's folder
is in place (FileExistsError), and the later writer's folder is discarded; a
content-addressed cache takes the other's as its own.

`fault_hook`, when set, is called with the name of each step just taken (FILE_STEPS,
FOLDER_STEPS): a test sets it to kill the process there and checks what a reader finds."""

import errno
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

FILE_STEPS = ("written", "replaced")  # temporary complete on disk; renamed over the old
FOLDER_STEPS = ("written", "set_aside", "replaced")  # new complete beside; old aside; new in place

fault_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if fault_hook is not None:
        fault_hook(name)


def _beside(path: Path) -> Path:
    """A hidden name in `path`'s folder that no other writer picks; it ends in `path`'s name
    so that writers which add a suffix (np.save adds `.npy`) leave it as it is."""
    return path.with_name(f".tmp-{secrets.token_hex(6)}-{path.name}")


def _old(path: Path) -> Path:
    return path.with_name(f".old-{path.name}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        # Some file systems (FUSE mounts among them) cannot sync a directory; the rename
        # is atomic there all the same.
        if err.errno not in (errno.EINVAL, errno.ENOTSUP) or path.is_file():
            raise
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for parent, _, files in os.walk(folder):
        for name in files:
            _fsync(Path(parent) / name)
        _fsync(Path(parent))


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A path beside `path` for the block to write one file to; when the block ends
    without an error that file replaces `path`. On an error nothing changes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(path)
    try:
        yield tmp
        _fsync(tmp)
        _step("written")
        os.replace(tmp, path)
        _step("replaced")
        _fsync(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    write_bytes(path, text.encode(encoding))


def recover(path: str | Path) -> None:
    """Finish or undo a folder replacement that a killed writer left half done: the old
    folder comes back when the new one never arrived, and goes when it did."""
    path = Path(path)
    old = _old(path)
    if not old.exists():
        return
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.rename(old, path)
    except FileNotFoundError:  # another process recovered it first
        pass
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        shutil.rmtree(old, ignore_errors=True)  # a writer put a newer folder in place meanwhile


def _rename_into_place(new: Path, path: Path) -> None:
    try:
        os.rename(new, path)
    except OSError as err:
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise FileExistsError(err.errno, "another writer put its folder in place first", str(path)) from err
        raise


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """An empty folder beside `path` for the block to fill; when the block ends without an
    error it replaces `path` (a folder, or nothing). On an error nothing changes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    new = _beside(path)
    new.mkdir()
    try:
        yield new
        _fsync_tree(new)
        _step("written")
        if path.exists():
            os.rename(path, _old(path))
            _step("set_aside")
        _rename_into_place(new, path)
        _step("replaced")
        _fsync(path.parent)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        recover(path)
        raise
    shutil.rmtree(_old(path), ignore_errors=True)


def copy_folder(source: str | Path, path: str | Path) -> None:
    """Replace the folder `path` by a copy of `source`, whole or not at all."""
    with atomic_folder(path) as new:
        shutil.copytree(source, new, dirs_exist_ok=True)

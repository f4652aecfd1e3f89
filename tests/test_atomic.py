"""atomic: a process killed between any two steps of a write leaves the previous
version or the new one, whole, for the next reader. Each case writes a first version fully
in a child process, then a second with the fault hook ending the process (`os._exit`, no
clean-up) right after the named step; the parent then reads what is there."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import atomic
from trainables.data.cache import cached
from trainables.data.core import FaceData

ROOT = Path(__file__).resolve().parents[1]
KILLED = 86

# What a reader must find after a kill just after each step: the first version until the new
# one is at the final path, the second from then on.
FILE_FINDS = {"written": 1, "replaced": 2}
FOLDER_FINDS = {"written": 1, "set_aside": 1, "replaced": 2}


def test_the_expectations_name_every_step():
    assert tuple(FILE_FINDS) == atomic.FILE_STEPS and tuple(FOLDER_FINDS) == atomic.FOLDER_STEPS


def run_killed_at(step: str, body: str, cwd: Path) -> None:
    """Run `body` in a fresh Python whose writes end the process just after `step`. The
    body calls `arm()` once its first version is written."""
    script = textwrap.dedent(f"""
        import os
        import atomic

        def arm():
            atomic.fault_hook = lambda step: os._exit({KILLED}) if step == {step!r} else None
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == KILLED, f"not killed at {step!r} (exit {done.returncode}): {done.stderr[-2000:]}"


def version_bytes(v: int) -> bytes:
    """Large enough that a half-written copy would differ in length, and different per version."""
    return bytes([v]) * 3_000_000


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("step", atomic.FILE_STEPS)
def test_a_file_killed_after_each_step_is_one_whole_version(tmp_path, step):
    run_killed_at(step, """
        from pathlib import Path
        from tests.test_atomic import version_bytes
        atomic.write_bytes(Path("record.bin"), version_bytes(1))
        arm()
        atomic.write_bytes(Path("record.bin"), version_bytes(2))
    """, tmp_path)
    assert (tmp_path / "record.bin").read_bytes() == version_bytes(FILE_FINDS[step])


def write_version(folder: Path, v: int) -> None:
    (folder / "state.bin").write_bytes(version_bytes(v))
    (folder / "sub").mkdir()
    (folder / "sub" / "progress.json").write_text(json.dumps({"version": v}))


def read_version(folder: Path) -> int:
    """The version a checkpoint folder holds, failing on a mixed or partial one."""
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "state.bin", "sub", "sub/progress.json"]
    v = json.loads((folder / "sub" / "progress.json").read_text())["version"]
    assert (folder / "state.bin").read_bytes() == version_bytes(v)
    return v


@pytest.mark.parametrize("step", atomic.FOLDER_STEPS)
def test_a_folder_killed_after_each_step_is_one_whole_version_once_recovered(tmp_path, step):
    run_killed_at(step, """
        from tests.test_atomic import write_version
        for v in (1, 2):
            if v == 2:
                arm()
            with atomic.atomic_folder("checkpoint") as new:
                write_version(new, v)
    """, tmp_path)
    atomic.recover(tmp_path / "checkpoint")
    assert read_version(tmp_path / "checkpoint") == FOLDER_FINDS[step]
    assert [n for n in hidden(tmp_path) if n.startswith(".old-")] == []


def test_a_folder_write_that_raises_leaves_the_old_folder_and_no_temporary(tmp_path):
    with atomic.atomic_folder(tmp_path / "checkpoint") as new:
        write_version(new, 1)
    with pytest.raises(OSError, match="disk full"):
        with atomic.atomic_folder(tmp_path / "checkpoint") as new:
            (new / "state.bin").write_bytes(b"half")
            raise OSError("disk full")
    assert read_version(tmp_path / "checkpoint") == 1 and hidden(tmp_path) == []


def test_of_two_writers_at_once_the_one_in_place_first_stays_and_the_other_raises(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint"
    with atomic.atomic_folder(path) as new:
        write_version(new, 1)

    def other_writer_lands(step):
        if step == "set_aside":
            monkeypatch.setattr(atomic, "fault_hook", None)
            with atomic.atomic_folder(path) as other:
                write_version(other, 3)

    monkeypatch.setattr(atomic, "fault_hook", other_writer_lands)
    with pytest.raises(FileExistsError):
        with atomic.atomic_folder(path) as new:
            write_version(new, 2)
    assert read_version(path) == 3 and hidden(tmp_path) == []


def test_a_reader_recovering_while_a_writer_lands_keeps_the_writer_s_folder(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint"
    with atomic.atomic_folder(path) as new:
        write_version(new, 1)
    os.rename(path, tmp_path / ".old-checkpoint")  # as a writer killed after setting it aside leaves it
    real_rename = os.rename

    def writer_lands_first(source, target):
        monkeypatch.setattr(os, "rename", real_rename)
        path.mkdir()  # a writer's new folder renamed into place just before
        write_version(path, 3)
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", writer_lands_first)
    atomic.recover(path)
    assert read_version(path) == 3 and hidden(tmp_path) == []


# -- the writers that use it ----------------------------------------------------------

REPORTERS = {
    "InProcessReporter": ("from trainables.core.reporting import InProcessReporter\n"
                          "writer = InProcessReporter('trial')\n"
                          "report = lambda v, folder: writer.report({'epoch': v}, checkpoint_dir=folder)\n"),
    "InProcessGroup": ("from trainables.core.members import InProcessGroup\n"
                       "writer = InProcessGroup(1, 'trial')\n"
                       "report = lambda v, folder: writer.emit({0: {'epoch': v}}, {}, folder)\n"),
}


def restored_checkpoint(kind: str, workdir: Path) -> str | None:
    from trainables.core.members import InProcessGroup  # imported here: the children import this module
    from trainables.core.reporting import InProcessReporter

    return (InProcessReporter(workdir) if kind == "InProcessReporter" else InProcessGroup(1, workdir)).restore()


@pytest.mark.parametrize("step", atomic.FOLDER_STEPS)
@pytest.mark.parametrize("kind", sorted(REPORTERS))
def test_an_in_process_checkpoint_killed_mid_report_restores_a_whole_one(tmp_path, kind, step):
    """The checkpoint a trial in a plain process (and the judge's own fit, and a fused
    group's) resumes from: killed while replacing it, the resumed trial finds the last."""
    run_killed_at(step, REPORTERS[kind] + textwrap.dedent("""
        import tempfile
        from pathlib import Path
        from tests.test_atomic import write_version
        for v in (1, 2):
            folder = Path(tempfile.mkdtemp(dir="."))
            write_version(folder, v)
            if v == 2:
                arm()
            report(v, str(folder))
    """), tmp_path)
    restored = restored_checkpoint(kind, tmp_path / "trial")
    assert restored is not None and read_version(Path(restored)) == FOLDER_FINDS[step]


def face_data(v: int) -> FaceData:
    return FaceData(name="toy", images=np.full((4, 8, 8), v, np.uint8), labels=np.arange(4, dtype=np.int64),
                    subjects=None, usage=None, content_hash="c0ffee")


@pytest.mark.parametrize("step", atomic.FOLDER_STEPS)
def test_a_dataset_cache_entry_killed_while_replaced_loads_whole(tmp_path, step):
    """A cache entry is replaced when it cannot be read; here the replacement's images
    differ, so the reader can tell which whole entry it got."""
    run_killed_at(step, """
        from pathlib import Path
        from trainables.data.cache import _write, cached
        from tests.test_atomic import face_data
        cached("cache", "toy", "c0ffee", {}, lambda: face_data(1))
        (entry,) = Path("cache").iterdir()
        arm()
        _write(entry, face_data(2))
    """, tmp_path)
    found = cached(tmp_path / "cache", "toy", "c0ffee", {}, lambda: pytest.fail("rebuilt a cached entry"))
    np.testing.assert_array_equal(found.images, face_data(FOLDER_FINDS[step]).images)
    assert [n for n in hidden(tmp_path / "cache") if n.startswith(".old-")] == []

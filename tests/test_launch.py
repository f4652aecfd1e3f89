"""`python -m study.launch` end to end on real local Ray and a real MLflow SQLite store."""

import argparse
import fcntl
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from mlflow import MlflowClient

from study.storage import latest_launch, read_record

REPO = Path(__file__).resolve().parent.parent


# the smoke studies, shortened: these tests check the wiring, not what the nets learn
SHORT = ("--set", "epochs=3", "--set", "steps=15", "--set", "batch_size=16", "--set", 'dataset_options={"n_images": 400}')


@functools.cache
def _empty_store() -> Path:
    """An empty MLflow SQLite store, made by MLflow once per test session. A new store
    runs all of MLflow's schema migrations (seconds each), and this suite launches dozens."""
    store = Path(tempfile.mkdtemp(prefix="ferlab-empty-store-")) / "mlflow.db"
    MlflowClient(f"sqlite:///{store}").search_experiments()
    return store


def launch(*args, cwd, timeout=600, store=True, one_at_a_time=True, env=None):
    """`python -m study.launch ARGS` in `cwd`; `store`: start from an empty MLflow store in
    cwd (the default tracking URI) when cwd has none, rather than have the launch make it.
    `env`: variables set for the launch only. `one_at_a_time`: `--max-concurrent 1` unless
    the test sets its own concurrency or joins a cluster. One trial worker then imports torch and scikit-learn once for the launch,
    where two workers pay it twice; on the suite's busy cores that CPU is what a launch
    costs. Tests of concurrent trials say so with their own --max-concurrent."""
    if store and not (Path(cwd) / "mlflow.db").exists():
        shutil.copy(_empty_store(), Path(cwd) / "mlflow.db")
    if one_at_a_time and not {"--max-concurrent", "--address", "--list", "--dry-run"} & set(args):
        args = (*args, "--max-concurrent", "1")
    return subprocess.run([sys.executable, "-m", "study.launch", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def launch_record(cwd, results="ray_results") -> dict:
    """The record of the newest launch whose results are in cwd/`results`."""
    return read_record(latest_launch(str(Path(cwd) / results), prefix=""))


def child_runs(client, record) -> list:
    """The runs of a launch's trials: the children of its parent run."""
    return client.search_runs([record["experiment_id"]],
                              filter_string=f"tags.`mlflow.parentRunId` = '{record['parent_run_id']}'")


def launched_runs(cwd) -> tuple:
    """(a client of the SQLite store in cwd, the launch's record, its trial runs)."""
    record = launch_record(cwd)
    client = MlflowClient(f"sqlite:///{Path(cwd) / 'mlflow.db'}")
    return client, record, child_runs(client, record)


def shown_and_written(out, cwd) -> str:
    """What a launch printed and the full tables it wrote (`reports/<table>/*.md` in cwd): the
    console names the tables past one screen, whose text is in those files."""
    return out.stdout + "".join(p.read_text() for p in sorted(Path(cwd, "reports").rglob("*.md")))


def test_list_names_every_study(tmp_path):
    """One line per module in search_spaces/ (found here from the files, not through the
    study registry), each with its description; every study's dry run is test_studies'."""
    out = launch("--list", cwd=tmp_path)
    assert out.returncode == 0
    modules = sorted(p.stem for p in (REPO / "search_spaces").glob("*.py") if p.stem != "__init__")
    lines = [line.split(maxsplit=1) for line in out.stdout.splitlines() if line.strip()]
    assert len(modules) >= 11 and sorted(name for name, _ in lines) == modules
    assert all(len(description) > 20 for _, description in lines)


def test_unknown_study_lists_known(tmp_path):
    out = launch("no_such_study", cwd=tmp_path, store=False)
    assert out.returncode == 2
    assert "unknown study 'no_such_study'" in out.stderr and "baseline" in out.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_negative_retries_are_refused_before_anything_starts(tmp_path):
    out = launch("cyclegan_toy", "--retries", "-1", cwd=tmp_path, store=False)
    assert out.returncode == 2 and "--retries must be 0 or more, got -1" in out.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_unknown_dataset_leaves_no_parent_run(tmp_path):
    out = launch("baseline", "--dataset", "mnist", cwd=tmp_path, store=False)
    assert out.returncode == 2 and "synthfaces" in out.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_a_dry_run_piped_into_a_reader_that_stops_early_ends_without_a_traceback(tmp_path):
    """`python -m study.launch fesr_ablation --dry-run | head -c 64`. The pipe holds one
    page (4 KB) and the dry run prints about 7 KB, so it is still writing, blocked on the
    full pipe, when the reader goes, however fast or slow the machine."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen([sys.executable, "-m", "study.launch", "fesr_ablation", "--dry-run"], cwd=tmp_path,
                            stdout=write_end, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(write_end)
    first = os.read(read_end, 64)
    os.close(read_end)  # the reader is gone before the dry run has printed its cells
    assert proc.wait(timeout=60) == 1 and first.startswith(b"fesr_ablation at scale smoke")
    assert proc.stderr.read() == b""


def test_folds_the_data_cannot_make_are_refused_before_any_run(tmp_path):
    """Every trial would fail alike (and Tune retry each): the driver makes the splits first."""
    out = launch("baseline", "--scale", "smoke", "--set", 'dataset_options={"n_images": 60, "n_subjects": 3}',
                 cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.splitlines()[-1] == (
        "error: cannot make 5 subject-disjoint folds from 3 subjects")
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []
    assert not (tmp_path / "ray_results").exists()


@pytest.mark.parametrize("args, refusal", [
    (("baseline", "--dataset", "mnist"), "unknown dataset 'mnist'; known datasets: ckplus"),
    (("cyclegan_toy", "--storage-path", "/proc/ferlab"), "--storage-path '/proc/ferlab' cannot be written"),
    (("cyclegan_toy", "--name", "taken"), "already holds a launch of this name"),
    (("baseline", "--fuse", "0"), "--fuse must be 1 or more"),
])
def test_a_new_launch_is_refused_before_ray_and_the_heavy_imports(tmp_path, args, refusal):
    """Refusals that need neither Ray nor torch answer in a second: nothing of either is
    imported, and no MLflow store is made."""
    (tmp_path / "ray_results" / "taken").mkdir(parents=True)
    loaded, code, stderr = refused(*args, cwd=tmp_path)
    assert (loaded, code) == ([], 2) and refusal in stderr, stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_a_searched_study_is_not_fused(tmp_path):
    """Optuna picks trials one at a time: there are no cells to group (its study module
    imports Ray's search space, so this refusal is not import-free)."""
    _, code, stderr = refused("loss_weights", "--fuse", "2", cwd=tmp_path)
    assert code == 2 and "searches with Optuna: its trials are decided one at a time" in stderr, stderr
    assert not (tmp_path / "mlflow.db").exists()


def refused(*args, cwd) -> tuple[list[str], int, str]:
    """study.launch's main on `args` in a fresh interpreter: (which of ray, torch, mlflow
    and sklearn it imported, its exit code, its stderr)."""
    script = ("import sys; from study.launch import main; code = main(sys.argv[1:]); "
              "print(','.join(sorted({'ray', 'torch', 'mlflow', 'sklearn'} & set(sys.modules))), code)")
    out = subprocess.run([sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    loaded, code = out.stdout.split("\n")[-2].rsplit(" ", 1)
    return [m for m in loaded.split(",") if m], int(code), out.stderr


@pytest.fixture(scope="module")
def four_trials(tmp_path_factory):
    """classical_augmentation at smoke scale: 2 arms × 2 samples = 4 trials, 2 at a time."""
    cwd = tmp_path_factory.mktemp("launch")
    out = launch("classical_augmentation", "--scale", "smoke", "--num-samples", "2", "--max-concurrent", "2",
                 "--cpus-per-trial", "1", *SHORT, cwd=cwd)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    record = launch_record(cwd)
    return cwd, out, record


def test_one_finished_child_run_per_trial(four_trials):
    cwd, out, record = four_trials
    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    parent = client.get_run(record["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["ferlab.git_sha"] and parent.data.tags["ferlab.version.torch"]
    assert parent.data.tags["ferlab.dataset_hash"]
    children = child_runs(client, record)
    trial_dirs = [p for p in (cwd / "ray_results" / record["name"]).iterdir() if p.name.startswith("run_trial_")]
    assert len(trial_dirs) == 4
    assert len(children) == 4
    assert len({c.data.tags["ferlab.trial_id"] for c in children}) == 4
    assert {c.info.status for c in children} == {"FINISHED"}
    assert sorted(c.data.tags["ferlab.variant"] for c in children) == ["classical-zhu_cnn"] * 2 + ["none-zhu_cnn"] * 2
    for child in children:
        assert 0 <= child.data.metrics["test/acc_at_best_val"] <= 1
        assert child.data.params["augment"] in ("none", "classical")
        assert child.data.tags["ferlab.git_sha"] == parent.data.tags["ferlab.git_sha"]
        assert child.data.tags["ferlab.dataset_hash"] == parent.data.tags["ferlab.dataset_hash"]
        assert child.data.tags["ferlab.seed"] == child.data.params["seed"]
        epochs = int(child.data.params["epochs"])
        assert sorted(m.step for m in client.get_metric_history(child.info.run_id, "val/acc")) == list(range(epochs))
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"predictions.csv", "confusion_matrix.csv"} <= artifacts


def test_launch_prints_where_and_the_table(four_trials):
    cwd, out, record = four_trials
    assert record["parent_run_id"] in out.stdout
    assert "classical" in out.stdout and "none" in out.stdout
    assert "procedural demo data" in out.stdout
    assert (cwd / "reports" / "classical_augmentation").is_dir()
    console = out.stdout + out.stderr  # what a person sees, on the built-in data wherever the suite runs
    assert len(console.splitlines()) <= 80, console
    assert "Traceback" not in console and "finished iteration" not in console


def test_the_progress_lines_count_every_trial_of_the_launch(four_trials):
    """Two at a time, Tune makes the third and fourth trials only as slots free up."""
    _, out, _ = four_trials
    lines = [line for line in out.stdout.splitlines() if "] trials: " in line]
    counts = [[int(n) for n in re.findall(r"(\d+) (?:pending|running|done|failed)", line)] for line in lines]
    assert counts and all(len(c) == 4 and sum(c) == 4 for c in counts), lines
    assert counts[-1] == [0, 0, 4, 0]


def test_a_launch_on_a_terminal_draws_one_status_in_place(tmp_path):
    """A whole launch on a real pseudo-terminal: rich's live status (the cursor hidden,
    lines erased and redrawn), not the lines a log gets; the tables print below it."""
    import select

    shutil.copy(_empty_store(), tmp_path / "mlflow.db")
    leader, follower = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "study.launch", "classical_augmentation", "--scale", "smoke",
                             *SHORT, "--max-concurrent", "1"], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower, env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        chunk = b""
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the launch has closed its end
                pass
        shown += chunk
        if not chunk and proc.poll() is not None:
            break
    os.close(leader)
    text = shown.decode(errors="replace")
    assert proc.wait(timeout=60) == 0, text[-3000:]
    assert "\x1b[?25l" in text and "\x1b[2K" in text  # rich's Live: cursor hidden, the status rewritten in place
    final = text.rindex("trials: 0 pending, 0 running, 2 done, 0 failed")
    assert final < text.index("### ")  # the status ends above the tables


def test_resume_of_finished_launch_adds_no_runs(four_trials):
    cwd, _, record = four_trials
    out = launch("classical_augmentation", "--resume", cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    children = child_runs(client, record)
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}


def test_a_resume_keeps_the_launchs_trial_resources_and_refuses_others(four_trials):
    cwd, _, record = four_trials
    assert (record["cpus_per_trial"], record["gpus_per_trial"]) == (1, None)
    out = launch("classical_augmentation", "--resume", "--cpus-per-trial", "2", cwd=cwd)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (f"error: --resume continues launch {record['name']} as it was launched, with "
                          "--cpus-per-trial 1; got --cpus-per-trial 2: resume without --cpus-per-trial, or start a "
                          "new launch\n")
    out = launch("classical_augmentation", "--resume", "--gpus-per-trial", "0.5", cwd=cwd)
    assert "with the scale's default (no --gpus-per-trial); got --gpus-per-trial 0.5" in out.stderr


def test_a_resume_without_resource_flags_takes_the_recorded_ones():
    from study.preflight import recorded_resources

    args = argparse.Namespace(cpus_per_trial=None, gpus_per_trial=None)
    recorded_resources(args, {"name": "x", "cpus_per_trial": 1, "gpus_per_trial": 0.25})
    assert (args.cpus_per_trial, args.gpus_per_trial) == (1, 0.25)
    older = argparse.Namespace(cpus_per_trial=2, gpus_per_trial=None)
    recorded_resources(older, {"name": "x"})  # a record from before resources were kept: the flags stand
    assert (older.cpus_per_trial, older.gpus_per_trial) == (2, None)


CKPLUS = Path(os.environ.get("FERLAB_DATASETS", REPO.parent / "shared" / "datasets")) / "ckplus48"


@pytest.mark.skipif(not CKPLUS.is_dir(), reason=f"real CK+48 not found at {CKPLUS} (set FERLAB_DATASETS)")
def test_baseline_on_real_ckplus_uses_subject_folds(tmp_path):
    out = launch("baseline", "--scale", "smoke", "--dataset", "ckplus", "--data-root", str(CKPLUS),
                 "--set", "epochs=2", "--set", "steps=24", "--set", "batch_size=16", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "dataset ckplus, scale smoke" in out.stdout and "procedural" not in out.stdout.split("###", 1)[1]
    console = out.stdout + out.stderr  # what a person sees
    assert len(console.splitlines()) <= 80, console
    assert "Traceback" not in console and "finished iteration" not in console
    header = next(line for line in out.stdout.splitlines() if line.startswith("| net |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert {"budget (steps)", "overall acc", "overall acc (paper)", "macro-F1"} <= set(columns)
    assert not any(c.startswith("acc ") for c in columns)  # per-class: in the report files
    assert "per-class columns: reports/baseline/baseline.md" in out.stdout
    assert "trials: 0 pending, 0 running, 3 done, 0 failed" in out.stdout  # the progress lines' last
    client, record, children = launched_runs(tmp_path)
    assert sorted(c.data.params["net"] for c in children) == ["picha_cnn", "simple", "zhu_cnn"]
    for child in children:
        assert child.data.params["fold"] == "0" and child.data.params["n_folds"] == "5"
        # CK+ has contempt and no neutral: the per-class metrics follow the dataset's classes
        assert "test/acc_contempt_at_best_val" in child.data.metrics
        assert "test/acc_neutral_at_best_val" not in child.data.metrics

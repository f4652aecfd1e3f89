"""Results that travel with the repository: a launch's runs exported to a file
(``analysis.export``), its tables regenerated from exports alone (``analysis.report
--runs``) and its page ``docs/results/<study>.md`` regenerated from ``results/<study>/``
(``analysis.publish``).

Every committed ``results/<study>/`` folder must regenerate its committed page. The rest
builds a real sqlite MLflow store shaped like a launch's (a parent run with the
launcher's tags, child runs with a trial's tags, params, per-epoch and summary metrics
and artifacts, a failed trial and its ``--fill-missing`` fill, a second launch of more
seeds), exports it, and checks the exports give the store's DataFrame and tables, and
the numbers logged. Nothing here starts Ray or trains.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import ReportError
from analysis.export import export_launch, main as export_main
from analysis.exported import load_exports, read_export
from analysis.layouts import build_tables
from analysis.publish import BEGIN, END, main as publish_main, page, publish
from analysis.report import full_markdown
from analysis.runs import load_runs
from analysis.tables import to_markdown

REPO = Path(__file__).resolve().parents[1]
STUDY = "classical_augmentation"
CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# test/acc_at_best_val by augment and seed: launch A holds seeds 0-2 (classical seed 2
# failed there and its fill finished it), launch B seeds 3-5
ACC = {"none": [0.50, 0.55, 0.53, 0.51, 0.56, 0.52], "classical": [0.52, 0.58, 0.54, 0.55, 0.57, 0.56]}
SHA = "0123456789abcdef0123456789abcdef01234567"


def committed_studies() -> list[str]:
    """Every study with a committed results/<study>/ folder or docs/results/<study>.md page
    (a page written by hand, with no generated block and no exports, passes)."""
    folders, pages = REPO / "results", REPO / "docs" / "results"
    found = {p.name for p in folders.iterdir() if p.is_dir()} if folders.is_dir() else set()
    return sorted(found | ({p.stem for p in pages.glob("*.md")} if pages.is_dir() else set()))


@pytest.mark.parametrize("study", committed_studies())
def test_each_committed_page_is_what_its_exports_give(study):
    assert publish(study, REPO, check=True) is None


# --- a store shaped like a launch's -------------------------------------------------------

def _png(tmp: Path, name: str, payload: bytes) -> str:
    path = tmp / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + payload)
    return str(path)


def _parent(client, eid, name, start, fills=None, dirty=False):
    from mlflow.entities import Param

    tags = {"ferlab.role": "parent", "ferlab.study": STUDY, "ferlab.dataset": "synthfaces", "ferlab.scale": "smoke",
            "ferlab.procedural": "true", "ferlab.deviations": json.dumps({"epochs": "2 instead of 30"}),
            "ferlab.dataset_hash": "d41d8cd9", "ferlab.git_sha": SHA, "ferlab.git_dirty": str(dirty).lower(),
            "ferlab.python": "3.12.3", "ferlab.fuse": "1", "mlflow.user": "someone",
            "mlflow.source.name": "/home/someone/ferlab/study/launch.py",
            "ferlab.launch_options": json.dumps({"scale": "smoke", "dataset": "synthfaces", "overrides": {}})}
    if fills:
        tags["ferlab.fills"] = fills
    run = client.create_run(eid, start_time=start, run_name=name, tags=tags)
    client.log_batch(run.info.run_id, params=[Param("scale", "smoke"), Param("dataset", "synthfaces")])
    if dirty:
        client.log_text(run.info.run_id, "--- a/x.py\n+++ b/x.py\n+print('local change')\n", "git_diff.patch")
    return run.info.run_id


def _child(client, eid, parent, augment, seed, start, tmp, status="FINISHED"):
    from mlflow.entities import Metric, Param

    inherited = {k: v for k, v in client.get_run(parent).data.tags.items()
                 if k.startswith("ferlab.") and k not in ("ferlab.role", "ferlab.launch_options", "ferlab.fills")}
    tags = {**inherited, "mlflow.parentRunId": parent, "ferlab.role": "trial", "ferlab.trial_id": f"t{start}",
            "variant": augment, "seed": str(seed), "fold": "0", "ferlab.variant": augment,
            "ferlab.seed": str(seed), "ferlab.fold": "0", "ferlab.last_step": "1", "mlflow.user": "someone"}
    rid = client.create_run(eid, run_name=f"{augment} fold0 seed{seed}", start_time=start, tags=tags).info.run_id
    acc = ACC[augment][seed]
    config = {"net": "simple", "augment": augment, "seed": seed, "fold": 0, "epochs": 2, "lr": 0.001,
              "batch_size": 64, "dataset": "synthfaces", "data.size": 48, "data.val_fraction": 0.1,
              **{f"opt.beta{k}": 0.9 for k in range(1, 3)}, **{f"aug.p{k}": 0.5 for k in range(20)}}
    metrics = [Metric(key, 0.4 + 0.05 * epoch, 0, epoch) for epoch in range(2)
               for key in ("train/loss", "train/acc", "val/loss", "val/acc")]
    final = {"val/acc_best": acc + 0.01, "best_epoch": 1, "test/acc": acc - 0.02, "test/macro_f1": acc - 0.1,
             "test/acc_at_best_val": acc, "test/macro_f1_at_best_val": acc - 0.08, "test_acc": acc - 0.02,
             "selection/at_fraction": 0.5, "budget/steps": 40.0, "train/loss_diverged": float("nan")}
    for i, c in enumerate(CLASSES):
        final.update({f"test/acc_{c}": acc, f"test/ovr_acc_{c}": 0.9, f"test/acc_{c}_at_best_val": acc + 0.01 * i,
                      f"test/ovr_acc_{c}_at_best_val": 0.91, f"test_acc_{c}": acc})
    metrics += [Metric(k, v, 0, 1) for k, v in final.items()]
    client.log_batch(rid, metrics=metrics, params=[Param(k, str(v)) for k, v in config.items()])
    # sample grids (only a variant's first finished run's travel; of a series its last),
    # and artifacts that stay in MLflow
    for name, payload in ((f"samples_{augment}.png", f"{augment} seed{seed}".encode() * 40),
                          ("dcgan_samples_epoch000.png", b"epoch0"), ("dcgan_samples_epoch004.png", b"epoch4"),
                          ("roc.png", b"roc")):
        client.log_artifact(rid, _png(tmp, name, payload))
    np.savez_compressed(tmp / "manifold.npz", features=np.zeros((2, 2)))
    client.log_artifact(rid, str(tmp / "manifold.npz"))
    client.log_text(rid, "label,pred\nangry,angry\n", "test_predictions.csv")
    client.set_terminated(rid, status)
    return rid


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    tmp = tmp_path_factory.mktemp("artifacts-to-log")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    eid = client.create_experiment(STUDY, artifact_location=(root / "mlartifacts").as_uri())
    a = _parent(client, eid, "classical_augmentation-synthfaces-smoke-A", 1_000, dirty=True)
    for seed in range(3):
        _child(client, eid, a, "none", seed, 1_100 + seed, tmp)
        _child(client, eid, a, "classical", seed, 1_200 + seed, tmp, status="FAILED" if seed == 2 else "FINISHED")
    fill = _parent(client, eid, "classical_augmentation-synthfaces-smoke-fill", 2_000, fills=a)
    _child(client, eid, fill, "classical", 2, 2_100, tmp)
    b = _parent(client, eid, "classical_augmentation-synthfaces-smoke-B", 3_000)
    for seed in range(3, 6):
        for augment in ("none", "classical"):
            _child(client, eid, b, augment, seed, 3_100 + seed, tmp)
    empty = client.create_experiment("baseline", artifact_location=(root / "mlartifacts-b").as_uri())
    lonely = client.create_run(empty, tags={"ferlab.role": "parent", "ferlab.study": "baseline"}).info.run_id
    return {"uri": uri, "A": a, "fill": fill, "B": b, "lonely": lonely, "root": root}


@pytest.fixture(scope="module")
def exports(store, tmp_path_factory):
    """Launch A (with its fill) and launch B, each exported once, under results/<study>/."""
    root = tmp_path_factory.mktemp("repo")
    out = root / "results" / STUDY
    a = export_launch(STUDY, store["uri"], store["A"], out / "A.json.gz", samples_cap_kb=64)
    b = export_launch(STUDY, store["uri"], "latest", out / "B.json.gz", samples=False)
    return {"root": root, "A": a, "B": b}


def _mean_cell(values, signed=False):
    """The mean part of a table cell, from the logged numbers."""
    mean = 100 * float(np.mean(values))
    return f"{mean:+.2f}" if signed else f"{mean:.2f}"


def _row(table, augment):
    (row,) = [r for _, r in table.cells.iterrows() if r["augment"] == augment]
    return row


# --- export → report ------------------------------------------------------------------------

def test_an_export_gives_the_stores_frame_and_tables(store, exports):
    from_store = load_runs(STUDY, tracking_uri=store["uri"], parent=store["A"], statuses=None)
    from_file = load_exports(STUDY, [exports["A"]], statuses=None)
    pd.testing.assert_frame_equal(from_file, from_store)
    assert [to_markdown(t) for t in build_tables(STUDY, from_file)] == [
        to_markdown(t) for t in build_tables(STUDY, from_store)]
    # and the numbers are the ones logged: the fill's run joins its launch, the failed run is kept but not counted
    finished = from_file[from_file["status"] == "FINISHED"]
    for augment, accs in ACC.items():
        assert sorted(finished[finished["param.augment"] == augment]["test/acc_at_best_val"]) == sorted(accs[:3])
    assert sorted(from_file["status"]) == ["FAILED"] + ["FINISHED"] * 6
    assert set(from_file["parent_run_id"]) == {store["A"]}
    assert set(from_file["launch_run_id"]) == {store["A"], store["fill"]}
    assert np.isnan(from_file["train/loss_diverged"]).all()
    (table,) = build_tables(STUDY, from_file)
    assert _row(table, "none")["overall acc"].startswith(_mean_cell(ACC["none"][:3]) + " ±")
    diffs = np.subtract(ACC["classical"][:3], ACC["none"][:3])
    assert _row(table, "classical")["Δ overall acc vs none"].startswith(_mean_cell(diffs, signed=True) + " ±")
    assert "(n=3)" in _row(table, "classical")["overall acc"]
    assert "1 unfinished trial runs excluded" in table.context and "2 instead of 30" in table.context


def test_merged_exports_are_one_study_split_in_two_launches(store, exports):
    merged = load_exports(STUDY, [exports["A"], exports["B"]], statuses=None)
    pd.testing.assert_frame_equal(merged, load_runs(STUDY, tracking_uri=store["uri"], parent="all", statuses=None))
    (table,) = build_tables(STUDY, merged)
    none = _row(table, "none")["overall acc"]
    assert none.startswith(_mean_cell(ACC["none"]) + " ±") and none.endswith("(n=6)")
    diffs = np.subtract(ACC["classical"], ACC["none"])
    assert _row(table, "classical")["Δ overall acc vs none"].startswith(_mean_cell(diffs, signed=True) + " ±")
    assert "from 2 parent runs" in table.context


def test_a_run_in_two_exports_is_refused(exports, tmp_path):
    again = tmp_path / "A-again.json.gz"
    shutil.copy(exports["A"], again)
    with pytest.raises(ReportError, match=rf"in both {exports['A']} and {again}"):
        load_exports(STUDY, [exports["A"], exports["B"], again])
    with pytest.raises(ReportError, match="not 'baseline'"):
        load_exports("baseline", [exports["A"]])


def test_report_cli_reads_exports_without_any_store(exports, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)

    def report(*args):
        return subprocess.run([sys.executable, "-m", "analysis.report", STUDY, *args, "--no-plots"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)

    done = report("--runs", str(exports["A"]), str(exports["B"]))
    assert done.returncode == 0, done.stderr
    assert _mean_cell(ACC["none"]) in done.stdout and "(n=6)" in done.stdout
    assert (tmp_path / "reports" / STUDY / f"{STUDY}.csv").exists()
    assert not (tmp_path / "mlflow.db").exists()
    done = report("--runs", str(exports["A"]), str(exports["A"]))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "is in both" in done.stderr
    done = report("--runs", str(exports["A"]), "--parent", "latest")  # exports or a store, not both
    assert done.returncode == 2 and "takes no --tracking-uri or --parent" in done.stderr


# --- the export file --------------------------------------------------------------------------

def test_export_holds_the_launch_record_and_is_small(store, exports):
    document = read_export(exports["A"])
    assert (document["format"], document["version"], document["study"]) == ("ferlab-runs", 1, STUDY)
    parents = [launch["parent"] for launch in document["launches"]]
    assert [p["run_id"] for p in parents] == [store["A"], store["fill"]]
    assert parents[0]["tags"]["ferlab.git_sha"] == SHA and parents[0]["params"] == {"scale": "smoke",
                                                                                     "dataset": "synthfaces"}
    assert "print('local change')" in parents[0]["git_diff"] and "git_diff" not in parents[1]
    assert json.loads(parents[0]["tags"]["ferlab.launch_options"])["scale"] == "smoke"
    runs = [r for launch in document["launches"] for r in launch["runs"]]
    assert not any(k == "mlflow.user" or k.startswith("mlflow.source.") for r in runs + parents for k in r["tags"])
    # each run keeps its latest values, not the per-epoch history
    assert {r["metrics"]["val/acc"] for r in runs} == {0.45}
    # a 70-run launch of runs this size stays well under 1 MB
    assert exports["A"].stat().st_size / len(runs) * 70 < 250_000
    assert gzip.decompress(exports["A"].read_bytes())[:1] == b"{"


def test_each_variants_first_sample_grids_travel_beside_the_export(exports):
    samples = read_export(exports["A"])["samples"]
    folder = exports["A"].parent / "A_samples"
    assert samples["dir"] == "A_samples"
    copied = sorted(f["path"] for f in samples["files"])
    # 64 kB holds everything: two variants × their samples grid and the last of the DCGAN series
    assert copied == ["classical/dcgan_samples_epoch004.png", "classical/samples_classical.png",
                      "none/dcgan_samples_epoch004.png", "none/samples_none.png"]
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == copied
    assert (folder / "none" / "samples_none.png").read_bytes().endswith(b"none seed0" * 40)
    assert not (exports["B"].parent / "B_samples").exists()


def test_the_samples_cap_leaves_grids_out_and_says_so(store, tmp_path):
    out = export_launch(STUDY, store["uri"], store["A"], tmp_path / "capped.json.gz", samples_cap_kb=1)
    samples = read_export(out)["samples"]
    assert sum(f["bytes"] for f in samples["files"]) <= 1024
    assert len(samples["files"]) + len(samples["skipped"]) == 4 and samples["skipped"]
    assert all("over the 1 kB cap" in line for line in samples["skipped"])


def test_export_cli_refuses_with_one_line_and_leaves_no_file(store, exports, tmp_path, capsys):
    def export(*args):
        code = export_main([*args, "--tracking-uri", store["uri"]])
        return code, capsys.readouterr().err

    code, err = export("nope", "--out", str(tmp_path / "x.json.gz"))
    assert code == 2 and "no report layout for study 'nope'" in err and "\n" not in err.strip()
    code, err = export("baseline", "--out", str(tmp_path / "x.json.gz"))
    assert code == 2 and "no trial runs" in err
    code, err = export(STUDY, "--parent", "deadbeef", "--out", str(tmp_path / "x.json.gz"))
    assert code == 2 and store["A"] in err
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left behind
    before = exports["B"].read_bytes()
    code, err = export(STUDY, "--out", str(exports["B"]))
    assert code == 2 and "--force" in err and exports["B"].read_bytes() == before
    code, _ = export(STUDY, "--out", str(exports["B"]), "--force", "--no-samples")
    assert code == 0 and read_export(exports["B"])["launches"][0]["parent"]["run_id"] == store["B"]
    assert [p.name for p in exports["B"].parent.iterdir() if p.name.startswith(".")] == []


def test_an_export_that_fails_midway_leaves_nothing_behind(tmp_path):
    """A sample grid that cannot be read (its file gone from the artifact store) fails
    the export after the runs are read: no file, no samples folder, no temporary."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    eid = client.create_experiment(STUDY, artifact_location=(tmp_path / "mlartifacts").as_uri())
    parent = _parent(client, eid, "one", 1_000)
    _child(client, eid, parent, "none", 0, 1_100, tmp_path)
    (grid,) = (tmp_path / "mlartifacts").rglob("samples_none.png")
    grid.unlink()
    grid.symlink_to(tmp_path / "gone.png")  # listed as a file, unreadable
    out = tmp_path / "results" / "one.json.gz"
    with pytest.raises(ReportError, match="--no-samples"):
        export_launch(STUDY, uri, "latest", out)
    assert list(out.parent.iterdir()) == []
    assert export_launch(STUDY, uri, "latest", out, samples=False) == out


def test_export_defaults_to_results_study_launch_name(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = export_launch(STUDY, store["uri"], store["fill"], samples=False)  # a fill exports with its launch
    assert path == Path("results") / STUDY / "classical_augmentation-synthfaces-smoke-A.json.gz"
    assert [launch["parent"]["run_id"] for launch in read_export(path)["launches"]] == [store["A"], store["fill"]]
    with pytest.raises(ReportError, match="--out"):
        export_launch(STUDY, store["uri"], "all", samples=False)


# --- the page -----------------------------------------------------------------------------------

def test_page_is_regenerated_from_the_exports_and_a_stale_page_is_reported(store, exports, capsys):
    root = exports["root"]
    assert publish_main([STUDY, "--root", str(root)]) == 0
    text = (root / "docs" / "results" / f"{STUDY}.md").read_text()
    assert "Generated by `python -m analysis.publish classical_augmentation`" in text
    for file, parent in (("A", store["A"]), ("A", store["fill"]), ("B", store["B"])):
        assert f"`results/{STUDY}/{file}.json.gz`" in text and parent in text
    assert SHA[:12] + " (uncommitted changes)" in text and "| synthfaces | smoke |" in text
    assert f"[4 files](../../results/{STUDY}/A_samples/)" in text
    tables = build_tables(STUDY, load_runs(STUDY, tracking_uri=store["uri"], parent="all", statuses=None))
    assert text.endswith("## Tables\n\n" + full_markdown(tables) + "\n" + END + "\n")
    assert page(STUDY, root, text) == text and publish(STUDY, root, check=True) is None
    assert publish_main(["--check", "--root", str(root)]) == 0

    # the data changes (launch B's export dropped) and the page does not: the check says so
    moved = exports["B"].with_suffix(".moved")
    exports["B"].rename(moved)
    try:
        problem = publish(STUDY, root, check=True)
        assert problem and "`python -m analysis.publish classical_augmentation`" in problem
        capsys.readouterr()
        assert publish_main(["--check", "--root", str(root)]) == 1
        assert "differs from what results/classical_augmentation/ gives" in capsys.readouterr().err
    finally:
        moved.rename(exports["B"])
    # the page is edited by hand
    page_path = root / "docs" / "results" / f"{STUDY}.md"
    page_path.write_text(text.replace(_mean_cell(ACC["none"]), "99.99"))
    assert "differs" in publish(STUDY, root, check=True)
    page_path.write_text(text)


def test_report_from_exports_leaves_out_the_tsne_plots_and_says_why(tmp_path, capsys):
    """fesr_ablation draws t-SNE plots from feature artifacts in MLflow; an export (here
    written by hand: the format is plain JSON) carries none, so the report says so."""
    from analysis.report import write_report

    runs = [{"run_id": f"r{variant}{fold}", "run_name": f"{variant} fold{fold} seed0", "status": "FINISHED",
             "start_time": 10 + fold, "end_time": 20,
             "tags": {"mlflow.parentRunId": "p", "ferlab.role": "trial", "ferlab.dataset": "ckplus",
                      "ferlab.scale": "cpu", "ferlab.procedural": "false", "ferlab.variant": variant,
                      "ferlab.seed": "0", "ferlab.fold": str(fold)},
             "params": {"variant": variant, "seed": "0", "fold": str(fold)},
             "metrics": {"test/acc_at_best_val": 0.8 + 0.01 * fold, "test/macro_f1_at_best_val": 0.7}}
            for variant in ("BASELINE", "FESR_JL") for fold in range(2)]
    parent = {"run_id": "p", "run_name": "fesr", "status": "FINISHED", "start_time": 1, "end_time": 30,
              "tags": {"ferlab.role": "parent"}, "params": {}, "metrics": {}}
    document = {"format": "ferlab-runs", "version": 1, "study": "fesr_ablation", "exported_at": "x", "parent": "p",
                "launches": [{"parent": parent, "runs": runs}], "samples": {"dir": "s", "files": [], "skipped": []}}
    path = tmp_path / "fesr.json.gz"
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    tables = write_report("fesr_ablation", out_dir=tmp_path / "out", runs_files=[path])
    assert "(n=2)" in tables[0].cells.set_index("variant").loc["FESR_JL", "overall acc"]
    assert "no t-SNE plots" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*manifold*"))


def test_what_a_person_writes_around_the_block_is_kept(exports):
    root = exports["root"]
    page_path = root / "docs" / "results" / f"{STUDY}.md"
    assert publish(STUDY, root) is None
    generated = page_path.read_text()
    block = generated[generated.index(BEGIN):]
    prose = f"# Classical augmentation on our data\n\nA launch costs 3 min on 2 cores.\n\n{block}\nSee also x.\n"
    page_path.write_text(prose.replace(_mean_cell(ACC["none"]), "99.99"))
    assert "differs" in publish(STUDY, root, check=True)
    assert publish(STUDY, root) is None and page_path.read_text() == prose  # the block renewed, the prose kept
    assert publish(STUDY, root, check=True) is None
    page_path.write_text("# A page without the markers\n")
    with pytest.raises(ReportError, match="no generated block"):
        publish(STUDY, root)
    page_path.write_text(generated)


def test_a_hand_written_page_without_exports_is_left_alone_and_one_with_a_block_is_not(tmp_path):
    pages = tmp_path / "docs" / "results"
    pages.mkdir(parents=True)
    (pages / "dcgan_svm.md").write_text("# dcgan_svm\n\nCannot reach a working DCGAN on 2 cores: ...\n")
    assert publish("dcgan_svm", tmp_path, check=True) is None
    (pages / "dcgan_svm.md").write_text(f"# dcgan_svm\n\n{BEGIN}\nold tables\n{END}\n")
    with pytest.raises(ReportError, match="no exports"):
        publish("dcgan_svm", tmp_path, check=True)

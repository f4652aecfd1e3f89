"""Golden tests for ``analysis``: fabricated MLflow runs in, tables out.

The fixture writes a real sqlite MLflow store following the trainer/launcher
contract (parent run per launch, child run per trial, tags, params, per-epoch and
summary metrics, artifacts) once per module; expected numbers are computed here
independently with scipy's t distribution.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from analysis import ReportError
from analysis.layouts import LAYOUTS, build_tables, get_layout
from analysis.references import PAPERS, REFERENCES, one, select
from analysis.report import render_report
from analysis.runs import (BASE_COLUMNS, _choose_parents, _experiment, _ferlab_tags, _root_of,
                           children_of, load_runs, parent_records, parents_frame,
                           resolve_tracking_uri, run_row, runs_frame)
from analysis.pairing import paired_values
from analysis.stats import Interval, mean_ci
from analysis.tables import to_csv, to_latex, to_markdown

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# baseline, newest launch: accuracy at best val per seed, and angry per-class accuracy
SIMPLE_ACC = [0.60, 0.62, 0.655]
RESNET_ACC = [0.70, 0.71, 0.73]
SIMPLE_ANGRY = [0.30, 0.31, 0.32]
OLD_SIMPLE_ACC = [0.10, 0.20]
# classical_augmentation, seeds 0..2 of net "simple", and net "tiny" with one seed
AUG = {"none": [0.50, 0.55, 0.53], "classical": [0.52, 0.58, 0.54]}


def ci(values):
    """Independent Student-t 95 % interval: (mean, half width, n)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    half = st.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return x.mean(), half, n


def cell(values, signed=False):
    """A table cell: mean ± Student-t half-width; a rate whose interval runs past [0, 1]
    prints the interval cut there, [low, high], marked clipped."""
    mean, half, n = ci(values)
    m = f"{100 * mean:+.2f}" if signed else f"{100 * mean:.2f}"
    if signed or n < 2 or 0 <= mean - half and mean + half <= 1:
        return f"{m} ± {'n/a' if math.isnan(half) else f'{100 * half:.2f}'} (n={n})"
    low, high = max(0.0, mean - half), min(1.0, mean + half)
    return f"{m} [{100 * low:.2f}, {100 * high:.2f}] (n={n}, clipped)"


# --- the fixture store ---------------------------------------------------------------

def _parent(client, eid, study, dataset, scale, start):
    procedural = "true" if dataset == "synthfaces" else "false"
    run = client.create_run(eid, start_time=start, tags={
        "ferlab.role": "parent", "ferlab.study": study, "ferlab.dataset": dataset,
        "ferlab.scale": scale, "ferlab.procedural": procedural})
    return run.info.run_id


def _child(client, eid, parent, study, *, net, seed, acc, status="FINISHED",
           augment="none", angry=None, fold=0, start=0):
    from mlflow.entities import Metric, Param

    p = client.get_run(parent).data.tags
    tags = {"mlflow.parentRunId": parent, "ferlab.role": "trial", "ferlab.study": study,
            "ferlab.trial_id": f"t_{net}_{augment}_{seed}_{start}",
            "ferlab.variant": augment, "ferlab.seed": str(seed), "ferlab.fold": str(fold),
            **{k: p[k] for k in ("ferlab.dataset", "ferlab.scale", "ferlab.procedural")}}
    run = client.create_run(eid, start_time=start, tags=tags)
    rid = run.info.run_id
    params = {"net": net, "augment": augment, "seed": seed, "fold": fold, "epochs": 2}
    metrics = []
    for epoch in range(2):  # per-epoch history, step = epoch
        for key in ("train/loss", "train/acc", "val/loss", "val/acc"):
            metrics.append(Metric(key, 0.5 + 0.1 * epoch, 0, epoch))
    final = {"val/acc_best": acc, "best_epoch": 1, "test/acc": acc - 0.05,
             "test/macro_f1": acc - 0.2, "test/acc_at_best_val": acc,
             "test/macro_f1_at_best_val": acc - 0.1}
    for i, c in enumerate(CLASSES):
        per_class = angry if (c == "angry" and angry is not None) else acc + 0.01 * i
        final.update({f"test/acc_{c}": per_class - 0.05, f"test/ovr_acc_{c}": 0.9,
                      f"test/acc_{c}_at_best_val": per_class,
                      f"test/ovr_acc_{c}_at_best_val": 0.91})
    metrics += [Metric(k, v, 0, 0) for k, v in final.items()]
    client.log_batch(rid, metrics=metrics, params=[Param(k, str(v)) for k, v in params.items()])
    client.log_text(rid, "index,label,pred,prob_angry\n0,0,0,0.9\n", "predictions.csv")
    client.log_text(rid, "1,0\n0,1\n", "confusion_matrix.csv")
    if status != "RUNNING":
        client.set_terminated(rid, status)
    return rid


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    art = (root / "artifacts").as_uri()
    ids = {}
    eid = client.create_experiment("baseline", artifact_location=art + "/baseline")
    old = _parent(client, eid, "baseline", "fer2013", "smoke", start=1_000)
    for seed, acc in enumerate(OLD_SIMPLE_ACC):
        _child(client, eid, old, "baseline", net="simple", seed=seed, acc=acc, start=1_100)
    new = _parent(client, eid, "baseline", "fer2013", "cpu", start=2_000)
    for seed in range(3):
        _child(client, eid, new, "baseline", net="simple", seed=seed, acc=SIMPLE_ACC[seed],
               angry=SIMPLE_ANGRY[seed], start=2_100 + seed)
        _child(client, eid, new, "baseline", net="resnet", seed=seed, acc=RESNET_ACC[seed],
               start=2_200 + seed)
    _child(client, eid, new, "baseline", net="simple", seed=3, acc=0.99, status="FAILED",
           start=2_300)
    _child(client, eid, new, "baseline", net="simple", seed=4, acc=0.01, status="RUNNING",
           start=2_400)
    ids.update(baseline_old=old, baseline_new=new)

    eid = client.create_experiment("classical_augmentation",
                                   artifact_location=art + "/classical")
    par = _parent(client, eid, "classical_augmentation", "synthfaces", "smoke", start=3_000)
    for augment, accs in AUG.items():
        for seed, acc in enumerate(accs):
            _child(client, eid, par, "classical_augmentation", net="simple", seed=seed,
                   acc=acc, augment=augment, start=3_100 + seed)
        _child(client, eid, par, "classical_augmentation", net="tiny", seed=0,
               acc=0.4 if augment == "none" else 0.45, augment=augment, start=3_200)
    ids["classical"] = par
    return {"uri": uri, "root": root, **ids}


def _table(store, study, parent="latest"):
    runs = load_runs(study, tracking_uri=store["uri"], parent=parent, statuses=None)
    (table,) = build_tables(study, runs)
    return table


def _row(table, **keys):
    mask = pd.Series(True, index=table.cells.index)
    for k, v in keys.items():
        mask &= table.cells[k] == v
    assert mask.sum() == 1, table.cells
    return table.cells[mask].iloc[0]


# --- stats ---------------------------------------------------------------------------

def test_mean_ci_matches_student_t():
    mean, half, n, *_ = mean_ci(SIMPLE_ACC)
    assert n == 3 and mean == pytest.approx(np.mean(SIMPLE_ACC))
    assert half == pytest.approx(ci(SIMPLE_ACC)[1])
    assert mean_ci([0.5, float("nan")]).n == 1
    assert math.isnan(mean_ci([0.5]).half_width)
    assert mean_ci([]).n == 0



def test_mean_ci_worked_example():
    """[0.60, 0.62, 0.655]: mean 0.625, deviations −0.025, −0.005, 0.03, sum of squares
    0.00155, s² = 0.000775; with 2 degrees of freedom Student's quantile has the closed
    form t_p = (2p − 1)/√(2p(1 − p)): 4.30265… at p = 0.975, 2.91999… at p = 0.95."""
    def t_two_df(p):
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))

    sem = math.sqrt(0.000775 / 3)
    mean, half, n, *_ = mean_ci([0.60, 0.62, 0.655])
    assert (mean, n) == (pytest.approx(0.625), 3)
    assert half == pytest.approx(t_two_df(0.975) * sem, rel=1e-9)
    assert mean_ci([0.60, 0.62, 0.655], confidence=0.90).half_width == pytest.approx(t_two_df(0.95) * sem, rel=1e-9)


def test_paired_values_match_by_key_and_reject_duplicates():
    both = pd.DataFrame({"_arm": ["classical"] * 4 + ["none"] * 3, "seed": [0, 1, 2, 7, 2, 0, 1],
                         "acc": [0.52, 0.58, 0.54, 0.9, 0.53, 0.50, 0.55]})  # shuffled; seed 7 has no partner
    pairs = paired_values(both, "classical", "none", "acc", ["seed"])
    diffs = np.array(AUG["classical"]) - np.array(AUG["none"])
    assert sorted(pairs["diff"]) == pytest.approx(sorted(diffs))
    with pytest.raises(ValueError, match="duplicate"):
        paired_values(both.assign(seed=[0, 0, 2, 7, 2, 0, 1]), "classical", "none", "acc", ["seed"])


# --- runs ----------------------------------------------------------------------------

def test_load_runs_latest_keeps_finished_children_of_newest_parent(store):
    runs = load_runs("baseline", tracking_uri=store["uri"])
    assert len(runs) == 6 and set(runs["status"]) == {"FINISHED"}
    assert set(runs["parent_run_id"]) == {store["baseline_new"]}
    assert sorted(runs["param.net"].unique()) == ["resnet", "simple"]
    assert set(runs["seed"]) == {0, 1, 2} and set(runs["fold"]) == {0}
    assert set(runs["dataset"]) == {"fer2013"} and set(runs["scale"]) == {"cpu"}
    assert not runs["procedural"].any()
    assert {"run_id", "trial_id", "variant", "test/acc_at_best_val", "val/acc"} <= set(runs)
    assert sorted(runs[runs["param.net"] == "simple"]["test/acc_at_best_val"]) == SIMPLE_ACC


def test_load_runs_given_parent_all_and_statuses(store):
    old = load_runs("baseline", tracking_uri=store["uri"], parent=store["baseline_old"])
    assert sorted(old["test/acc_at_best_val"]) == OLD_SIMPLE_ACC
    assert len(load_runs("baseline", tracking_uri=store["uri"], parent="all")) == 8
    every = load_runs("baseline", tracking_uri=store["uri"], statuses=None)
    assert sorted(every["status"].value_counts().items()) == [
        ("FAILED", 1), ("FINISHED", 6), ("RUNNING", 1)]


def test_load_runs_errors_list_what_exists(store, monkeypatch, tmp_path):
    with pytest.raises(ReportError, match="baseline, classical_augmentation"):
        load_runs("nope", tracking_uri=store["uri"])
    with pytest.raises(ReportError, match=store["baseline_old"]):
        load_runs("baseline", tracking_uri=store["uri"], parent="deadbeef")
    with pytest.raises(ReportError, match="no MLflow store"):
        load_runs("baseline", tracking_uri=f"sqlite:///{tmp_path / 'missing.db'}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    assert len(load_runs("baseline")) == 6


# --- tables ----------------------------------------------------------------------------

def test_baseline_table_cells_references_and_context(store):
    table = _table(store, "baseline")
    cols = list(table.cells.columns)
    assert cols[:4] == ["net", "overall acc", "overall acc (paper)", "macro-F1"]
    assert "macro-F1 (paper)" not in cols  # Birenbaum reports no macro-F1
    assert cols.index("acc angry (paper)") == cols.index("acc angry") + 1
    simple, resnet = _row(table, net="simple"), _row(table, net="resnet")
    assert simple["overall acc"] == cell(SIMPLE_ACC)  # at best val, not last epoch
    assert resnet["overall acc"] == cell(RESNET_ACC)
    assert simple["acc angry"] == cell(SIMPLE_ANGRY)
    assert "(n=3)" in simple["macro-F1"]
    assert simple["overall acc (paper)"] == "Birenbaum (slides): 65.09"
    assert simple["acc angry (paper)"] == "Birenbaum (slides): 53.36"  # 262/491
    assert simple["acc disgust (paper)"] == "Birenbaum (slides): 60.00"  # 33/55
    assert resnet["overall acc (paper)"] == "" and resnet["acc angry (paper)"] == ""
    assert table.context.startswith("Ours: dataset fer2013, scale cpu; 6 FINISHED trial runs")
    assert "2 unfinished trial runs excluded" in table.context
    assert "procedural" not in table.context
    notes = "\n".join(table.footnotes)
    assert "Simple Classifier - Results" in notes and "papers/002_a8aa5d61cc98f3a0" in notes
    mean, half, _ = ci(SIMPLE_ACC)
    assert 100 * (mean - half) <= 65.09 <= 100 * (mean + half)
    assert "Accuracy of the network on the 3589 test images = 65.09" in notes
    # the paper's own spread (its counts) beside ours: the difference's interval from both
    overall = next(n for n in table.footnotes if "= 65.09" in n)
    theirs = 2336 / 3589
    their_se, our_se = math.sqrt(theirs * (1 - theirs) / 3589), half / st.t.ppf(0.975, 2)
    # Welch–Satterthwaite degrees of freedom: ours has 2, theirs (3,589 images) counts as infinite
    df = (our_se ** 2 + their_se ** 2) ** 2 / (our_se ** 4 / 2)
    diff, both = mean - theirs, st.t.ppf(0.975, df) * math.sqrt(our_se ** 2 + their_se ** 2)
    assert f"theirs 65.09 ± {196 * their_se:.2f} (binomial, 2336/3589)" in overall
    assert f"ours − theirs {100 * diff:+.2f} ± {100 * both:.2f} points" in overall
    assert abs(diff) <= both and overall.endswith("consistent with our data.")
    angry = next(n for n in table.footnotes if "Accuracy of Angry" in n)
    assert "262/491" in angry and "rounds to 53 %" in angry and "(binomial, 262/491)" in angry
    assert angry.endswith("not reproduced on our data.")  # ours ~31 % against their 53.36 ± 4.41


def test_older_parent_gives_its_own_table(store):
    table = _table(store, "baseline", parent=store["baseline_old"])
    assert _row(table, net="simple")["overall acc"] == cell(OLD_SIMPLE_ACC)
    assert "scale smoke" in table.context


def test_classical_table_paired_difference_and_procedural_warning(store):
    table = _table(store, "classical_augmentation")
    assert list(table.cells[["net", "augment"]].itertuples(index=False, name=None)) == [
        ("simple", "none"), ("simple", "classical"), ("tiny", "none"), ("tiny", "classical")]
    none, classical = _row(table, net="simple", augment="none"), _row(
        table, net="simple", augment="classical")
    assert none["overall acc"] == cell(AUG["none"])
    assert classical["overall acc"] == cell(AUG["classical"])
    diffs = np.array(AUG["classical"]) - np.array(AUG["none"])
    assert classical["Δ overall acc vs none"] == cell(diffs, signed=True)
    assert none["Δ overall acc vs none"] == "(control)"
    tiny = _row(table, net="tiny", augment="classical")
    assert tiny["overall acc"] == "45.00 ± n/a (n=1)"
    assert tiny["Δ overall acc vs none"] == "+5.00 ± n/a (n=1)"
    assert "synthfaces" in table.context and "procedural demo data" in table.context
    assert "not comparable" in table.context
    effect = next(n for n in table.footnotes if n.startswith("net=simple, augment=classical"))
    # Δ = 0.02, 0.03, 0.01: mean 2 points, s = 1 point, half-width t(0.975, 2)·s/√3 ≈ 2.48 points
    assert "95 % CI includes 0: no effect shown" in effect and "excludes 0" not in effect


# cyclegan_toy: one run per seed holds all three arms (overall test accuracy per seed)
TOY = {"real_only": [0.93, 0.92, 0.95], "augmented": [0.97, 0.99, 0.96], "oversample": [0.98, 0.96, 0.97]}


def _toy_runs() -> pd.DataFrame:
    rows = [{"run_id": f"toy{seed}", "parent_run_id": "p", "status": "FINISHED", "dataset": "synthfaces",
             "scale": "cpu", "procedural": True, "seed": seed, "fold": 0, "param.n_generated": "900",
             **{f"test/acc_{arm}": accs[seed] for arm, accs in TOY.items()},
             **{f"test/acc_minor_{arm}": accs[seed] - 0.1 for arm, accs in TOY.items()}}
            for seed in range(3)]
    return pd.DataFrame(rows[::-1])  # pairing must follow the seed, not the row order


def test_toy_tables_pair_the_gan_with_real_only_and_with_oversampling():
    table, cheap = build_tables("cyclegan_toy", _toy_runs())
    assert table.cells["training set"].tolist() == [
        "linear SVM, real only", "+ 900 CycleGAN points", "+ repeated minority points"]
    over = _row(table, **{"training set": "+ repeated minority points"})
    assert over["overall acc"] == cell(TOY["oversample"]) and over["overall acc (paper)"] == ""
    assert _row(table, **{"training set": "linear SVM, real only"})["overall acc (paper)"] == "Zhu et al. 2017: 93.30"
    gan = _row(table, **{"training set": "+ 900 CycleGAN points"})
    assert gan["overall acc (paper)"] == "Zhu et al. 2017: 98.00"
    assert gan["Δ overall acc vs linear SVM, real only"] == cell([0.04, 0.07, 0.01], signed=True)
    # GAN − oversample by seed, by hand: 0.97 − 0.98, 0.99 − 0.96, 0.96 − 0.97
    diffs = [-0.01, 0.03, -0.01]
    gan = _row(cheap, **{"training set": "+ 900 CycleGAN points"})
    assert gan["Δ overall acc vs + repeated minority points"] == cell(diffs, signed=True)
    assert gan["Δ minority acc vs + repeated minority points"] == cell(diffs, signed=True)
    assert _row(cheap, **{"training set": "+ repeated minority points"})[
        "Δ overall acc vs + repeated minority points"] == "(control)"
    assert "cheap alternative" in cheap.title and len(cheap.cells) == 2


def test_unknown_study_lists_known_layouts():
    with pytest.raises(ReportError, match="baseline, classical_augmentation"):
        get_layout("nope")


@pytest.mark.parametrize("study", sorted(LAYOUTS))
def test_every_layout_builds_from_contract_shaped_runs(study):
    rows = []
    for net in ("simple", "vgg"):
        for augment in ("none", "classical"):
            for seed in range(2):
                rows.append({"run_id": f"{net}{augment}{seed}", "parent_run_id": "p",
                             "status": "FINISHED", "dataset": "fer2013", "scale": "smoke",
                             "procedural": False, "seed": seed, "fold": 0 if net == "simple" else 1,
                             "param.net": net, "param.augment": augment,
                             # the GAN studies' axes, so every layout finds its rows
                             "param.arm": "baseline" if augment == "none" else "+disgust",
                             "param.cycle_loss": "l1" if net == "simple" else "weighted",
                             "param.gamma_max": "0.5", "param.gamma_schedule": "linear",
                             "param.adv_loss": "lsgan", "param.soft_labels": "True",
                             "synth/disgust/fid_fer": 3.0 + seed, "synth/disgust/agreement": 0.2,
                             "synth/disgust/real_confusion": 0.05,
                             # the synthetic-ratio study's axis and blind-set metrics
                             "param.train_set": "real" if augment == "none" else "real+5x",
                             "param.cross_dataset": "ckplus", "blind/acc_at_best_val": 0.3 + 0.02 * seed,
                             "train/acc_at_best_val": 0.9, "blind/macro_f1_at_best_val": 0.25,
                             # the dcgan_svm study's axis and SVM / DCGAN metrics
                             "param.features": "pixels" if augment == "none" else "dcgan",
                             "test/mean_auc": 0.7, "svm/cv_acc_best": 0.55,
                             "dcgan/fid_fer": 10.0 + seed, "dcgan/kid_fer": 0.1, "dcgan/ssim_samples": 0.4,
                             "dcgan/ssim_real": 0.3,
                             # the FESR studies' axes
                             "param.variant": "BASELINE" if augment == "none" else "FESR_JL",
                             **{f"param.lambda{k}": str(k * (1 + seed) * (2 if net == "vgg" else 1))
                                for k in range(1, 7)},
                             "val/acc_best": 0.4 + 0.1 * seed + (0.05 if net == "vgg" else 0), "iteration": 10,
                             "synthesis/psnr": 20.0, "synthesis/ssim": 0.5, "synthesis/verification_rate": 0.7,
                             "test/acc_at_best_val": 0.5 + 0.01 * seed,
                             "test/macro_f1_at_best_val": 0.4,
                             **{f"test/acc_{c}_at_best_val": 0.3 for c in CLASSES}})
    for table in build_tables(study, pd.DataFrame(rows)):
        assert "fer2013" in table.context and len(table.cells) >= 2
        assert to_markdown(table) and to_latex(table) and to_csv(table)


# --- references ---------------------------------------------------------------------------

def test_birenbaum_records_are_exact_fractions_and_sum_to_overall():
    per_class = [r for r in select(paper="birenbaum", row="baseline") if r.counts and r.metric != "acc"]
    assert len(per_class) == 7
    for r in per_class:
        assert r.value == round(100 * r.counts[0] / r.counts[1], 2)
    correct = sum(r.counts[0] for r in per_class)
    total = sum(r.counts[1] for r in per_class)
    assert total == 3589 and round(100 * correct / total, 2) == 65.09
    assert one(paper="birenbaum", row="baseline", metric="acc").counts == (correct, total)
    synth = one(paper="birenbaum", row="baseline + synthetic data", metric="acc")
    assert synth.value == 66.26
    assert one(paper="birenbaum", row="baseline + synthetic data",
               metric="acc_neutral").counts == (423, 626)


def test_reference_records_cite_a_known_paper_and_source():
    assert all(r.paper in PAPERS and r.source and 0 < r.value <= 100 for r in REFERENCES)
    assert len(select(paper="zhu2017", source="Table 1")) == 48
    assert one(paper="zhu2017", source="Table 1", row="+sad (7% test)",
               column="disgust").metric == "ovr_acc_disgust"
    assert one(paper="picha2023", row="RFEs + 5x GFEs", dataset="MMI (cross-database)").value == 58.3
    assert one(paper="fesr", source="Table V", row="FESR JL-IL", dataset="CK+").value == 97.18
    assert one(paper="fesr", source="Fig. 8", row="FESR_JL-IL", dataset="CK+").value == 97.48


# --- report: files and CLI ---------------------------------------------------------------

def test_render_report_writes_markdown_latex_csv(store, tmp_path):
    out = tmp_path / "out"
    markdown = render_report("baseline", tracking_uri=store["uri"], out_dir=out)
    assert "### Baseline" in markdown and cell(SIMPLE_ACC) in markdown
    assert (out / "baseline.md").read_text() == markdown
    tex = (out / "baseline.tex").read_text()
    assert r"\begin{tabular}" in tex and cell(SIMPLE_ACC).split(" (")[0].replace("±", r"$\pm$") in tex
    assert r"\%" in tex
    assert "65.09" in tex and " % " not in tex.replace(r"\%", "")
    csv = pd.read_csv(out / "baseline.csv", keep_default_na=False)
    assert list(csv.columns)[:3] == ["net", "overall acc", "overall acc (paper)"]
    assert csv.set_index("net").loc["simple", "overall acc"] == cell(SIMPLE_ACC)
    stats = pd.read_csv(out / "baseline.stats.csv")
    assert set(stats["kind"]) == {"ours", "paper"}
    assert (out / "baseline.png").stat().st_size > 0


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", "analysis.report", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_prints_table_and_writes_default_out(store, tmp_path):
    done = _cli("classical_augmentation", "--tracking-uri", store["uri"], "--no-plots",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "### Classical augmentation" in done.stdout
    assert cell(AUG["classical"]) in done.stdout
    assert (tmp_path / "reports" / "classical_augmentation" / "classical_augmentation.csv").exists()


def test_cli_unknown_study_and_experiment_exit_nonzero_without_traceback(store, tmp_path):
    done = _cli("nope", cwd=tmp_path)
    assert done.returncode != 0 and "known studies: baseline" in done.stderr
    assert "Traceback" not in done.stderr
    done = _cli("baseline", "--tracking-uri", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert done.returncode != 0 and "no MLflow store" in done.stderr
    assert "Traceback" not in done.stderr


def test_analysis_imports_nothing_from_training_packages():
    import re

    pattern = re.compile(r"^\s*(from|import)\s+(trainables|study|search_spaces)\b", re.M)
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "analysis").rglob("*.py")
                 if pattern.search(p.read_text())]
    assert offenders == []


def test_console_report_shows_headline_columns_and_each_footnote_once(store, tmp_path):
    from analysis.console import PER_CLASS, base_label, console_report
    from analysis.report import write_report

    tables = write_report("baseline", tracking_uri=store["uri"], out_dir=tmp_path, plots=False)
    full = tables[0]
    assert any(base_label(c) in PER_CLASS for c in full.cells.columns)
    text = console_report([(Path("reports/baseline"), tables), (Path("reports/other"), tables)])
    headers = [line for line in text.splitlines() if line.startswith("| net |")]
    assert len(headers) == 2 and cell(SIMPLE_ACC) in text
    for header in headers:
        shown = [c.strip() for c in header.strip("|").split("|")]
        assert "overall acc" in shown and not any(base_label(c) in PER_CLASS for c in shown)
    assert "per-class columns: reports/baseline/baseline.md" in text
    numbered = [line for line in text.splitlines() if line[:1].isdigit() and ". " in line]
    assert len(numbered) == len({line.split(". ", 1)[1] for line in numbered})  # none printed twice
    assert f"Also footnote(s) {', '.join(str(n + 1) for n in range(len(numbered)))} above." in text
    # a paper's numbers judged alike beside one row share a footnote, each number still in it
    for note in full.footnotes:
        if ", beside " in note and " = " in note:
            assert note.split(", beside ")[0].split("', ", 1)[1] in text


def test_console_report_names_the_tables_past_its_line_budget_with_their_files(store, tmp_path):
    from analysis.console import console_report
    from analysis.report import write_report

    written = write_report("baseline", tracking_uri=store["uri"], out_dir=tmp_path, plots=False)
    # a verdict and a flag in each table of each report, which the summary must still show past the budget
    reports = [(Path(f"reports/{where}"), [dataclasses.replace(t, verdicts=[f"verdict of {where}/{t.name}"],
                                                               flags=[f"flag of {where}/{t.name}"]) for t in written])
               for where in ("baseline", "other")]
    tables = reports[0][1]
    text = console_report(reports, max_lines=1)
    assert len([line for line in text.splitlines() if line.startswith("| net |")]) == 1  # the first table alone
    assert text.count(f"- {tables[0].title}: reports/other/{tables[0].name}.md") == 1
    after_names = text[text.rindex(f"reports/other/{tables[-1].name}.md"):]  # the summary ends it
    for where in ("baseline", "other"):
        for t in tables:
            assert f"verdict of {where}/{t.name}" in after_names and f"flag of {where}/{t.name}" in after_names


def test_a_rows_deltas_read_alike_share_a_footnote_and_a_tested_one_keeps_its_own():
    from analysis.console import merge_delta_notes

    gate = ": synthesis failed the gate: not read as an effect."
    notes = [f"variant=JL − BASELINE, overall acc: -11.86 ± n/a (n=1) points{gate}",
             "variant=JL: synthesis gate failed for angry",
             f"variant=JL − BASELINE, macro-F1: -15.90 ± n/a (n=1) points{gate}",
             f"variant=SL − BASELINE, overall acc: +1.69 ± 2.00 (n=5) points (resampled t-test, p = 0.2){gate}",
             f"variant=SL − BASELINE, macro-F1: +0.24 ± 1.10 (n=5) points (resampled t-test, p = 0.7){gate}"]
    assert merge_delta_notes(notes) == [
        f"variant=JL − BASELINE: overall acc -11.86 ± n/a (n=1), macro-F1 -15.90 ± n/a (n=1) points{gate}",
        "variant=JL: synthesis gate failed for angry", notes[3], notes[4]]


# --- analysis.runs at its edges (mutation testing) -----------------------------------

STORE_HINT = "pass --tracking-uri or set MLFLOW_TRACKING_URI"


def test_resolve_tracking_uri_takes_the_argument_then_the_environment_then_mlflow_db(
        monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ReportError) as err:
        resolve_tracking_uri()
    assert str(err.value) == (f"no MLflow store at {tmp_path.resolve() / 'mlflow.db'} "
                              f"(tracking URI sqlite:///mlflow.db); {STORE_HINT}")
    (tmp_path / "mlflow.db").touch()
    assert resolve_tracking_uri() == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert resolve_tracking_uri() == "http://tracking:5000"
    assert resolve_tracking_uri("sqlite:///mlflow.db") == "sqlite:///mlflow.db"
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    with pytest.raises(ReportError) as err:
        resolve_tracking_uri(missing)
    assert str(err.value) == (f"no MLflow store at {(tmp_path / 'missing.db').resolve()} "
                              f"(tracking URI {missing}); {STORE_HINT}")


class _Page(list):
    def __init__(self, runs, token):
        super().__init__(runs)
        self.token = token


class _PagingClient:
    """Stands in for MLflow's paging of ``search_runs``, which a real store shows only past
    1000 runs; records the arguments of each call."""
    tracking_uri = "fake://store"

    def __init__(self, *pages, experiments=()):
        self.pages, self.experiments, self.calls = list(pages), experiments, []

    def search_runs(self, experiment_ids, **kwargs):
        self.calls.append({"experiment_ids": experiment_ids, **kwargs})
        return self.pages[len(self.calls) - 1]

    def get_experiment_by_name(self, name):
        return None

    def search_experiments(self):
        return [SimpleNamespace(name=name) for name in self.experiments]


def _fake_run(run_id):
    return SimpleNamespace(info=SimpleNamespace(run_id=run_id, run_name=f"name-{run_id}",
                                                status="FINISHED", start_time=1, end_time=2),
                           data=SimpleNamespace(tags={}, params={}, metrics={}))


def test_children_of_reads_every_page_until_the_store_gives_no_token():
    client = _PagingClient(_Page([_fake_run("a"), _fake_run("b")], "t1"),
                           _Page([_fake_run("c")], "t2"), _Page([_fake_run("d")], None))
    records = children_of(client, SimpleNamespace(experiment_id="7"), "P")
    assert [r["run_id"] for r in records] == ["a", "b", "c", "d"]
    assert client.calls == [
        {"experiment_ids": ["7"], "filter_string": "tags.`mlflow.parentRunId` = 'P'",
         "max_results": 1000, "order_by": None, "page_token": token}
        for token in (None, "t1", "t2")]


def test_parent_records_ask_for_parent_runs_newest_first_on_every_page():
    client = _PagingClient(_Page([_fake_run("new")], "t1"), _Page([_fake_run("old")], None))
    records = parent_records(client, SimpleNamespace(experiment_id="3"))
    assert [r["run_id"] for r in records] == ["new", "old"]
    # MLflow's default order is also start time descending, so a store cannot show a
    # missing order_by; the request is what keeps "newest first" if that default changes.
    assert client.calls == [
        {"experiment_ids": ["3"], "filter_string": "tags.`ferlab.role` = 'parent'",
         "max_results": 1000, "order_by": ["attributes.start_time DESC"], "page_token": token}
        for token in (None, "t1")]


def test_unknown_experiment_lists_the_others_sorted_without_default_or_says_none():
    with pytest.raises(ReportError) as err:
        _experiment(_PagingClient(experiments=("Default", "zeta", "alpha")), "edges")
    assert str(err.value) == ("no MLflow experiment named 'edges' at fake://store; "
                              "experiments there: alpha, zeta")
    with pytest.raises(ReportError) as err:
        _experiment(_PagingClient(experiments=("Default",)), "edges")
    assert str(err.value) == ("no MLflow experiment named 'edges' at fake://store; "
                              "experiments there: (none)")


def test_ferlab_tags_drop_the_prefix_parse_seed_fold_and_procedural():
    tags = {"ferlab.seed": "7", "ferlab.fold": "all", "ferlab.procedural": " True ",
            "ferlab.scale": "cpu", "ferlab.trial_id": "t_1", "mlflow.runName": "r",
            "other.seed": "1"}
    out = _ferlab_tags(tags)
    assert out == {"seed": 7, "fold": "all", "procedural": True, "scale": "cpu",
                   "trial_id": "t_1"}
    assert type(out["seed"]) is int
    assert _ferlab_tags({"ferlab.procedural": "false", "ferlab.fold": "2"}) == {
        "procedural": False, "fold": 2}
    assert _ferlab_tags({"ferlab.procedural": "yes"}) == {"procedural": False}


def _record(run_id, start, status="FINISHED", params=None, metrics=None, **tags):
    """A run record as ``run_record`` makes it; tag ``ferlab__seed`` is ``ferlab.seed``."""
    return {"run_id": run_id, "run_name": f"name-{run_id}", "status": status,
            "start_time": start, "end_time": start + 1,
            "tags": {k.replace("__", "."): v for k, v in tags.items()},
            "params": params or {}, "metrics": metrics or {}}


def test_run_row_keeps_params_as_strings_under_param_and_metrics_under_their_key():
    record = _record("r", 7, params={"seed": "0", "net": "simple"}, metrics={"val/acc": 0.5},
                     mlflow__parentRunId="P", mlflow__runName="n", ferlab__seed="1")
    assert run_row(record) == {"run_id": "r", "parent_run_id": "P", "run_name": "name-r",
                               "status": "FINISHED", "start_time": 7, "seed": 1,
                               "param.seed": "0", "param.net": "simple", "val/acc": 0.5}
    assert run_row(_record("q", 1))["parent_run_id"] is None


def test_runs_frame_keeps_trials_of_the_wanted_statuses_sorted_with_fills_under_their_launch():
    launches = [("L", [_record("r2", 20, ferlab__role="trial"),
                       _record("r1", 20, ferlab__role="trial"),
                       _record("probe", 5, ferlab__role="probe"),
                       _record("untagged", 10),
                       _record("bad", 1, status="FAILED", ferlab__role="trial")]),
                ("F", [_record("r3", 30, ferlab__role="trial")])]
    root_of = {"L": "L", "F": "L"}
    frame = runs_frame(launches, root_of)
    assert list(frame["run_id"]) == ["untagged", "r1", "r2", "r3"]
    assert list(frame.index) == [0, 1, 2, 3]
    assert list(frame["parent_run_id"]) == ["L"] * 4
    assert list(frame["launch_run_id"]) == ["L", "L", "L", "F"]
    assert set(frame.columns) == set(BASE_COLUMNS) | {"launch_run_id"}
    assert list(runs_frame(launches, root_of, statuses=None)["run_id"]) == [
        "bad", "untagged", "r1", "r2", "r3"]
    assert list(runs_frame(launches, root_of, statuses=("FAILED",))["run_id"]) == ["bad"]


def test_runs_frame_of_no_trials_still_has_the_base_columns():
    for launches in ([], [("L", [_record("probe", 5, ferlab__role="probe")])]):
        frame = runs_frame(launches, {"L": "L"})
        assert list(frame.columns) == BASE_COLUMNS and frame.empty


def _parents_by_hand():
    # not in time order: "latest" must sort; f1 and f2 are --fill-missing launches of a
    return pd.DataFrame({"run_id": ["b", "f1", "a", "f2"],
                         "start_time": [3_000, 2_000, 1_000, 4_000],
                         "status": ["FINISHED", "FINISHED", "KILLED", "RUNNING"],
                         "fills": [None, "a", None, "a"]})


def test_choose_parents_resolves_latest_all_and_ids_and_brings_a_launch_with_its_fills():
    parents = _parents_by_hand()
    assert _choose_parents(parents, "edges", "all") == ["b", "f1", "a", "f2"]
    assert _choose_parents(parents, "edges", "latest") == ["a", "f1", "f2"]
    for chosen in ("a", "f1", "f2"):
        assert _choose_parents(parents, "edges", chosen) == ["a", "f1", "f2"]
    assert _choose_parents(parents, "edges", "b") == ["b"]
    same_ms = pd.DataFrame({"run_id": ["x", "y", "w"], "start_time": [5, 5, 4],
                            "status": ["FINISHED"] * 3})
    assert _choose_parents(same_ms, "edges", "latest") == ["y"]


def test_choose_parents_errors_say_what_exists():
    with pytest.raises(ReportError) as err:
        _choose_parents(_parents_by_hand(), "edges", "zz")
    assert str(err.value) == (
        "no parent run 'zz' in experiment 'edges'; use 'latest', 'all' or one of: "
        "b (started 1970-01-01 00:00:03, FINISHED); f1 (started 1970-01-01 00:00:02, FINISHED); "
        "a (started 1970-01-01 00:00:01, KILLED); f2 (started 1970-01-01 00:00:04, RUNNING)")
    with pytest.raises(ReportError) as err:
        _choose_parents(parents_frame([]), "edges", "latest")
    assert str(err.value) == "experiment 'edges' has no parent run (tag ferlab.role=parent)"


def test_root_of_maps_a_fill_to_its_launch_and_anything_else_to_itself():
    assert _root_of(pd.DataFrame({"run_id": ["a", "b"]})) == {"a": "a", "b": "b"}
    parents = pd.DataFrame({"run_id": ["a", "b", "c", "d"],
                            "fills": [None, "", "a", float("nan")]})
    assert _root_of(parents) == {"a": "a", "b": "b", "c": "a", "d": "d"}


def test_parents_frame_rows_and_its_columns_when_empty():
    records = [_record("f", 30, ferlab__role="parent", ferlab__fills="a", mlflow__runName="x"),
               _record("a", 10, status="KILLED", ferlab__role="parent")]
    frame = parents_frame(records)
    assert frame.drop(columns="fills").to_dict("list") == {
        "run_id": ["f", "a"], "start_time": [30, 10], "status": ["FINISHED", "KILLED"],
        "role": ["parent"] * 2}
    assert frame["fills"].iloc[0] == "a" and pd.isna(frame["fills"].iloc[1])
    assert list(frame.columns[:3]) == ["run_id", "start_time", "status"]
    assert list(parents_frame([]).columns) == ["run_id", "start_time", "status"]


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory):
    """Experiment "edges": launches "old" and "new", and a --fill-missing launch of "old"
    started last; beside it, experiments "zeta" and "alpha"."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("launches")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    for name in ("zeta", "alpha"):
        client.create_experiment(name, artifact_location=(root / name).as_uri())
    eid = client.create_experiment("edges", artifact_location=(root / "edges").as_uri())

    def run(start, name, tags, status="FINISHED"):
        rid = client.create_run(eid, start_time=start, run_name=name, tags=tags).info.run_id
        if status != "RUNNING":
            client.set_terminated(rid, status, end_time=start + 50)
        return rid

    old = run(1_000, "old", {"ferlab.role": "parent"}, status="RUNNING")
    new = run(2_000, "new", {"ferlab.role": "parent"}, status="RUNNING")
    fill = run(3_000, "fill", {"ferlab.role": "parent", "ferlab.fills": old}, status="RUNNING")
    trial = run(1_100, "trial-0", {
        "mlflow.parentRunId": old, "ferlab.role": "trial", "ferlab.study": "edges",
        "ferlab.trial_id": "t0", "ferlab.variant": "none", "ferlab.dataset": "synthfaces",
        "ferlab.scale": "smoke", "ferlab.procedural": "true", "ferlab.seed": "3",
        "ferlab.fold": "1"})
    client.log_param(trial, "seed", 0)
    client.log_param(trial, "lr", 0.001)
    for step, acc in enumerate([0.1, 0.3, 0.2]):
        client.log_metric(trial, "val/acc", acc, timestamp=step, step=step)
    run(1_200, "untagged", {"mlflow.parentRunId": old})  # no ferlab.role: a trial
    run(1_300, "probe", {"mlflow.parentRunId": old, "ferlab.role": "probe"})
    run(1_400, "failed", {"mlflow.parentRunId": old, "ferlab.role": "trial"}, status="FAILED")
    run(3_100, "filled", {"mlflow.parentRunId": fill, "ferlab.role": "trial", "ferlab.seed": "4"})
    newer = run(2_100, "newer", {"mlflow.parentRunId": new, "ferlab.role": "trial"})
    return {"uri": uri, "client": client, "experiment": client.get_experiment(eid),
            "old": old, "new": new, "fill": fill, "trial": trial, "newer": newer}


def test_load_runs_row_has_parsed_tags_string_params_and_the_latest_metric(edge_store):
    runs = load_runs("edges", tracking_uri=edge_store["uri"], parent=edge_store["old"])
    assert set(runs.columns) == set(BASE_COLUMNS) | {"launch_run_id", "param.seed", "param.lr",
                                                     "val/acc"}
    row = runs.iloc[0].to_dict()
    assert {k: row[k] for k in BASE_COLUMNS} == {
        "run_id": edge_store["trial"], "parent_run_id": edge_store["old"],
        "run_name": "trial-0",
        "status": "FINISHED", "start_time": 1_100, "study": "edges", "role": "trial",
        "trial_id": "t0", "variant": "none", "dataset": "synthfaces", "scale": "smoke",
        "procedural": True, "seed": 3, "fold": 1}
    assert (row["param.seed"], row["param.lr"], row["val/acc"]) == ("0", "0.001", 0.2)


def test_load_runs_latest_is_a_fill_and_brings_the_launch_it_completes(edge_store):
    old, fill, uri = edge_store["old"], edge_store["fill"], edge_store["uri"]
    for parent in ("latest", old, fill):
        runs = load_runs("edges", tracking_uri=uri, parent=parent)
        assert list(runs["run_name"]) == ["trial-0", "untagged", "filled"]
        assert list(runs["parent_run_id"]) == [old] * 3
        assert list(runs["launch_run_id"]) == [old, old, fill]
    every = load_runs("edges", tracking_uri=uri, parent="latest", statuses=None)
    assert list(every["run_name"]) == ["trial-0", "untagged", "failed", "filled"]
    newer = load_runs("edges", tracking_uri=uri, parent=edge_store["new"])
    assert list(newer["run_name"]) == ["newer"]
    assert list(load_runs("edges", tracking_uri=uri, parent="all")["run_name"]) == [
        "trial-0", "untagged", "newer", "filled"]


def test_parent_and_child_records_from_a_store_newest_parent_first(edge_store):
    client, experiment = edge_store["client"], edge_store["experiment"]
    old = edge_store["old"]
    records = parent_records(client, experiment)
    assert [r["run_id"] for r in records] == [edge_store["fill"], edge_store["new"], old]
    assert records[0] == {"run_id": edge_store["fill"], "run_name": "fill",
                          "status": "RUNNING", "start_time": 3_000, "end_time": None,
                          "tags": {"ferlab.role": "parent", "ferlab.fills": old,
                                   "mlflow.runName": "fill"},
                          "params": {}, "metrics": {}}
    assert children_of(client, experiment, edge_store["new"]) == [{
        "run_id": edge_store["newer"], "run_name": "newer", "status": "FINISHED",
        "start_time": 2_100, "end_time": 2_150,
        "tags": {"mlflow.parentRunId": edge_store["new"], "ferlab.role": "trial",
                 "mlflow.runName": "newer"},
        "params": {}, "metrics": {}}]


def test_load_runs_of_an_unknown_study_lists_the_store_s_experiments(edge_store):
    with pytest.raises(ReportError) as err:
        load_runs("nope", tracking_uri=edge_store["uri"])
    assert str(err.value) == (f"no MLflow experiment named 'nope' at {edge_store['uri']}; "
                              "experiments there: alpha, edges, zeta")


# --- analysis.cells at its edges (mutation testing) ---

def test_overall_and_class_columns_name_their_metric_and_paper_key():
    from analysis.columns import Column, class_columns, classes_in, overall_columns

    assert overall_columns() == [Column("overall acc", "test/acc_at_best_val", "acc"),
                                 Column("macro-F1", "test/macro_f1_at_best_val", "macro_f1")]
    runs = pd.DataFrame(columns=["test/acc_happy_at_best_val", "test/acc_angry_at_best_val",
                                 "test/ovr_acc_sad_at_best_val", "test/acc_sad"])
    assert classes_in(runs) == ["angry", "happy"]  # canonical order, only those at the chosen epoch
    assert class_columns(runs) == [Column("acc angry", "test/acc_angry_at_best_val", "acc_angry"),
                                   Column("acc happy", "test/acc_happy_at_best_val", "acc_happy")]
    assert class_columns(runs, one_vs_rest=True) == [Column("ovr acc sad", "test/ovr_acc_sad_at_best_val",
                                                            "ovr_acc_sad")]


def test_a_papers_count_is_set_against_ours_with_both_spreads_from_two_runs_on():
    from analysis.cells import compare_to_paper

    ref = SimpleNamespace(value=65.09, counts=(2336, 3589))
    theirs = 2336 / 3589
    their_se = math.sqrt(theirs * (1 - theirs) / 3589)
    ours = mean_ci([0.58, 0.62])  # two runs: n − 1 = 1 degree of freedom
    our_se = np.std([0.58, 0.62], ddof=1) / math.sqrt(2)
    df = (our_se ** 2 + their_se ** 2) ** 2 / (our_se ** 4 / 1)
    half = st.t.ppf(0.975, df) * math.sqrt(our_se ** 2 + their_se ** 2)
    assert compare_to_paper(ref, ours) == (
        f"theirs 65.09 ± {196 * their_se:.2f} (binomial, 2336/3589); ours − theirs "
        f"{100 * (0.60 - theirs):+.2f} ± {100 * half:.2f} points: consistent with our data")
    # no interval of ours (one run, or a NaN half-width from several): the paper's number alone
    assert compare_to_paper(ref, Interval(0.6, math.nan, 5)) == ("not comparable: n=5, no CI; the paper "
                                                                 "reports no spread")
    # no counts: our interval alone, in the column's own scale (raw values such as FID)
    assert compare_to_paper(SimpleNamespace(value=5.0, counts=None), Interval(4.0, 2.0, 5), scale=1.0) == (
        "within our 95 % CI [2.00, 6.00]: consistent with our data; the paper reports no spread")


def test_a_blind_column_is_judged_on_the_blind_dataset_and_budgets_read_as_steps():
    from analysis.cells import _data_judged
    from analysis.columns import Column
    from analysis.pairing import budget_text

    blind, held_out = Column("blind acc", "blind/acc_at_best_val"), Column("acc", "test/acc_at_best_val")
    crossed = pd.DataFrame({"param.cross_dataset": ["fer2013", "fer2013", None]})
    assert _data_judged(crossed, blind, ["ckplus"]) == "fer2013"
    assert _data_judged(crossed, held_out, ["ckplus"]) == "ckplus"
    assert _data_judged(pd.DataFrame({"x": [1]}), blind, ["ckplus"]) == "ckplus"
    assert _data_judged(pd.DataFrame({"param.cross_dataset": ["fer2013", "jaffe"]}), blind, ["ckplus"]) is None
    assert _data_judged(crossed, held_out, ["ckplus", "fer2013"]) is None
    assert budget_text(pd.DataFrame({"budget/steps": [800.0, 400.0, math.nan, 400.0]})) == "400, 800"
    assert budget_text(pd.DataFrame({"x": [1]})) == "—"
    assert budget_text(pd.DataFrame({"budget/steps": [math.nan]})) == "—"


def test_row_order_follows_a_categorical_columns_order_then_text():
    from analysis.cells import _rank

    ks = pd.Series(pd.Categorical(["20", "1", "5"], categories=["1", "5", "20"]))
    assert sorted(["20", "1", "7", "5"], key=_rank(ks)) == ["1", "5", "20", "7"]  # unknown values last
    assert _rank(ks)("5") == (1, "5") and _rank(ks)("7") == (3, "7")
    assert sorted(["b", "10", "a"], key=_rank(pd.Series(["x"]))) == ["10", "a", "b"]
    assert _rank(pd.Series(["x"]))("a") == (0, "a")


def test_a_deltas_footnote_reads_its_interval_and_a_comparison_takes_either_sides_failed_gate():
    from analysis.gates import GateResult, comparison_gate
    from analysis.paired_cells import effect_reading

    assert effect_reading(Interval(0.05, 0.01, 2), None, False) == (
        "95 % CI excludes 0 (descriptive: unadjusted for the table's other comparisons)")
    assert effect_reading(Interval(0.05, 0.1, 2), None, False) == "95 % CI includes 0: no effect shown"
    assert effect_reading(Interval(0.05, math.nan, 1), None, False) == "n=1 pairs: no CI"
    passed, failed, other = GateResult(True, "ok"), GateResult(False, "arm fails"), GateResult(False, "control fails")
    assert comparison_gate(failed, other) == GateResult(False, "arm fails; control fails")
    assert comparison_gate(passed, other) == GateResult(False, "control fails")
    assert comparison_gate(passed, GateResult(True, "c")) is passed
    assert comparison_gate(None, passed) is passed
    assert comparison_gate(None, None) is None


def test_paired_values_fill_a_sides_missing_split_size_from_the_other_and_keep_the_smaller_n_train():
    from analysis.pairing import paired_values

    both = pd.DataFrame({"_arm": ["gan", "gan", "base", "base"], "fold": [0, 1, 0, 1],
                         "test/acc": [0.8, 0.7, 0.6, 0.65], "data/n_train": [1500, 1400, 1000, "n/a"],
                         "data/n_test": ["n/a", 100, 100, 100], "param.n_folds": ["10", "10", "10", "10"]})
    out = paired_values(both, "gan", "base", "test/acc", ["fold"])
    assert out["diff"].tolist() == pytest.approx([0.2, 0.05])
    assert out["data/n_train"].tolist() == [1000, 1400]  # the real count is the smaller; "n/a" is no count
    assert out["data/n_test"].tolist() == [100, 100]
    assert out["param.n_folds"].tolist() == [10, 10] and out["fold"].tolist() == [0, 1]


def test_the_resampling_ratio_without_counts_falls_back_to_the_folds_and_else_to_none():
    from analysis.pairing import resampling_ratio

    one = {"diff": [0.1], "data/resampled": [1.0]}
    assert resampling_ratio(pd.DataFrame({**one, "param.n_folds": ["10"]})) == pytest.approx(1 / 9)
    assert resampling_ratio(pd.DataFrame({**one, "param.n_folds": ["2"]})) == pytest.approx(1.0)
    assert resampling_ratio(pd.DataFrame(one)) is None  # redrawn, but neither counts nor folds say by how much
    # a training count without a test count is no ratio: the folds decide
    assert resampling_ratio(pd.DataFrame({**one, "data/n_train": [800.0], "param.n_folds": ["5"]})) == pytest.approx(1 / 4)
    assert resampling_ratio(pd.DataFrame({"diff": [0.1, 0.2]})) is None  # no record of the design: independent


def _three_key_runs(acc_by_arm, *, budgets=None, extra=None, others=("a",)):
    """Runs grouped by (g, arm, h) with the arm in the middle: seed i of each arm is pair i."""
    rows = []
    for g in others:
        for arm, accs in acc_by_arm.items():
            for seed, acc in enumerate(accs):
                rows.append({"parent_run_id": "p", "seed": seed, "fold": 0, "procedural": False,
                             "dataset": "ckplus", "param.g": g, "param.arm": arm, "param.h": "x",
                             "test/fid": acc, **({"budget/steps": budgets[arm]} if budgets else {}),
                             **(extra or {}).get(arm, {})})
    return pd.DataFrame(rows)


def test_a_delta_row_reads_the_control_gate_of_its_own_other_keys_its_scale_and_confidence():
    from analysis.cells import metric_table
    from analysis.columns import Column
    from analysis.pairing import Paired
    from analysis.ground import Ground
    from analysis.paper_claims import Claim
    from analysis.gates import Gate

    judge_at_chance = {"gate/classes": 7.0, "gate/sad/agreement": 0.9, "gate/sad/n": 70.0,
                       "gate/sad/real_recall": 1 / 7}
    runs = _three_key_runs({"base": [10.0, 12.0, 11.0], "gan": [13.0, 17.0, 12.0]},
                           budgets={"base": 100, "gan": 300},
                           extra={"base": judge_at_chance, "gan": {"test/top_pred_share_at_best_val": 0.95}})
    columns = [Column("missing", "test/nothing", scale=1.0, rate=False), Column("fid", "test/fid", scale=1.0, rate=False)]
    claim = Claim("fesr", "Table 9", Ground("CK+", "p", "ckplus"), "gan", "base", "test/fid", 2.0, "s", gan=False)
    table = metric_table(runs, name="t", title="t", group_by=["param.g", "param.arm", "param.h"], columns=columns,
                         paired=Paired("param.arm", "base", unequal_budget="the paper's epochs"), confidence=0.8,
                         claims=[claim], gates={"base": Gate()})
    diffs = np.array([3.0, 5.0, 1.0])  # gan − base by seed, by hand
    half = st.t.ppf(0.9, 2) * diffs.std(ddof=1) / math.sqrt(3)  # 80 % interval, raw scale
    p = 2 * st.t.sf(abs(diffs.mean()) / (diffs.std(ddof=1) / math.sqrt(3)), 2)
    gan = _row(table, arm="gan")
    assert gan["Δ fid vs base"] == f"+3.00 ± {half:.2f} (n=3) (gate failed)"  # the control's gate, a row away
    assert gan["Δ missing vs base"] == "— (gate failed)"
    delta = table.stats[table.stats["kind"] == "paired_diff"].set_index("column").loc["Δ fid vs base"]
    assert (delta["metric"], delta["low"], delta["high"], delta["p"], delta["test"]) == pytest.approx(
        ("test/fid", 3.0 - half, 3.0 + half, p, "paired t-test"))
    assert ("g=a, arm=gan, h=x − base, fid: +3.00 ± " f"{half:.2f} (n=3) points (paired t-test, p = {p:.3g}): "
            "synthesis failed the gate: not read as an effect.") in table.footnotes
    assert ("Unequal budgets, declared: g=a, arm=gan, h=x trained for [300] optimizer steps, its control "
            "arm=base for [100]; the paper's epochs.") in table.footnotes
    [met] = table.claim_tests
    assert (met.where, met.row, met.data) == ("g=a, arm=gan, h=x", 1, "ckplus")
    assert met.blocked == "not judged: gan collapsed (3/3 runs)"
    # without a dataset column the claim's data says so; one pair has no p-value to print
    one = _three_key_runs({"base": [10.0], "gan": [12.0]}).drop(columns="dataset")
    table = metric_table(one, name="t", title="t", group_by=["param.g", "param.arm", "param.h"], columns=columns,
                         paired=Paired("param.arm", "base"), claims=[claim])
    assert table.claim_tests[0].data == "unknown data"
    mixed = metric_table(one.assign(dataset=["jaffe", "ckplus"]), name="t", title="t",
                         group_by=["param.g", "param.arm", "param.h"], columns=columns,
                         paired=Paired("param.arm", "base"), claims=[claim])
    assert mixed.claim_tests[0].data == "ckplus, jaffe"
    assert "g=a, arm=gan, h=x − base, fid: +2.00 ± n/a (n=1) points: a paper's claim: its verdict is in the " \
           "verdicts below." in table.footnotes


def test_budgets_are_checked_only_where_both_sides_ran_and_a_silent_side_is_named():
    from analysis.cells import metric_table
    from analysis.columns import Column
    from analysis.pairing import BudgetMismatch, Paired

    columns = [Column("fid", "test/fid", scale=1.0, rate=False)]
    table_of = lambda runs: metric_table(runs, name="t", title="t", group_by=["param.g", "param.arm", "param.h"],
                                         columns=columns, paired=Paired("param.arm", "base"))
    unlogged = _three_key_runs({"base": [1.0, 2.0], "gan": [2.0, 3.0]}).assign(**{"budget/steps": math.nan})
    assert list(table_of(unlogged).cells["budget (steps)"]) == ["—", "—"]  # nobody logged one: nothing to compare
    # g=b has no control: its arms are not compared, so their budgets are not either
    lone = _three_key_runs({"gan": [2.0], "gan2": [3.0]}, budgets={"gan": 100, "gan2": 100}, others=("b",))
    assert list(table_of(lone).cells["Δ fid vs base"]) == ["—", "—"]
    silent = _three_key_runs({"base": [1.0, 2.0], "gan": [2.0, 3.0]}, budgets={"base": 100, "gan": math.nan})
    with pytest.raises(BudgetMismatch) as err:
        table_of(silent)
    assert str(err.value) == ("g=a, arm=gan, h=x: the runs of arm=gan logged no budget/steps, so the comparison "
                              "cannot show that both sides trained for the same number of optimizer steps. Log the "
                              "budget in every trial of the comparison.")
    unequal = _three_key_runs({"base": [1.0, 2.0], "gan": [2.0, 3.0]}, budgets={"base": 100, "gan": 200})
    with pytest.raises(BudgetMismatch) as err:
        table_of(unequal)
    assert str(err.value) == ("g=a, arm=gan, h=x trained for [200] optimizer steps, its control arm=base for [100]: "
                              "a Δ between them would mix the arm's effect with a different training budget. Give "
                              "every arm of the comparison the same `steps`, or declare why they differ "
                              "(Paired.unequal_budget).")


def test_deviations_of_merged_launches_give_each_launchs_reason():
    """Exports of one study split by folds: each launch set its own `fold`, one of them
    also `lr`; the table's context names every reason, not the last launch's alone."""
    import json

    from analysis.tables import deviations_text

    scale = {"image_size": "48 px"}
    runs = pd.DataFrame({"deviations": [json.dumps({**scale, "fold": "set to 0"}),
                                        json.dumps({**scale, "fold": "set to [1, 2]"}),
                                        json.dumps({**scale, "fold": "set to [1, 2]", "lr": "3e-4"}), None]})
    assert deviations_text(runs) == (
        " Deviations from the paper's recipe: fold (in 3 of the 3 launches, by launch: set to 0; set to [1, 2]); "
        "image_size (48 px); lr (in 1 of the 3 launches, by launch: 3e-4).")
    assert deviations_text(runs.iloc[:1]) == " Deviations from the paper's recipe: fold (set to 0); image_size (48 px)."

"""The CycleGAN studies end to end on real local Ray and a real MLflow SQLite store, at
the smoke scale shrunk further with `--set` (tiny GANs, one or two epochs)."""

import json

import numpy as np
import pytest

from tests.test_launch import launch, launched_runs, shown_and_written

SHRINK = ["--set", "epochs=2", "--set", "steps=20", "--set", "batch_size=16", "--set", "gan_epochs=1", "--set", "judge_epochs=1", "--set", "pretrain_epochs=1",
          "--set", 'dataset_options={"n_images": 700}']


BALANCED = ["--set", 'dataset_options={"n_images": 700, "class_weights": {"angry": 1, "disgust": 1, "fear": 1, '
            '"happy": 1, "sad": 1, "surprise": 1, "neutral": 1}}']


@pytest.fixture(scope="module")
def augmentation(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cyclegan_augmentation")
    out = launch("cyclegan_augmentation", "--scale", "smoke", *SHRINK, cwd=cwd)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return cwd, out


def test_every_arm_is_one_finished_run_with_its_samples(augmentation):
    cwd, out = augmentation
    client, record, runs = launched_runs(cwd)
    assert record["overrides"]["gan_epochs"] == 1
    assert sorted(r.data.params["arm"] for r in runs) == sorted(
        ["baseline", "oversample+disgust", "+disgust", "oversample+sad", "+sad", "oversample+all", "+all", "dag_real",
         "dag"])
    assert {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        arm = run.data.params["arm"]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert "predictions.csv" in artifacts
        if arm in ("baseline", "dag_real"):  # real images only: no GAN
            assert "samples_disgust.png" not in artifacts and "data/n_synthetic" in run.data.metrics
            assert run.data.metrics["data/n_synthetic"] == 0
        elif arm.startswith("oversample"):  # real images repeated: no GAN, no judge
            assert "samples_disgust.png" not in artifacts and "manifold.npz" not in artifacts
            assert run.data.metrics["data/n_synthetic"] > 0 and "judge/val_acc" not in run.data.metrics
        else:
            assert "manifold.npz" in artifacts
            assert run.data.metrics["data/n_synthetic"] > 0 or arm == "dag"
        if arm in ("+disgust", "+all", "dag"):
            assert "samples_disgust.png" in artifacts
            assert run.data.metrics["synth/disgust/n"] > 0


def test_every_arm_takes_the_same_optimizer_steps_and_dag_splits_them(augmentation):
    cwd, out = augmentation
    client, record, runs = launched_runs(cwd)
    budget = {r.data.params["arm"]: r.data.metrics["budget/steps"] for r in runs}
    # the launch's budget: 20 steps (--set steps=20), whatever the arm's training set size
    assert set(budget.values()) == {20}, budget
    dag = next(r for r in runs if r.data.params["arm"] == "dag")
    assert dag.data.metrics["pretrain/budget/steps"] == 10  # half of it pre-training, half fine-tuning
    dag_real = next(r for r in runs if r.data.params["arm"] == "dag_real")
    assert dag_real.data.metrics["pretrain/budget/steps"] == 10  # DAG's split, pre-trained on real images
    sizes = {r.data.params["arm"]: r.data.metrics["data/n_train"] for r in runs}
    assert sizes["+all"] > sizes["+disgust"] > sizes["baseline"]  # more data, not more steps
    assert "budget (steps)" in out.stdout


def test_report_has_zhu_tables_beside_ours_and_a_manifold_plot(augmentation):
    cwd, out = augmentation
    shown = shown_and_written(out, cwd)
    assert "Zhu et al. Table 1" in shown and "Zhu et al. Table 2" in shown
    assert "91.04" in shown  # their baseline 'All', beside our baseline row
    assert "Δ" in shown  # arms paired with baseline
    assert "against the cheap alternative" in shown and "vs real, oversampled" in shown
    # procedural data: no verdict on Zhu et al.'s claims, their rows say why, the summary says so once
    assert not [line for line in shown.splitlines() if line.startswith("- Zhu et al. 2017 (Table")]
    assert "not judged: the paper measured FER2013 (20 % sampled)" in shown
    assert out.stdout.count("Procedural demo data (synthfaces): no paper's claim is judged") == 1
    plots = sorted(p.name for p in (cwd / "reports" / "cyclegan_augmentation").glob("*_manifold_*.png"))
    assert "cyclegan_augmentation_manifold_plus_disgust.png" in plots and len(plots) == 4


def test_cycle_gamma_grid_and_its_table(tmp_path):
    def settings(configs):
        return sorted((c["arm"], c["cycle_loss"], c["adv_loss"]) for c in configs)

    # the baseline and oversampling arms once (shared controls), the GAN arm at every cycle-loss setting
    planned = launch("cycle_gamma", "--scale", "smoke", "--dry-run", "--json", cwd=tmp_path, store=False)
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert settings(cell["config"] for cell in json.loads(planned.stdout)["cells"]) == [
        ("+disgust", "l1", "lsgan"), ("+disgust", "l1", "wgan-gp"), ("+disgust", "weighted", "lsgan"),
        ("+disgust", "weighted", "wgan-gp"), ("baseline", "l1", "lsgan"), ("oversample+disgust", "l1", "lsgan")]
    # launched on one adversarial loss (a grid axis narrowed by --set): the shared control and both cycle losses
    out = launch("cycle_gamma", "--scale", "smoke", *SHRINK, *BALANCED, "--set", 'adv_loss=["lsgan"]', cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    shown = shown_and_written(out, tmp_path)
    client, record, runs = launched_runs(tmp_path)
    assert settings(r.data.params for r in runs) == [
        ("+disgust", "l1", "lsgan"), ("+disgust", "weighted", "lsgan"), ("baseline", "l1", "lsgan"),
        ("oversample+disgust", "l1", "lsgan")]
    assert len({r.data.metrics["budget/steps"] for r in runs}) == 1
    controls = [r for r in runs if r.data.params["arm"] in ("baseline", "oversample+disgust")]
    assert all("synth/disgust/fid_fer" not in r.data.metrics for r in controls)
    for run in (r for r in runs if r not in controls):
        assert run.data.metrics["synth/disgust/fid_fer"] >= 0
        assert 0 <= run.data.metrics["gate/disgust/artifact_rate"] <= 1  # the gate's floor (analysis.gates)
        gamma = [m.value for m in client.get_metric_history(run.info.run_id, "gan_disgust/gamma")]
        assert gamma and 0 < gamma[-1] <= 0.5  # linear from 0 towards γ_max = 0.5
    assert "Weighted cycle loss ablation" in shown
    assert "KID ×10³ (FER-classifier features), disgust" in shown  # cycle_gamma_search's metric
    # his disgust with synthetic data (36/55), shown but not judged: his data is FER2013, ours synthfaces
    assert "Accuracy of Disgust = 65.45" in shown and "Birenbaum (slides), FER2013: not comparable" in shown
    assert "| l1 | — | — |" in shown  # γ does not apply to the plain L1 cycle loss
    assert "'baseline', Accuracy of the network on the 3589 test images = 65.09" in shown  # his baseline, beside our baseline arm
    assert shown.count("Δ overall acc vs baseline") >= 1 and "(control)" in shown
    assert "Δ overall acc vs oversample+disgust" in shown  # every setting against oversampling


def test_cycle_gamma_search_stops_on_validation_kid(tmp_path):
    from search_spaces.cycle_gamma_search import STUDY
    assert (STUDY.metric, STUDY.mode) == ("val/kid_fer", "min")  # unbiased on a few dozen validation images
    out = launch("cycle_gamma_search", "--scale", "smoke", "--num-samples", "2", "--max-concurrent", "2",
                 *SHRINK, *BALANCED, "--set", "gan_epochs=2", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, record, runs = launched_runs(tmp_path)
    assert len(runs) == 2
    for run in runs:
        kid = client.get_metric_history(run.info.run_id, "val/kid_fer")  # unbiased: may dip below 0
        fid = client.get_metric_history(run.info.run_id, "val/fid_fer")
        assert kid and all(np.isfinite(m.value) for m in kid)
        assert fid and all(m.value >= 0 for m in fid)


def test_finetuned_arms_give_zhu_table2_rows_on_ckplus(tmp_path):
    from tests.test_data_real import CK_DIR
    if not CK_DIR.exists():
        pytest.skip(f"real CK+48 not found at {CK_DIR} (set FERLAB_DATASETS to the datasets folder)")
    out = launch("cyclegan_augmentation", "--scale", "smoke", *SHRINK, "--set", 'arm=["baseline", "dag"]',
                 "--set", "finetune_dataset=ckplus", "--set", f"finetune_root={CK_DIR}", "--set", "finetune_epochs=1",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, record, runs = launched_runs(tmp_path)
    assert sorted(r.data.params["arm"] for r in runs) == ["baseline", "dag"]
    for run in runs:
        metrics = run.data.metrics
        assert "test/acc_contempt_at_best_val" in metrics and "source/test/acc_neutral_at_best_val" in metrics
        # the last report's step is the trial's last: fine-tuning comes after the source stages
        history = client.get_metric_history(run.info.run_id, "val/acc")
        source = client.get_metric_history(run.info.run_id, "source/val/acc")
        assert min(m.step for m in history) > max(m.step for m in source)
        if run.data.params["arm"] == "dag":
            pretrain = client.get_metric_history(run.info.run_id, "pretrain/val/acc")
            assert max(m.step for m in source) > max(m.step for m in pretrain)
    assert "'FER+X' rows" in out.stdout and "ckplus" in out.stdout
    assert "39.07" in out.stdout and "a different dataset" in out.stdout  # Zhu's SFEW DAG row, marked
    assert "Zhu et al. Table 1" not in out.stdout  # no FER-tested runs in this launch

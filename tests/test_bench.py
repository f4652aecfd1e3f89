"""`python -m bench` on tiny cases: the report's shape, and ratios computed from the
measurements it records (no speed is asserted here; the bench itself judges its goals)."""

import gzip
import json
import math

import numpy as np
import pytest

import bench
from bench import data, overhead, training
from tests.planted_costs import LaunchWithFixedCosts, one_at_a_time_training, sleeping_training


def write_fer2013(root, n=300):
    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"]
    for i in range(n):
        pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
        rows.append(f"{i % 7},{pixels},{('Training', 'PublicTest', 'PrivateTest')[i % 3]}")
    root.mkdir()
    with gzip.open(root / "fer2013.csv.gz", "wt") as out:
        out.write("\n".join(rows) + "\n")


def test_dataset_load_ratio_is_parse_over_cached_time(tmp_path):
    write_fer2013(tmp_path / "fer")
    row = bench.bench_dataset_load(quick=True, fer_root=tmp_path / "fer")
    assert row.measured["parse_s"] > 0 and row.measured["cached_s"] > 0
    assert row.ratio == pytest.approx(row.measured["parse_s"] / row.measured["cached_s"])
    assert row.passed == (row.ratio >= 20) and row.note == "300 images"


def test_dataset_load_without_files_is_not_measured(tmp_path):
    row = bench.bench_dataset_load(quick=True, fer_root=tmp_path)
    assert row.ratio is None and row.passed is None and row.note.startswith("not measured: no FER2013 CSV")


def test_concurrency_ratio_is_throughput_of_two_over_one(tmp_path):
    config = {**training._training_config(quick=True), "epochs": 1, "dataset_options": {"n_images": 120, "n_subjects": 12}}
    row = bench.bench_concurrency(quick=True, config=config)
    one, two = row.measured["one_alone_s"], row.measured["two_at_once_s"]
    assert one > 0 and two > 0
    assert row.ratio == pytest.approx((2 / two) / (1 / one))
    assert row.passed == (row.ratio >= 1.8)


@pytest.mark.parametrize("train, low, high", [(sleeping_training, 1.6, 2.2), (one_at_a_time_training, 0.9, 1.4)])
def test_concurrency_finds_trainings_that_overlap_and_ones_that_cannot(train, low, high):
    """3 s trainings that need no CPU overlap fully (two in the time of one: 2×); ones that
    take turns on a lock do not (1×, above it only by the process starts both pay)."""
    row = bench.bench_concurrency(quick=True, config={"planted_s": 3.0}, train=train)
    assert low < row.ratio < high, row.measured


def test_cli_prints_the_table_and_writes_every_row_to_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(data, "DATASETS", tmp_path)  # no FER2013 here: that row says so
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "gpu_packing", "dataset_load", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "| figure | ours | comparison | ratio | goal | result |"
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["machine"]["cpus"] >= 1
    figures = [row["figure"] for row in report["rows"]]
    assert figures == [bench.bench_gpu_packing(True)[0].figure, bench.bench_dataset_load(True).figure]
    assert [row["name"] for row in report["rows"]] == ["gpu_packing", "dataset_load"]
    if report["machine"]["gpu"] is None:
        assert report["rows"][0]["ratio"] is None and "not measured: no GPU" in printed
    assert report["rows"][1]["passed"] is None and "not measured: no FER2013 CSV" in printed


def test_input_pipeline_rows_compare_the_feed_with_training_per_net():
    rows = bench.bench_input_pipeline(quick=True, nets=("zhu_cnn",))
    assert [r.figure for r in rows] == ["input pipeline (torch batch_augment) vs zhu_cnn training",
                                        "albumentations arm (classical_augment, per image) vs zhu_cnn training"]
    for row in rows:
        feed, train = row.measured["input_images_per_s"], row.measured["train_images_per_s"]
        assert feed > 0 and train > 0 and row.ratio == pytest.approx(feed / train)


def test_platform_overhead_fits_real_launches_beside_their_loops_and_predicts_the_goals_launch():
    row = bench.bench_platform_overhead(quick=True, shapes=((2, 1), (2, 2)), n_images=240)
    shapes = row.measured["shapes"]
    assert [(s["trials"], s["reports"]) for s in shapes] == [(2, 1), (2, 2)]
    for shape in shapes:
        assert len(shape["trial_s"]) == shape["trials"]
        assert shape["launch_s"] > shape["loop_s"] > 0  # the launch runs the loop's trainings and more
    goal = overhead.predicted_ratio(overhead.fit_fixed_costs(shapes), overhead.fit_training_time(shapes))
    assert row.ratio == pytest.approx(goal["ratio"]) and row.passed == (row.ratio <= 1.05)


def test_platform_overhead_finds_the_fixed_costs_planted_per_launch_per_trial_and_per_report():
    """Launches of 2 and 4 trials of 1 and 4 epochs, 2 at a time, whose trials each sleep
    0.5 s more and 0.2 s more an epoch than the loop's, after 1 s of launch."""
    planted = LaunchWithFixedCosts(epoch_s=0.25, per_launch_s=1.0, per_trial_s=0.5, per_report_s=0.2)
    row = bench.bench_platform_overhead(quick=True, shapes=((2, 1), (4, 1), (2, 4), (4, 4)), launch=planted,
                                        train=sleeping_training)
    m = row.measured
    assert [s["trial_s"] for s in m["shapes"]] == [[0.25] * 2, [0.25] * 4, [1.0] * 2, [1.0] * 4]
    assert m["per_launch_s"] == pytest.approx(1.0, abs=0.3)
    assert m["per_trial_s"] == pytest.approx(0.5, abs=0.2)
    assert m["per_report_s"] == pytest.approx(0.2, abs=0.06)
    assert m["start_s"] == pytest.approx(0.0, abs=1e-9) and m["per_epoch_s"] == pytest.approx(0.25)


def test_the_predicted_ratio_is_the_fitted_costs_added_to_the_goals_loop():
    """20 trials of 60 s, 2 at a time: 600 s of loop. Trainings of 2 s start and 5.8 s an
    epoch report 10 times; 8 s a launch, 1 s a trial and 0.1 s a report add
    8 + 10 · 1 + 0.1 · 20 · 10 / 2 = 28 s."""
    goal = overhead.predicted_ratio({"per_launch_s": 8.0, "per_trial_s": 1.0, "per_report_s": 0.1},
                                    {"start_s": 2.0, "per_epoch_s": 5.8})
    assert goal["reports_per_trial"] == pytest.approx(10.0)
    assert goal["loop_s"] == 600.0 and goal["launch_s"] == pytest.approx(628.0)
    assert goal["ratio"] == pytest.approx(628.0 / 600.0)


def test_the_fit_recovers_costs_from_exact_measurements():
    shapes = [{"trials": n, "reports": r, "loop_s": 10.0, "launch_s": 10.0 + 5 + 2 * n / 2 + 0.3 * n * r / 2,
               "trial_s": [1.0 + 0.5 * r] * n} for n, r in ((2, 1), (6, 1), (2, 9), (6, 9))]
    assert overhead.fit_fixed_costs(shapes) == pytest.approx({"per_launch_s": 5, "per_trial_s": 2, "per_report_s": 0.3})
    assert overhead.fit_training_time(shapes) == pytest.approx({"start_s": 1.0, "per_epoch_s": 0.5})


def test_no_fitted_cost_is_negative():
    """Launches that came out 0.5 s a trial faster than their loops beside a 10 s launch
    cost: least squares would say −0.5 s a trial; the fit says 0, the launch cost absorbing
    the rest (the mean of launch − loop, 10 − 0.5 · mean(n/2) = 9 s, for these shapes)."""
    shapes = [{"trials": n, "reports": r, "loop_s": 10.0, "launch_s": 10.0 + 10 - 0.5 * n / 2,
               "trial_s": [1.0 + 0.5 * r] * n} for n, r in ((2, 1), (6, 1), (2, 9), (6, 9))]
    assert overhead.fit_fixed_costs(shapes) == pytest.approx({"per_launch_s": 9.0, "per_trial_s": 0.0,
                                                              "per_report_s": 0.0}, abs=1e-9)


def test_synthetic_cache_counts_generations_and_times_the_second_trial_both_ways():
    row = bench.bench_synthetic_cache(quick=True)
    m = row.measured
    assert m["generations_with_cache"] == 1 and m["fresh_generated"] is True
    assert row.passed is True and row.ratio == pytest.approx(m["without_cache_s"] / m["with_cache_s"])


def test_gpu_bench_trial_is_the_studys_paper_trial():
    from bench.gpu import PAPER_TRIAL
    from study.spec import load_study

    study = load_study("fesr_ablation")
    expected = {**study.base_config, **study.scales["paper"].config, "n_folds": study.scales["paper"].n_folds}
    assert {k: PAPER_TRIAL[k] for k in expected} == expected
    assert PAPER_TRIAL["variant"] == "FESR_JL"


def test_gpu_bench_packing_machinery_on_cpu():
    from bench import gpu

    tiny = {**gpu.PAPER_TRIAL, "image_size": 48, "gan_width": 0.125, "r_width": 0.125, "batch_size": 4,
            "pretrain_iters": 100, "joint_iters": 100, "n_folds": 4,
            "dataset_options": {"n_images": 280, "n_subjects": 12}, "threads": 1}
    report = gpu.run(steps=2, packings=[1, 2], config=tiny, device="cpu", modes=False)
    runs = report["runs"]
    assert [(r["k"], r["amp"], r["channels_last"], r["threads"]) for r in runs] == [(1, False, False, 1),
                                                                                   (2, False, False, 1)]
    for r in runs:
        assert "error" not in r, r
        assert len(r["stage1_s"]) == r["k"] and all(s > 0 for s in r["stage1_s"] + r["stage2_s"])
        hours = [(100 * a + 100 * b) / 3600 for a, b in zip(r["stage1_s"], r["stage2_s"])]
        assert r["trials_per_hour"] == pytest.approx(sum(1 / h for h in hours))


def test_trial_memory_compares_concurrent_trials_with_one_dataset_copy(tmp_path):
    write_fer2013(tmp_path / "fer", n=600)
    row = bench.bench_trial_memory(quick=True, n=2, fer_root=tmp_path / "fer")
    m = row.measured
    assert m["dataset_bytes"] == 600 * 48 * 48 + 600 * 8  # uint8 images, int64 labels
    assert m["together_pss_bytes"] > 0 and m["trial_state_bytes"] > 0
    assert row.ratio == pytest.approx(m["together_pss_bytes"] / (m["dataset_bytes"] + 2 * m["trial_state_bytes"]))


def test_gpu_throughput_row_is_the_best_fused_run_over_the_plain_trial_per_precision():
    """Measurements made up here (the bench itself needs a GPU); the rows must compare each
    precision's best fused run with that precision's plain trial, and pass only when both
    the ratio and the GPU-busy share reach their goals."""
    from bench.gpu_fused import rows_of

    def run(members, precision, per_hour, busy, fused=True):
        return {"members": members, "fused": fused, "captured": fused, "precision": precision, "stage1_s": 0.1,
                "stage2_s": 0.2, "trials_per_hour": per_hour, "peak_bytes": 2**30, "gpu_busy_pct": busy}

    report = {"device": "GPU", "runs": [
        run(1, "tf32", 2.0, 50, fused=False), run(8, "tf32", 17.0, 90), run(16, "tf32", 15.0, 95),
        run(1, "bf16", 1.5, 30, fused=False), run(8, "bf16", 13.5, 60),
        {"members": 16, "fused": True, "captured": True, "precision": "bf16", "error": "OutOfMemoryError: ..."}]}
    rows = rows_of(report, "gpu_throughput", "≥ 8×")
    assert [r.figure for r in rows] == ["gpu_throughput, tf32 (GPU)", "gpu_throughput, bf16 (GPU)"]
    assert rows[0].ratio == pytest.approx(17.0 / 2.0) and rows[0].passed is True
    assert rows[1].ratio == pytest.approx(13.5 / 1.5) and rows[1].passed is False  # 9×, but the GPU only 60 % busy


def test_trial_throughput_rows_compare_the_fastest_new_path_with_todays():
    """Measurements made up here: trials/hour from each path's seconds a step (2,000 + 2,000
    FESR iterations at the cpu scale, 8,000 classifier steps), the fastest new path over `plain`, and the
    efficiency as counted FLOPs over seconds on the fastest path (a fused path's seconds
    are per member) against the matrix-product ceiling."""
    from bench.trial_throughput import rows_of

    fesr = {"plain": {"stage1_s": 0.1, "stage2_s": 0.25}, "fast": {"stage1_s": 0.09, "stage2_s": 0.15},
            "fused×2": {"stage1_s": 0.12, "stage2_s": 0.25}, "stage2_flops": 2e9, "matmul": {"gflops": 50.0}}
    classifier = {"plain": {"step_s": 0.05}, "fast": {"step_s": 0.04}, "fused×2": {"step_s": 0.06}}
    speed, share, cls = rows_of(fesr, classifier)
    assert speed.ratio == pytest.approx((2000 * 0.1 + 2000 * 0.25) / (2000 * 0.09 + 2000 * 0.15))
    assert speed.ours.endswith("(fast)") and speed.passed is False
    assert share.ratio == pytest.approx(2e9 / 0.15 / 1e9 / 50.0) and share.passed is None and share.goal == "—"
    assert cls.ratio == pytest.approx(0.05 / 0.04) and cls.passed is None


def test_paths_take_turns_and_report_their_median_round():
    from bench.trial_throughput import interleaved

    calls = []

    def path(name, seconds):
        return lambda r: calls.append((name, r)) or {"s": seconds[r]}

    found = interleaved({"a": path("a", [5.0, 1.0, 2.0]), "b": path("b", [0.5, 9.0, 0.7])}, rounds=3)
    assert calls == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert found == {"a": {"s": 2.0}, "b": {"s": 0.7}}


def test_trial_throughput_measures_every_path_on_a_tiny_case():
    from bench.trial_throughput import classifier_paths, fesr_paths

    fesr = fesr_paths(1, _tiny_fesr())
    # the ceiling takes its turn among the paths, so the share is of two rates measured under one load
    assert set(fesr) == {"plain", "fast", "fused×2", "matmul", "stage2_flops"} and fesr["stage2_flops"] > 1e7
    assert fesr["matmul"]["gflops"] > 1
    assert all(r["stage1_s"] > 0 and r["stage2_s"] > 0 for n, r in fesr.items() if n not in ("stage2_flops", "matmul"))
    classifier = classifier_paths(2, width=0.125)
    assert set(classifier) == {"plain", "fast", "fused×2"} and all(r["step_s"] > 0 for r in classifier.values())


def _tiny_fesr():
    from bench.trial_throughput import FESR_CPU

    return {**FESR_CPU, "gan_width": 0.0625, "r_width": 0.0625, "identity_width": 0.125,
            "dataset_options": {"n_images": 120, "n_subjects": 12}}


def test_study_cost_counts_each_operator_once():
    import time

    import torch

    from bench.study_cost import op_seconds

    class OneConvolution:  # an iteration that is one large convolution: conv2d -> convolution -> ...
        x, w = torch.randn(8, 32, 64, 64), torch.randn(32, 32, 3, 3)

        def step(self, t):
            torch.nn.functional.conv2d(self.x, self.w, padding=1)

    torch.set_num_threads(1)
    trainer = OneConvolution()
    trainer.step(0)
    start = time.perf_counter()
    for t in range(3):
        trainer.step(t)
    wall = (time.perf_counter() - start) / 3
    found = op_seconds(trainer, 1, 3)
    # self times partition the operators' time: the nested calls are counted once, so the sum
    # is about the convolution's own wall time (summing each call's total would count it 3-4 times)
    assert 0.6 * wall < found["ops_s"] < 1.4 * wall and found["op_calls"] >= 1


def test_study_cost_measures_both_stages_on_a_tiny_case():
    from bench.study_cost import fesr_iteration_vs_ops

    found = fesr_iteration_vs_ops(rounds=1, steps=1, config=_tiny_fesr())
    assert found["iters"] == {"stage1": 2000, "stage2": 2000}  # the cpu scale's, kept by the tiny case
    for stage in ("stage1", "stage2"):
        assert found[stage]["iteration_s"] > 0 and found[stage]["ops_s"] > 0 and found[stage]["op_calls"] > 100
    # stage 2 adds R's update to stage 1's FESGAN updates (Algorithm 1)
    assert found["stage2"]["op_calls"] > found["stage1"]["op_calls"]


def test_study_cost_weights_each_stage_by_its_iterations():
    from bench.study_cost import iteration_row

    found = {"iters": {"stage1": 100, "stage2": 300},
             "stage1": {"iteration_s": 0.2, "ops_s": 0.12, "op_calls": 900},
             "stage2": {"iteration_s": 0.4, "ops_s": 0.25, "op_calls": 1500}}
    row = iteration_row(found)
    # by hand: 100 × 0.2 + 300 × 0.4 = 140 s a trial; 100 × 0.12 + 300 × 0.25 = 87 s in operators
    assert math.isclose(row.ratio, 140 / 87) and row.ours == "2.3 min" and row.comparison == "1.4 min in operators"
    assert row.passed is None


def test_the_benched_fesr_trial_is_the_studys_cpu_scale():
    from bench.trial_throughput import FESR_CPU
    from search_spaces.fesr_ablation import STUDY

    scale = STUDY.scales["cpu"]
    expected = {**STUDY.base_config, **scale.config, "variant": "FESR_JL", "n_folds": scale.n_folds}
    assert {k: v for k, v in FESR_CPU.items() if k != "identity_epochs"} == \
        {k: v for k, v in expected.items() if k != "identity_epochs"}


def _exported_launch(path, *, commit, start_ms, end_ms, fuse=1, statuses=("FINISHED",) * 3, fold=(0,), fused_ids=None):
    options = {"scale": "cpu", "dataset": "ckplus", "data_root": "/data", "overrides": {"fold": list(fold)},
               "cache_dir": "/cache", "num_samples": None}
    tags = {"ferlab.git_sha": commit * 40, "ferlab.git_dirty": "false", "ferlab.fuse": str(fuse),
            "ferlab.launch_options": json.dumps(options)}
    parent = {"run_id": f"p{commit}", "status": "FINISHED", "start_time": start_ms, "end_time": end_ms, "tags": tags}
    runs = [{"run_id": f"{commit}{i}", "status": s,
             "tags": {"ferlab.fused_trial_id": fused_ids[i]} if fused_ids else {}} for i, s in enumerate(statuses)]
    document = {"format": "ferlab-runs", "version": 1, "study": "fesr_ablation",
                "launches": [{"parent": parent, "runs": runs}]}
    with gzip.open(path, "wt") as out:
        json.dump(document, out)
    return path


def test_launch_row_is_the_speed_up_of_the_parent_runs_wall_times(tmp_path, capsys):
    from bench import launch_cost

    before = _exported_launch(tmp_path / "a.json.gz", commit="a", start_ms=1_000, end_ms=1_000 + 3_600_000, fuse=1)
    after = _exported_launch(tmp_path / "b.json.gz", commit="b", start_ms=50_000, end_ms=50_000 + 2_400_000, fuse=2,
                             fused_ids=["t0", "t0", "t1"])
    assert launch_cost.main([str(before), str(after)]) == 0
    printed = capsys.readouterr().out
    # by hand: 60 min before, 40 min after, a 1.5× speed-up; 3 runs in 2 Tune trials
    assert "| 40.0 min | 60.0 min | 1.50× |" in printed
    assert "bbbbbbb, --fuse 2 (1.5 members a trial) vs aaaaaaa" in printed and "3 trials" in printed


def test_launch_row_says_when_fuse_fused_nothing(tmp_path, capsys):
    from bench import launch_cost

    before = _exported_launch(tmp_path / "a.json.gz", commit="a", start_ms=0, end_ms=60_000)
    # one member of each recipe: every run is its own Tune trial, as in a one-seed, one-fold launch
    after = _exported_launch(tmp_path / "b.json.gz", commit="b", start_ms=0, end_ms=60_000, fuse=2,
                             fused_ids=["t0", "t1", "t2"])
    assert launch_cost.main([str(before), str(after)]) == 0
    assert "bbbbbbb, --fuse 2 (nothing fused: one member a trial) vs aaaaaaa" in capsys.readouterr().out


def test_launch_row_refuses_launches_that_are_not_the_same_or_did_not_finish(tmp_path):
    from bench.launch_cost import launch_cost, launch_row

    a = launch_cost(_exported_launch(tmp_path / "a.json.gz", commit="a", start_ms=0, end_ms=60_000))
    other_fold = launch_cost(_exported_launch(tmp_path / "b.json.gz", commit="b", start_ms=0, end_ms=60_000, fold=(1,)))
    with pytest.raises(ValueError, match="differ in launch"):
        launch_row(a, other_fold)
    failed = launch_cost(_exported_launch(tmp_path / "c.json.gz", commit="c", start_ms=0, end_ms=60_000,
                                          statuses=("FINISHED", "FAILED", "FINISHED")))
    with pytest.raises(ValueError, match="1 of its 3 trials did not finish"):
        launch_row(a, failed)


def test_launch_cost_reads_what_analysis_export_writes_and_refuses_other_files(tmp_path):
    from analysis.exported import FORMAT
    from bench.launch_cost import EXPORT_FORMAT, launch_cost

    assert EXPORT_FORMAT == FORMAT  # bench may not import analysis, so it keeps its own name for it
    other = tmp_path / "other.json.gz"
    with gzip.open(other, "wt") as out:
        json.dump({"format": "something-else"}, out)
    with pytest.raises(ValueError, match="is not a ferlab-runs export"):
        launch_cost(other)

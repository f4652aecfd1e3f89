"""Fair comparisons by construction: one optimizer-step budget per comparison, scales that
only shrink or declare their deviations, shared controls, and `--dry-run`. Every study's
scales are dry-run in tests/test_studies.py."""

import json
import math

import pandas as pd
import pytest
import torch
from ray import tune

from analysis.cells import metric_table
from analysis.columns import Column
from analysis.pairing import BudgetMismatch, Paired
from study import launch
from study.domains import describe, described
from study.fill import grid_cells
from study.runner import LaunchOptions, trial_space
from study.spec import Scale, StudySpec, load_study
from trainables.core import fit
from trainables.core.reporting import InProcessReporter
from trainables.trials import cyclegan
from trainables.trials.cyclegan import dag_budget, oversampled, parse_config as parse_cyclegan

def _spec(base=None, **smoke):
    smoke["config"] = {"epochs": 2, "width": 0.25, **smoke.get("config", {})}
    paper = Scale(config={"epochs": 40, "width": 1.0}, grid={"seed": [0, 1, 2]})
    return StudySpec(name="toy", description="", trainable="classifier",
                     base_config={"net": "simple", "lr": 1e-4, **(base or {})},
                     grid={"seed": [0, 1, 2]}, variant_keys=(),
                     scales={"smoke": Scale(**smoke), "cpu": Scale(config={"epochs": 2, "width": 0.5}),
                             "paper": paper})


@pytest.mark.parametrize("smoke, problem", [
    ({"config": {"lr": 3e-4}}, "lr=0.0003 (paper: 0.0001)"),  # a recipe change, undeclared
    ({"config": {"epochs": 80}}, "epochs=80 (paper: 40)"),  # a size raised, not shrunk
    ({"config": {"dropout": 0.1}}, "dropout=0.1 (paper: None)"),
    ({"grid": {"seed": [7]}}, "grid seed values [7]"),
    ({"deviations": {"lr": "stale"}}, "deviations declared for ['lr'], which do not differ"),
])
def test_a_scale_that_changes_the_recipe_without_declaring_it_does_not_load(smoke, problem):
    with pytest.raises(ValueError, match="smoke") as err:
        _spec(**smoke)
    assert problem in str(err.value)


UNIFORM = {c: 1 for c in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")}


@pytest.mark.parametrize("base, smoke, problem", [
    # counts that change what is computed, not sizes (a `n_*` pattern let them through)
    ({"n_critic": 5}, {"config": {"n_critic": 1}}, "n_critic=1 (paper: 5)"),
    ({"n_generated": 900}, {"config": {"n_generated": 300}}, "n_generated=300 (paper: 900)"),
    ({"n_minor": 100}, {"config": {"n_minor": 50}}, "n_minor=50 (paper: 100)"),
    # at 48 px FESGAN is another architecture (a stride-2 layer fewer, another class head)
    ({"image_size": 128}, {"config": {"image_size": 48}}, "image_size=48 (paper: 128)"),
    # fewer residual blocks: a layer removed, another generator
    ({"gan_blocks": 6}, {"config": {"gan_blocks": 3}}, "gan_blocks=3 (paper: 6)"),
    ({"stargan_blocks": 6}, {"config": {"stargan_blocks": 1}}, "stargan_blocks=1 (paper: 6)"),
    # the demo set's options, compared at their resolved values (the paper scale's defaults)
    ({}, {"synthfaces": {"class_weights": UNIFORM}}, "synthfaces.class_weights=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)"),
    ({}, {"synthfaces": {"n_images": 5000}}, "synthfaces.n_images=5000 (paper: 3000)"),
])
def test_the_checker_has_no_holes(base, smoke, problem):
    with pytest.raises(ValueError, match="smoke") as err:
        _spec(base, **smoke)
    assert problem in str(err.value)


def test_the_demo_sets_size_may_shrink_and_its_other_options_load_declared():
    assert _spec(synthfaces={"n_images": 1200, "n_subjects": 24}).deviations("smoke") == {}
    declared = _spec(synthfaces={"class_weights": UNIFORM}, deviations={"synthfaces.class_weights": "why"})
    assert declared.deviations("smoke") == {"synthfaces.class_weights": "why"}


def test_a_declared_deviation_and_pure_shrinking_load():
    study = _spec(config={"lr": 3e-4, "epochs": 2, "width": 0.25}, grid={"seed": [0]},
                  deviations={"lr": "small nets need it"})
    assert study.deviations("smoke") == {"lr": "small nets need it"}


def test_dry_run_lists_command_line_keys_as_deviations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert launch.main(["baseline", "--dry-run", "--json", "--set", "lr=0.01", "--set", "net=zhu_cnn"]) == 0
    found = json.loads(capsys.readouterr().out)
    # beside the deviations the smoke scale inherits from the paper scale's (from the recipe)
    assert found["deviations"] == {**load_study("baseline").deviations("smoke"),
                                   "lr": "set on the command line to 0.01", "net": "set on the command line to "
                                                                                   '"zhu_cnn"'}
    assert [c["config"]["net"] for c in found["cells"]] == ["zhu_cnn"] and found["cells"][0]["config"]["lr"] == 0.01


def test_dry_run_lists_a_plain_grids_cells_in_the_order_tune_runs_them(tmp_path, monkeypatch, capsys):
    """Tune's own variant generator is the reference (it varies the axes in the order of their
    sorted names, the first fastest), on a grid whose axes are not declared in that order."""
    from ray.tune.search.variant_generator import generate_variants

    monkeypatch.chdir(tmp_path)
    assert launch.main(["baseline", "--dry-run", "--json", "--set", "seed=[0,1,2]",
                        "--set", "fold=[0,1]"]) == 0
    cells = [c["config"] for c in json.loads(capsys.readouterr().out)["cells"]]
    study = load_study("baseline")
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path="", tracking_uri="",
                         overrides={"seed": [0, 1, 2], "fold": [0, 1]})
    space = trial_space(study, opts, False)
    axes = [k for k, v in space.items() if isinstance(v, dict) and "grid_search" in v]
    tune_order = [{k: spec[k] for k in axes} for _, spec in generate_variants(space)]
    assert axes == ["seed", "fold", "net"] and len(tune_order) == 3 * 2 * 3
    assert tune_order[1]["fold"] != tune_order[0]["fold"]
    assert [{k: c[k] for k in axes} for c in cells] == tune_order


def test_an_optuna_studys_dry_run_shows_the_domains_it_declares(tmp_path, monkeypatch, capsys):
    # by hand from search_spaces/cycle_gamma.py's GRID, every axis but seed and arm as tune.choice
    monkeypatch.chdir(tmp_path)
    assert launch.main(["cycle_gamma_search", "--scale", "smoke", "--dry-run", "--json"]) == 0
    config = json.loads(capsys.readouterr().out)["cells"][0]["config"]
    assert {k: config[k] for k in ("cycle_loss", "gamma_max", "gamma_schedule", "adv_loss", "soft_labels")} == {
        "cycle_loss": "choice(['l1', 'weighted'])", "gamma_max": "choice([0.0, 0.25, 0.5, 0.75, 1.0])",
        "gamma_schedule": "choice(['constant', 'linear'])", "adv_loss": "choice(['lsgan', 'wgan-gp'])",
        "soft_labels": "choice([True, False])"}
    # loss_weights: each λ loguniform over a decade either side of FESR's default (1, 10, 5, 1, 1, 1e-3)
    assert launch.main(["loss_weights", "--scale", "smoke", "--dry-run"]) == 0
    text = capsys.readouterr().out
    for key, (low, high) in {"lambda1": (0.1, 10.0), "lambda2": (1.0, 100.0), "lambda3": (0.5, 50.0),
                             "lambda6": (0.0001, 0.01)}.items():
        assert f'"{key}": "loguniform({low}, {high})"' in text


@pytest.mark.parametrize("domain, text", [
    (tune.choice(["lsgan", "wgan-gp"]), "choice(['lsgan', 'wgan-gp'])"),
    (tune.uniform(0, 1), "uniform(0, 1)"),
    (tune.loguniform(1e-5, 1e-3), "loguniform(1e-05, 0.001)"),
    (tune.quniform(0, 1, 0.25), "quniform(0, 1, 0.25)"),
    (tune.qloguniform(1e-4, 1e-1, 1e-4), "qloguniform(0.0001, 0.1, 0.0001)"),
    (tune.randint(1, 5), "randint(1, 5)"),
    (tune.qrandint(1, 9, 2), "qrandint(1, 9, 2)"),
    (tune.lograndint(1, 64), "lograndint(1, 64)"),
    (tune.randn(0.0, 2.0), "randn(0.0, 2.0)"),
    (tune.qrandn(0.0, 2.0, 0.5), "qrandn(0.0, 2.0, 0.5)"),
])
def test_a_search_domain_is_written_as_the_call_that_makes_it(domain, text):
    assert describe(domain) == text
    assert described({"a": [domain], "b": 1}) == {"a": [text], "b": 1}


def test_dry_run_refuses_a_bad_config_without_starting_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert launch.main(["baseline", "--dry-run", "--set", "steps=3"]) == 2  # 3 steps cannot fill 15 rounds
    assert "steps" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


# --- the step budget ---------------------------------------------------------------------

def _split(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return fit.TensorSplit(torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8),
                           torch.randint(0, 3, (n,), generator=g))


def _fit_counting_steps(n_train, steps, epochs=3, tmp_path=None, monkeypatch=None):
    made = []

    def counting(net, opts):
        opt = torch.optim.SGD(net.parameters(), lr=opts.lr)
        opt.taken = 0
        opt.register_step_post_hook(lambda o, *_: setattr(o, "taken", o.taken + 1))
        made.append(opt)
        return opt

    monkeypatch.setattr(fit, "make_optimizer", counting)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    opts = fit.FitOptions(epochs=epochs, batch_size=16, lr=0.1, optimizer="sgd", weight_decay=0.0,
                          schedule="onecycle", augment=False, label_smoothing=0.0, seed=0, steps=steps)
    reporter = InProcessReporter(tmp_path / f"r{n_train}-{steps}")
    fit.fit(net, _split(n_train), _split(30, 1), opts, reporter, torch.device("cpu"), lambda last, best: {})
    return made[0].taken, [r["budget/steps"] for r in reporter.history]


def test_a_step_budget_takes_the_same_optimizer_steps_whatever_the_training_set(tmp_path, monkeypatch):
    # 50 images are ~4 batches of 16, 500 are ~32: under a budget of 14 steps both take 14,
    # split 4 + 5 + 5 over three rounds (14·1//3 = 4, 14·2//3 = 9).
    for n in (50, 500):
        taken, reported = _fit_counting_steps(n, 14, tmp_path=tmp_path, monkeypatch=monkeypatch)
        assert taken == 14 and reported == [4, 9, 14]


def test_without_a_budget_steps_follow_the_training_set(tmp_path, monkeypatch):
    assert _fit_counting_steps(50, None, tmp_path=tmp_path, monkeypatch=monkeypatch) == (12, [4, 8, 12])
    assert _fit_counting_steps(500, None, tmp_path=tmp_path, monkeypatch=monkeypatch) == (96, [32, 64, 96])


def test_dag_splits_the_baseline_budget_half_and_half():
    cfg = parse_cyclegan({"arm": "dag", "steps": 136, "epochs": 8})
    pre, finetune = dag_budget(cfg, n_synthetic=5000)
    assert (pre.steps, pre.epochs) == (68, 4)
    assert finetune == {"epochs": 4, "steps": 68, "steps_before": 68}
    odd = parse_cyclegan({"arm": "dag", "steps": 101, "epochs": 3})
    pre, finetune = dag_budget(odd, n_synthetic=10)
    assert pre.steps + finetune["steps"] == 101 and finetune["steps_before"] == pre.steps == 50


def test_oversampling_repeats_the_class_to_the_count_the_gan_adds():
    from trainables.core.real_data import load_real_data
    cfg = parse_cyclegan({"arm": "oversample+disgust", "dataset_options": {"n_images": 300}, "n_folds": 5})
    real = load_real_data(cfg.classifier.data, cfg.classifier.seed)
    train_labels = real.labels[real.splits.train]
    n_neutral = int((train_labels == real.class_names.index("neutral")).sum())
    disgust_idx = real.splits.train[train_labels == real.class_names.index("disgust")]
    images, labels = oversampled(cfg.gan, real, seed=0)
    assert len(labels) == n_neutral and set(labels) == {real.class_names.index("disgust")}
    # every added image is one of the real training disgust images, each used ⌊n/d⌋ or ⌈n/d⌉ times
    own = {real.data.images[i].tobytes(): 0 for i in disgust_idx}
    for image in images:
        own[image.tobytes()] += 1
    low = n_neutral // len(disgust_idx)
    assert set(own.values()) <= {low, low + 1} and sum(own.values()) == n_neutral


def test_oversample_arm_names_parse_and_pair_with_their_gan_arm():
    assert cyclegan.parse_arm("oversample+disgust,sad") == ("oversample", ("disgust", "sad"))
    assert cyclegan.control_of("+sad") == "oversample+sad" and cyclegan.control_of("dag") is None
    with pytest.raises(Exception, match="oversample"):
        cyclegan.parse_arm("oversample")


# --- shared controls and budgets in tables ---------------------------------------------

def _cycle_gamma_smoke_cells():
    study = load_study("cycle_gamma")
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path="", tracking_uri="")
    return grid_cells(trial_space(study, opts, False), study)[1]


def test_a_shared_control_runs_once_per_seed():
    cells = _cycle_gamma_smoke_cells()
    baseline = [c for c in cells if c["arm"] == "baseline"]
    oversample = [c for c in cells if c["arm"] == "oversample+disgust"]
    gan = [c for c in cells if c["arm"] == "+disgust"]
    # smoke: cycle loss {l1, weighted} × adversarial loss {lsgan, wgan-gp}, one seed and fold;
    # both controls (no synthetic images; real disgust repeated) once
    assert len(gan) == 4 and len(baseline) == 1 and len(oversample) == 1 and len(cells) == 6


def test_the_l1_cycle_loss_runs_once_whatever_gamma():
    study = load_study("cycle_gamma")
    opts = LaunchOptions(scale="cpu", dataset="synthfaces", data_root=None, storage_path="", tracking_uri="")
    cells = grid_cells(trial_space(study, opts, False), study)[1]
    settings = sorted((c["arm"], c["cycle_loss"], c["gamma_max"]) for c in cells if c["seed"] == 0)
    # cpu: γ_max ∈ {0, 0.5, 1}, linear; γ does not enter l1, so one l1 cell (at the first γ),
    # three weighted ones and the two controls a seed, where the full product has 3 × 2 × 3 = 18
    assert sorted({c["seed"] for c in cells}) == [0, 1, 2] and len(cells) == 3 * 6
    assert settings == [("+disgust", "l1", 0.0), ("+disgust", "weighted", 0.0), ("+disgust", "weighted", 0.5),
                        ("+disgust", "weighted", 1.0), ("baseline", "l1", 0.0), ("oversample+disgust", "l1", 0.0)]


def test_an_inert_axis_must_be_a_grid_axis():
    from study.spec import StudySpec

    study = load_study("cycle_gamma")
    with pytest.raises(ValueError, match=r"inert_axes names \['gamma'\]"):
        StudySpec(name="x", description="", trainable=study.trainable, base_config=study.base_config,
                  grid=study.grid, variant_keys=study.variant_keys, scales=study.scales,
                  inert_axes=(("cycle_loss", "l1", ("gamma",)),))


def test_cycle_gamma_dry_run_lists_the_oversampling_arm(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert launch.main(["cycle_gamma", "--scale", "smoke", "--dry-run", "--json"]) == 0
    arms = [c["config"]["arm"] for c in json.loads(capsys.readouterr().out)["cells"]]
    assert arms.count("oversample+disgust") == 1 and arms.count("baseline") == 1 and arms.count("+disgust") == 4


def test_cycle_gamma_pairs_every_gamma_row_with_the_oversampling_arm():
    from analysis.layouts.cycle_gamma import cycle_gamma

    rows, cells = [], _cycle_gamma_smoke_cells()
    settings = [c for c in cells if c["arm"] == "+disgust"]
    for seed, base in enumerate([0.50, 0.60, 0.55]):  # the smoke grid's cells, at three seeds
        for cell in cells:
            acc = {"baseline": base, "oversample+disgust": base + 0.01}.get(
                cell["arm"], base + 0.02 + 0.01 * (settings.index(cell) if cell in settings else 0))
            rows.append({**{f"param.{k}": str(v) for k, v in cell.items() if k not in ("seed", "fold")},
                         "seed": seed, "fold": 0, "test/acc_at_best_val": acc, "test/acc_disgust_at_best_val": acc,
                         "test/macro_f1_at_best_val": acc, "data/n_dropped_val": 280, "data/n_dropped_test": 288})
    runs = pd.DataFrame(rows).assign(parent_run_id="p", procedural=True, **{"budget/steps": 100})
    tables = {t.name: t for t in cycle_gamma(runs)}
    versus = tables["cycle_gamma_vs_oversampling"].cells
    gan = versus[versus["arm"] == "+disgust"]
    # every γ row (l1, weighted γ=0.5 linear) × (lsgan, wgan-gp): four settings, each paired with
    # oversampling on all three seeds; the settings are 2 to 5 points over the baseline, oversampling 1,
    # so 1 to 4 points over oversampling, with no spread
    assert len(gan) == 4 and set(versus["arm"]) == {"+disgust", "oversample+disgust"}
    deltas = sorted(gan["Δ overall acc vs oversample+disgust"])
    assert [d.split(" ±")[0] for d in deltas] == ["+1.00", "+2.00", "+3.00", "+4.00"]
    assert all(d.endswith("(n=3)") for d in deltas)
    # and beside it, the ablation table pairs the oversampling arm and every setting with the baseline
    ablation = tables["cycle_gamma_ablation"].cells
    assert ablation.loc[ablation["arm"] == "oversample+disgust", "Δ overall acc vs baseline"].iloc[0].startswith(
        "+1.00 ± 0.00 (n=3)")
    assert (ablation.loc[ablation["arm"] == "+disgust", "Δ overall acc vs baseline"].str.endswith("(n=3)")).sum() == 4
    # every table says how many evaluation images were left out as copies of training images
    assert all(any("280 validation and 288 test images" in note for note in t.footnotes) for t in tables.values())


def test_dag_is_paired_with_its_two_stage_real_control():
    from analysis.layouts.cyclegan_augmentation import cyclegan_augmentation

    acc = {"baseline": [0.50, 0.60, 0.55], "dag_real": [0.52, 0.61, 0.58], "dag": [0.53, 0.64, 0.59]}
    runs = pd.DataFrame([{"param.arm": arm, "seed": seed, "fold": 0, "test/acc_at_best_val": a,
                          "test/macro_f1_at_best_val": a, "test/ovr_acc_disgust_at_best_val": a,
                          "test/acc_disgust_at_best_val": a}
                         for arm, values in acc.items() for seed, a in enumerate(values)]).assign(
        parent_run_id="p", procedural=True, **{"budget/steps": 100})
    tables = {t.name: t for t in cyclegan_augmentation(runs)}
    versus = tables["cyclegan_augmentation_table2_vs_two_stage_real"].cells
    assert list(versus["arm"]) == ["dag_real", "dag"]
    # dag − dag_real by seed, by hand: 1, 3, 1 points, mean 1.67
    assert versus.loc[versus["arm"] == "dag", "Δ overall acc vs dag_real"].iloc[0].startswith("+1.67 ±")
    # and the DAG table keeps both beside the baseline: dag_real − baseline 2, 1, 3 points
    dag = tables["cyclegan_augmentation_table2"].cells
    assert list(dag["arm"]) == ["baseline", "dag", "dag_real"]
    assert dag.loc[dag["arm"] == "dag_real", "Δ overall acc vs baseline"].iloc[0].startswith("+2.00 ±")


def test_fesr_real_and_its_matched_arm_are_paired_with_jl_il():
    from analysis.layouts.fesr_ablation import fesr_ablation

    acc = {"BASELINE": [0.80, 0.84], "FESR_JL-IL": [0.85, 0.88], "FESR_Real": [0.86, 0.90],
           "FESR_Real-matched": [0.84, 0.88]}
    runs = pd.DataFrame([{"param.variant": v, "seed": 0, "fold": fold, "test/acc_at_best_val": a,
                          "test/macro_f1_at_best_val": a} for v, values in acc.items() for fold, a in enumerate(values)]
                        ).assign(parent_run_id="p", procedural=True, **{"budget/steps": 150})
    table = {t.name: t for t in fesr_ablation(runs)}["fesr_ablation_generation_strategy"]
    delta = dict(zip(table.cells["variant"], table.cells["Δ overall acc vs FESR_JL-IL"]))
    # by hand: Real − JL-IL 1 and 2 points; matched − JL-IL −1 and 0
    assert delta["FESR_JL-IL"] == "(control)" and delta["FESR_Real"].startswith("+1.50 ±")
    assert delta["FESR_Real-matched"].startswith("-0.50 ±") and "BASELINE" not in delta
    assert any("K times the synthetic images per step" in note for note in table.footnotes)


def _runs(budgets, accs, arms=("baseline", "+disgust"), extra=None):
    rows = []
    for arm, budget, acc in zip(arms, budgets, accs):
        for seed, a in enumerate(acc):
            rows.append({"parent_run_id": "p", "seed": seed, "fold": 0, "procedural": False, "param.arm": arm,
                         "budget/steps": budget, "test/acc": a, **(extra or {}).get(arm, {})})
    return pd.DataFrame(rows)


def test_a_table_refuses_to_pair_arms_of_different_budgets():
    runs = _runs([100, 200], [[0.5, 0.6, 0.55], [0.6, 0.7, 0.6]])
    with pytest.raises(BudgetMismatch, match=r"\[200\] optimizer steps.*\[100\]"):
        metric_table(runs, name="t", title="t", group_by=["param.arm"], columns=[Column("acc", "test/acc")],
                     paired=Paired(arm="param.arm", control="baseline"))
    declared = metric_table(runs, name="t", title="t", group_by=["param.arm"], columns=[Column("acc", "test/acc")],
                            paired=Paired(arm="param.arm", control="baseline", unequal_budget="the paper's rule"))
    assert list(declared.cells["budget (steps)"]) == ["100", "200"]
    assert any("Unequal budgets, declared" in note and "the paper's rule" in note for note in declared.footnotes)


def test_a_shared_control_pairs_with_every_setting_on_seed():
    rows = []
    for seed, base in enumerate([0.50, 0.60, 0.55]):
        rows.append({"param.arm": "baseline", "param.cycle_loss": "l1", "seed": seed, "test/acc": base})
        rows.append({"param.arm": "+disgust", "param.cycle_loss": "l1", "seed": seed, "test/acc": base + 0.01})
        rows.append({"param.arm": "+disgust", "param.cycle_loss": "weighted", "seed": seed,
                     "test/acc": base + [0.02, 0.04, 0.06][seed]})
    runs = pd.DataFrame(rows).assign(parent_run_id="p", fold=0, procedural=False, **{"budget/steps": 50})
    table = metric_table(runs, name="t", title="t", group_by=["param.arm", "param.cycle_loss"],
                         columns=[Column("acc", "test/acc")],
                         paired=Paired(arm="param.arm", control="baseline", shared_control=True))
    delta = dict(zip(table.cells["cycle_loss"] + "/" + table.cells["arm"], table.cells["Δ acc vs baseline"]))
    # by hand: l1 differences 1, 1, 1 points (no spread); weighted 2, 4, 6 points, mean 4
    assert delta["l1/+disgust"].startswith("+1.00 ± 0.00 (n=3)")
    assert delta["weighted/+disgust"].startswith("+4.00 ±") and delta["weighted/+disgust"].endswith("(n=3)")
    half = float(delta["weighted/+disgust"].split("± ")[1].split(" ")[0])
    assert math.isclose(half, 4.303 * 2 / math.sqrt(3), abs_tol=0.01)  # t(0.975, 2) × sd / √n


def test_an_arm_launched_apart_from_its_control_is_named_not_silently_unpaired():
    runs = _runs([100, 100], [[0.5, 0.6, 0.55], [0.6, 0.7, 0.6]])
    runs.loc[runs["param.arm"] == "+disgust", "parent_run_id"] = "q"  # the GAN arm's own launch
    table = metric_table(runs, name="t", title="t", group_by=["param.arm"], columns=[Column("acc", "test/acc")],
                         paired=Paired(arm="param.arm", control="baseline"))
    assert table.cells.set_index("arm").loc["+disgust", "Δ acc vs baseline"].startswith("—")
    assert any("ran in different launches" in note for note in table.footnotes)
    together = metric_table(_runs([100, 100], [[0.5, 0.6, 0.55], [0.6, 0.7, 0.6]]), name="t", title="t",
                            group_by=["param.arm"], columns=[Column("acc", "test/acc")],
                            paired=Paired(arm="param.arm", control="baseline"))
    assert not any("different launches" in note for note in together.footnotes)

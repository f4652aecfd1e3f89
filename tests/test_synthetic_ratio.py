"""The synthetic-ratio study's parts: StarGAN's losses by hand, the balanced generator
chain and its cache, the guard that no held-out image reaches a generator or the
classifier, and the trial on real CK+48 → FER2013 where the datasets are present."""

import hashlib
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_data_real import CK_DIR, FER_COUNTS, FER_DIR
from trainables.core.config import ConfigError
from trainables.core.reporting import InProcessReporter
from trainables.synthetic import balanced_synthetic
from trainables.synthetic.balanced_synthetic import EKMAN, balanced_set, generate_balanced
from trainables.synthetic.identity_sources import IdentitySource
from trainables.gans.stargan_fit import (StarGANOptions, StarGANTrainer, domain_classification_loss,
                                    reconstruction_loss)
from trainables.nets.dcgan import Z_DIM, DCGenerator
from trainables.nets.stargan import StarDiscriminator, StarGenerator
from trainables.trials import synthetic_ratio

CPU = torch.device("cpu")
TINY = {"dataset_options": {"n_images": 240, "n_subjects": 12}, "n_folds": 4, "net": "picha_cnn",
        "width": 0.0625, "epochs": 1, "batch_size": 32, "source_iters": 3, "source_width": 0.0625,
        "source_batch_size": 8, "stargan_iters": 3, "stargan_width": 0.0625, "stargan_blocks": 1,
        "stargan_batch_size": 4, "stargan_n_critic": 2, "judge_width": 0.0625, "judge_epochs": 1, "max_ratio": 2,
        "cross_options": {"n_images": 60, "n_subjects": 6, "seed": 7}}


# --- StarGAN's losses, by hand -----------------------------------------------------------

def test_domain_classification_loss_is_mean_negative_log_softmax_of_the_true_domain():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    domains = torch.tensor([0, 1])
    by_hand = -(math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
                + math.log(math.exp(0.5) / (2 * math.exp(0.5) + math.exp(3)))) / 2
    assert domain_classification_loss(logits, domains).item() == pytest.approx(by_hand, rel=1e-6)


def test_reconstruction_loss_is_mean_absolute_difference():
    x = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]]])
    rec = torch.tensor([[[[0.0, -1.0], [1.0, 0.25]]]])
    assert reconstruction_loss(x, rec).item() == pytest.approx((1 + 0 + 0.5 + 0.25) / 4)


def test_stargan_generator_is_conditioned_and_discriminator_has_both_heads():
    torch.manual_seed(0)
    G, D = StarGenerator(6, 0.0625, 1), StarDiscriminator(48, 6, 0.0625)
    x = torch.rand(3, 1, 48, 48) * 2 - 1
    a, b = G(x, torch.tensor([0, 0, 0])), G(x, torch.tensor([5, 5, 5]))
    assert a.shape == x.shape and not torch.allclose(a, b)
    src, cls = D(a)
    assert src.shape == (3, 1, 3, 3) and cls.shape == (3, 6)


def test_stargan_step_reports_its_losses_and_resumes_exactly():
    images, domains = torch.rand(20, 1, 48, 48) * 2 - 1, torch.randint(0, 6, (20,))
    opts = StarGANOptions(batch_size=4, n_critic=2, width=0.0625, n_blocks=1)
    first = StarGANTrainer(opts, 6, images, domains, CPU)
    assert set(first.step(0)) == {"d_adv", "d_cls", "d_gp"}
    assert set(first.step(1)) == {"d_adv", "d_cls", "d_gp", "g_adv", "g_cls", "g_rec"}
    second = StarGANTrainer(opts, 6, images, domains, CPU)
    second.load_state_dict(first.state_dict())
    assert first.step(2) == second.step(2)


# --- the balanced chain and its cache ----------------------------------------------------

def _chain(seed=0):
    torch.manual_seed(seed)
    source = IdentitySource("dcgan", DCGenerator(48, 0.0625), lambda gen, n: (torch.randn(n, Z_DIM, generator=gen),),
                            CPU)
    return source, StarGenerator(len(EKMAN), 0.0625, 1)


def test_every_identity_has_all_six_expressions_once():
    source, translator = _chain()
    found = generate_balanced(source, translator, 7, seed=3, device=CPU, batch=3)
    assert found.images.shape == (42, 48, 48) and found.images.dtype == np.uint8
    for identity in range(7):
        assert sorted(found.labels[found.identities == identity].tolist()) == list(range(6))
    assert np.bincount(found.labels).tolist() == [7] * 6
    # the six rows of one identity are one face translated: different images
    assert len({found.images[i].tobytes() for i in range(6)}) == 6


def test_identity_draws_and_sets_are_nested_prefixes():
    source, translator = _chain()
    assert np.array_equal(source.sample(5, seed=1, batch=2)[:3], source.sample(3, seed=1, batch=2))
    whole = generate_balanced(source, translator, 6, seed=1, device=CPU)
    k1, k2 = whole.prefix(2), whole.prefix(4)
    assert np.array_equal(k2.images[:len(k1.images)], k1.images) and np.array_equal(k2.labels[:12], k1.labels)
    assert np.array_equal(generate_balanced(source, translator, 2, seed=1, device=CPU).images, k1.images)
    with pytest.raises(ValueError, match="asked for 7 identities; the set has 6"):
        whole.prefix(7)


def test_cache_generates_once_and_keys_on_the_weights(tmp_path, monkeypatch):
    calls = []
    real_generate = balanced_synthetic.generate_balanced

    def counting(*args, **kwargs):
        calls.append(args[2])
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(balanced_synthetic, "generate_balanced", counting)
    source, translator = _chain()
    first, made = balanced_set(tmp_path, source, translator, "t-hash", 4, 0, CPU)
    again, made_again = balanced_set(tmp_path, source, translator, "t-hash", 4, 0, CPU)
    assert (made, made_again) == (True, False) and calls == [4]
    assert np.array_equal(first.images, again.images) and np.array_equal(first.identities, again.identities)
    balanced_set(tmp_path, source, translator, "other-translator", 4, 0, CPU)
    assert calls == [4, 4]


@pytest.mark.parametrize("fail_in", ["save", "replace"])
def test_cache_write_failing_part_way_leaves_nothing_and_the_next_call_regenerates(tmp_path, monkeypatch, fail_in):
    """A writer dying half-way through np.savez, or at the rename, leaves no set and no
    temporary file (only the lock file); the next call generates and stores the set."""
    source, translator = _chain()
    made_by = iter([np.full((12, 48, 48), 1, np.uint8), np.full((12, 48, 48), 2, np.uint8)])
    monkeypatch.setattr(balanced_synthetic, "generate_balanced",  # the writer is under test, not the generator
                        lambda *_args, **_kw: balanced_synthetic.BalancedSet(
                            next(made_by), np.tile(np.arange(6), 2), np.repeat(np.arange(2), 6)))
    written = []
    real_savez, real_replace = np.savez, os.replace

    def half_savez(file, **arrays):
        real_savez(file, **arrays)
        Path(file).write_bytes(Path(file).read_bytes()[:100])
        written.append(Path(file).name)
        if fail_in == "save":
            raise OSError("disk full")

    def failing_replace(source, target):
        raise OSError("rename failed")

    monkeypatch.setattr(np, "savez", half_savez)
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        balanced_set(tmp_path, source, translator, "t-hash", 2, 0, CPU)
    monkeypatch.setattr(np, "savez", real_savez)
    monkeypatch.setattr(os, "replace", real_replace)
    assert written and written[0].startswith(".tmp-")  # it failed after the temporary existed
    assert [p.suffix for p in (tmp_path / "balanced").iterdir()] == [".lock"]

    made_set, made = balanced_set(tmp_path, source, translator, "t-hash", 2, 0, CPU)
    cached_set, made_again = balanced_set(tmp_path, source, translator, "t-hash", 2, 0, CPU)
    assert (made, made_again) == (True, False)
    assert (made_set.images == 2).all() and (cached_set.images == 2).all()  # the second generation's, stored
    assert np.array_equal(cached_set.identities, made_set.identities)


# --- the trial ---------------------------------------------------------------------------

def test_config_errors_say_what_was_expected():
    for bad, message in (({"train_set": "real+0x"}, "'real', 'synthetic' or 'real\\+<k>x'"),
                         ({"train_set": "real+5x", "max_ratio": 2}, "raise max_ratio"),
                         ({"cross_dataset": "fer2013"}, "needs cross_root"),
                         ({"identity_source": "stylegan"}, "allowed values: \\['dcgan', 'fesgan'\\]"),
                         ({"budget": "equal"}, "allowed values: \\['epochs', 'steps'\\]"),
                         ({"budget": "steps"}, "budget 'steps' trains every train set for `steps`")):
        with pytest.raises(ConfigError, match=message):
            synthetic_ratio.parse_config(bad)


def _row_hashes(x: torch.Tensor) -> set[str]:
    return {hashlib.sha1(row.numpy().tobytes()).hexdigest() for row in x}


@pytest.mark.parametrize("source", ["dcgan", "fesgan"])
def test_no_test_or_blind_image_reaches_a_generator_or_the_classifier(tmp_path, monkeypatch, source):
    """Record every image tensor given to the identity source, StarGAN and the classifier's
    fit, and compare them row by row with the test split and the blind set, prepared the
    same way."""
    seen = {"gan": [], "fit": []}
    import trainables.gans.dcgan_fit as dcgan_fit
    import trainables.gans.fesr_fit as fesr_fit
    import trainables.gans.stargan_fit as stargan_fit

    for module, cls in ((dcgan_fit, "DCGANTrainer"), (stargan_fit, "StarGANTrainer"), (fesr_fit, "FESRTrainer")):
        original = getattr(module, cls).__init__

        def spy(self, *args, _original=original, **kwargs):
            seen["gan"].extend(a for a in args if isinstance(a, torch.Tensor) and a.dim() == 4)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(getattr(module, cls), "__init__", spy)
    real_fit = synthetic_ratio.fit
    monkeypatch.setattr(synthetic_ratio, "fit",
                        lambda net, train, val, *a, **k: seen["fit"].append(train.x) or real_fit(net, train, val, *a,
                                                                                                   **k))
    config = {**TINY, "train_set": "real+2x", "identity_source": source, "cache_dir": str(tmp_path)}
    out = synthetic_ratio.train_synthetic_ratio(config, InProcessReporter(tmp_path / "trial"))
    cfg = synthetic_ratio.parse_config(config)
    real = synthetic_ratio.load_training_data(cfg.classifier)
    blind = synthetic_ratio.load_blind_data(cfg)
    held_out = [real.data.images[real.splits.test], real.data.images[real.splits.val], blind.images]
    assert len(seen["gan"]) >= 2 and len(seen["fit"]) == 1
    for tensor in seen["gan"]:
        assert not _row_hashes(tensor) & set().union(*(_row_hashes(synthetic_ratio.to_gan(h)) for h in held_out))
    size = synthetic_ratio.net_spec("picha_cnn").input_size
    for tensor in seen["fit"]:
        assert not _row_hashes(tensor) & set().union(
            *(_row_hashes(synthetic_ratio.images_split(h, np.zeros(len(h), int), size).x) for h in held_out))
    unit = len(np.unique(real.data.subjects[real.splits.train]))
    assert out["synth/identities_per_unit"] == unit
    assert out["data/n_train"] == len(real.splits.train) + 2 * unit * 6
    assert out["budget/steps"] == math.ceil(out["data/n_train"] / 32)  # budget 'epochs': one pass in batches of 32
    for key in ("test/acc_at_best_val", "blind/acc_at_best_val", "train/acc_at_best_val", "blind/f1_sad_at_best_val"):
        assert 0 <= out[key] <= 1
    cm = sum(out[f"blind/cm_{a}_{b}"] for a in EKMAN for b in EKMAN)
    assert cm == out["data/n_blind"] == len(blind.labels)
    assert sum(out[f"test/cm_{a}_{b}"] for a in EKMAN for b in EKMAN) == out["data/n_test"]
    assert out["blind/acc_at_best_val"] == pytest.approx(sum(out[f"blind/cm_{c}_{c}"] for c in EKMAN) / cm)


def test_synthetic_only_trains_on_one_unit_and_no_real_face(tmp_path):
    config = {**TINY, "train_set": "synthetic", "cache_dir": str(tmp_path)}
    out = synthetic_ratio.train_synthetic_ratio(config, InProcessReporter(tmp_path / "trial"))
    assert out["data/n_real_train"] == 0
    assert out["data/n_train"] == out["synth/identities_per_unit"] * 6
    assert out["synth/generated_here"] == 1.0  # a fresh cache: this trial generated the study's set
    again = synthetic_ratio.train_synthetic_ratio({**config, "train_set": "real+1x"},
                                                  InProcessReporter(tmp_path / "trial2"))
    assert again["synth/generated_here"] == 0.0 and again["stargan/from_cache"] == 1.0


def test_budget_steps_gives_every_train_set_the_same_optimizer_steps(tmp_path, monkeypatch):
    """Under 'steps' real only and real + 2× both train 6 steps (2 report rounds of 3),
    though one pass in batches of 32 is fewer than 6 for the one and more for the other;
    under 'epochs' (the default, checked above) the larger set takes more. The synthetic
    faces' content does not matter here: noise of the right shape, no generator chain."""
    def noise_faces(cfg, real, reporter, device):
        n = cfg.ratio.ratio * synthetic_ratio.identities_per_unit(real)
        rng = np.random.default_rng(0)
        return balanced_synthetic.BalancedSet(rng.integers(0, 256, (6 * n, 48, 48), dtype=np.uint8),
                                              np.tile(np.arange(6), n), np.repeat(np.arange(n), 6)), {}

    monkeypatch.setattr(synthetic_ratio, "synthetic_faces", noise_faces)
    found = {}
    for train_set in ("real", "real+2x"):
        config = {**TINY, "train_set": train_set, "budget": "steps", "steps": 6, "epochs": 2,
                  "cache_dir": str(tmp_path)}
        found[train_set] = synthetic_ratio.train_synthetic_ratio(config, InProcessReporter(tmp_path / train_set))
    assert [found[s]["budget/steps"] for s in found] == [6, 6]
    assert math.ceil(found["real"]["data/n_train"] / 32) < 6 < math.ceil(found["real+2x"]["data/n_train"] / 32)


@pytest.mark.skipif(not (CK_DIR.is_dir() and FER_DIR.is_dir()),
                    reason="real CK+48 and FER2013 not found under ../shared/datasets (set FERLAB_DATASETS)")
def test_ckplus_training_faces_and_fer2013_blind_set_are_the_six_ekman_classes():
    cfg = synthetic_ratio.parse_config({"dataset": "ckplus", "data_root": str(CK_DIR), "cross_dataset": "fer2013",
                                        "cross_root": str(FER_DIR), "n_folds": 6})
    real = synthetic_ratio.load_training_data(cfg.classifier)
    assert sorted(np.unique(real.labels).tolist()) == list(range(6))  # contempt dropped
    assert len(real.labels) == 981 - 54
    blind = synthetic_ratio.load_blind_data(cfg)
    assert len(blind.labels) == sum(FER_COUNTS["test"][:6])  # PrivateTest without neutral
    assert np.bincount(blind.labels).tolist() == FER_COUNTS["test"][:6]


# --- the study, launched ----------------------------------------------------------------

def test_launch_runs_every_train_set_in_both_budget_families_and_prints_their_tables(tmp_path):
    """Real local Ray and MLflow, the smoke study cut to four training sets and k ≤ 2, in
    both budget families: 'epochs' (one pass) and 'steps' (4 optimizer steps each)."""
    from tests.test_launch import launch, launched_runs, shown_and_written

    out = launch("synthetic_ratio", "--set", 'train_set=["real","synthetic","real+1x","real+2x"]',
                 "--set", "max_ratio=2", "--set", "source_iters=20", "--set", "stargan_iters=20",
                 "--set", "steps=4", "--set", "epochs=1", "--set", "judge_epochs=1",
                 "--set", 'dataset_options={"n_images": 300, "n_subjects": 12}', cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    shown = shown_and_written(out, tmp_path)
    client, _, runs = launched_runs(tmp_path)
    by_set = {(r.data.params["budget"], r.data.params["train_set"]): r for r in runs}
    sets = ["real", "real+1x", "real+2x", "synthetic"]
    assert sorted(by_set) == [(b, s) for b in ("epochs", "steps") for s in sets] and len(runs) == 8
    assert {r.info.status for r in runs} == {"FINISHED"}
    with_synthetic = [r.data.metrics for (_, s), r in by_set.items() if s != "real"]
    assert sum(m["synth/generated_here"] for m in with_synthetic) == 1  # one generation for the whole study
    assert sum(m["stargan/from_cache"] == 0 for m in with_synthetic) == 1
    unit = with_synthetic[0]["synth/identities_per_unit"]
    real_n = by_set["epochs", "real"].data.metrics["data/n_train"]
    assert [by_set["epochs", s].data.metrics["data/n_train"] for s in ("real+1x", "real+2x")] == [
        real_n + 6 * unit, real_n + 12 * unit]
    for (budget, train_set), run in by_set.items():
        assert run.data.tags["variant"] == f"{budget}-{train_set}"
        assert 0 <= run.data.metrics["blind/acc_at_best_val"] <= 1
        # 'epochs': one pass over the training set in batches of 64; 'steps': 4 whatever its size
        n = run.data.metrics["data/n_train"]
        assert run.data.metrics["budget/steps"] == (4 if budget == "steps" else math.ceil(n / 64))
    assert "synthetic_samples.png" in {a.path for a in client.list_artifacts(by_set["steps", "real+2x"].info.run_id)}
    for family in ("epochs", "steps"):
        assert f"Synthetic ratio (their Table 2 and Fig. 8), budget family '{family}'" in shown
        assert f"Figure: synthetic_ratio_{family}.png, beside this table" in shown
        assert (tmp_path / "reports" / "synthetic_ratio" / f"synthetic_ratio_{family}.png").is_file()
    assert "Best k (chosen on validation)" in shown
    parent = runs[0].data.tags["mlflow.parentRunId"]  # the launch's regenerated tables and figures, on its parent run
    attached = {a.path for a in client.list_artifacts(parent, "report/synthetic_ratio")}
    assert {f"report/synthetic_ratio/synthetic_ratio_{f}.{ext}" for f in ("epochs", "steps")
            for ext in ("md", "csv", "png")} <= attached

# --- the tables: budget families, and the best k chosen on validation -------------------

# By hand: validation is best at real+2x (0.70), the blind set at real+1x (0.45), the test
# split (1 − validation) at real; each seed adds 0.01 to validation and blind, so their
# means are these plus 0.01. 'synthetic' is best on validation and blind and must not be
# chosen: it is not a real(+k×) row.
VAL_BY_SET = {"real": 0.50, "real+1x": 0.60, "real+2x": 0.70, "real+3x": 0.65, "synthetic": 0.95}
BLIND_BY_SET = {"real": 0.30, "real+1x": 0.45, "real+2x": 0.40, "real+3x": 0.35, "synthetic": 0.99}
# the 'epochs' family's optimizer steps: one more batch a pass per synthetic unit
EPOCH_STEPS = {"real": 12, "real+1x": 24, "real+2x": 36, "real+3x": 48, "synthetic": 12}


def _ratio_runs(families=("steps",)) -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for family in families:
        for train_set in VAL_BY_SET:
            for seed in range(3):
                rows.append({"run_id": f"{family}-{train_set}-{seed}", "parent_run_id": "p", "status": "FINISHED",
                             "dataset": "synthfaces", "scale": "smoke", "procedural": True, "seed": seed, "fold": 0,
                             "param.budget": family, "param.train_set": train_set,
                             "param.cross_dataset": "synthfaces",
                             "budget/steps": 60 if family == "steps" else EPOCH_STEPS[train_set],
                             "val/acc_best": VAL_BY_SET[train_set] + 0.01 * seed,
                             "blind/acc_at_best_val": BLIND_BY_SET[train_set] + 0.01 * seed,
                             "test/acc_at_best_val": 1 - VAL_BY_SET[train_set],
                             "train/acc_at_best_val": 0.9, "blind/macro_f1_at_best_val": 0.3,
                             **{f"blind/cm_{a}_{b}": float(a == b) for a in EKMAN for b in EKMAN}})
    return pd.DataFrame(rows)


def test_best_k_is_chosen_on_validation_and_the_blind_set_reported_at_it():
    from analysis.layouts.synthetic_ratio import best_train_set, synthetic_ratio_tables

    runs = _ratio_runs()
    assert best_train_set(runs) == "real+2x"  # the blind set would say real+1x
    tables = {t.name: t for t in synthetic_ratio_tables(runs)}
    peak = tables["synthetic_ratio_steps_peak"]
    assert "the best k (chosen on validation) is real+2x" in peak.title
    # real+2x's blind accuracy over seeds: 0.40, 0.41, 0.42 -> mean 41.00; its t-interval's
    # half-width 4.303 * 0.01 / sqrt(3) = 2.48 points, inside [0, 100]
    assert "Best k (chosen on validation): real+2x" in peak.footnotes[0]
    assert "Its blind accuracy: 41.00 ± 2.48 (n=3) %" in peak.footnotes[0]
    assert sorted(peak.cells["train_set"]) == ["real+2x", "real+3x"]  # real+1x is below the chosen k
    assert "falls beyond real+2x" in peak.footnotes[1]  # real+3x: 0.35 - 0.40 on every seed
    assert "real+2x (best k, chosen on validation)" in set(tables["synthetic_ratio_steps_per_class"].cells["train set"])
    assert "chosen on validation: real+2x" in tables["synthetic_ratio_steps_confusion"].title


def test_the_k_chooser_reads_no_blind_or_test_column():
    """Blind and test columns reversed between train sets, then all NaN: the choice stays."""
    from analysis.layouts.synthetic_ratio import best_train_set

    runs = _ratio_runs()
    held_out = [c for c in runs if c.startswith(("blind/", "test/"))]
    order = list(VAL_BY_SET)
    reversed_sets = runs["param.train_set"].map(dict(zip(order, reversed(order))))
    swapped = runs.copy()
    for col in held_out:  # each run gets the values of the mirrored train set: real+3x ↔ real, ...
        by_set = runs.groupby(["param.train_set", "seed"])[col].first()
        swapped[col] = [by_set[(s, seed)] for s, seed in zip(reversed_sets, runs["seed"])]
    assert swapped.groupby("param.train_set")["blind/acc_at_best_val"].mean().idxmax() != "real+1x"
    assert best_train_set(swapped) == "real+2x"
    assert best_train_set(runs.assign(**{c: float("nan") for c in held_out})) == "real+2x"


def test_each_budget_family_gets_its_own_tables_and_only_epochs_pairs_unequal_budgets():
    from analysis.pairing import BudgetMismatch
    from analysis.layouts.synthetic_ratio import synthetic_ratio_tables

    runs = _ratio_runs(("epochs", "steps"))
    tables = synthetic_ratio_tables(runs)
    assert [t.name for t in tables] == [f"synthetic_ratio_{f}{part}" for f in ("epochs", "steps")
                                        for part in ("", "_peak", "_per_class", "_confusion")]
    for table in tables:
        family = "epochs" if "_epochs" in table.name else "steps"
        assert f"budget family '{family}'" in table.title
    epochs, steps = tables[0], tables[4]
    assert dict(zip(epochs.cells["train_set"], epochs.cells["budget (steps)"])) == {
        k: str(v) for k, v in EPOCH_STEPS.items()}
    assert set(steps.cells["budget (steps)"]) == {"60"}
    declared = [n for n in epochs.footnotes if n.startswith("Unequal budgets, declared")]
    assert len(declared) == 3  # real+1x, +2x, +3x against real only (synthetic: 12 steps, as real)
    assert all(n.endswith("Picha et al.'s protocol: fixed epochs, so a larger training set gets more optimizer "
                          "steps.") for n in declared)
    assert not [n for n in steps.footnotes if "Unequal budgets" in n]
    # the equal-steps family declares nothing: a run off its budget makes the table refuse
    off = runs.copy()
    off.loc[(off["param.budget"] == "steps") & (off["param.train_set"] == "real+1x"), "budget/steps"] = 59
    with pytest.raises(BudgetMismatch, match="real\\+1x trained for \\[59\\] optimizer steps"):
        synthetic_ratio_tables(off)

"""Runner paths the shipped grid studies do not take: an Optuna search with ASHA early
stopping, on real local Ray, tracked in a real MLflow store."""

from types import SimpleNamespace

import pytest
import ray
from mlflow import MlflowClient
from ray import tune

from tests.test_launch import child_runs
from study.runner import LaunchOptions, check_configs, launch, trial_space
from study.tune_run import tune_config
from study.spec import Scale, StudySpec, StudyError, load_study
from trainables.core.config import ConfigError

SMALL = {"epochs": 3, "width": 0.25, "batch_size": 32, "threads": 1}
SEARCH = StudySpec(
    name="optuna_search_test", description="lr search", trainable="classifier",
    base_config={"net": "zhu_cnn"}, grid={"seed": [0]}, variant_keys=("net",),
    search="optuna", optuna_space={"lr": tune.loguniform(1e-4, 1e-2)}, early_stopping=True,
    scales={s: Scale(config=SMALL, synthfaces={"n_images": 240, "n_subjects": 16}, n_folds=4) for s in ("smoke", "cpu", "paper")},
)


def test_grid_space_adds_folds_only_without_official_split(tmp_path):
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path=str(tmp_path),
                         tracking_uri="sqlite:///unused.db", num_samples=3)
    grid_study = StudySpec(**{**SEARCH.__dict__, "search": "grid", "optuna_space": {}})
    space = trial_space(grid_study, opts, has_official_split=False)
    assert space["seed"] == tune.grid_search([0, 1, 2]) and space["fold"] == tune.grid_search([0])
    assert "fold" not in trial_space(grid_study, opts, has_official_split=True)


def test_bad_grid_point_fails_in_the_driver(tmp_path):
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path=str(tmp_path),
                         tracking_uri="sqlite:///unused.db")
    check_configs(SEARCH, trial_space(SEARCH, opts, has_official_split=False))  # a valid study passes
    bad = StudySpec(**{**SEARCH.__dict__, "search": "grid", "grid": {"net": ["zhu_cnn", "vgg99"]}})
    with pytest.raises(ConfigError, match="'net' = 'vgg99'"):
        check_configs(bad, trial_space(bad, opts, has_official_split=False))
    unknown = StudySpec(**{**SEARCH.__dict__, "trainable": "stylegan"})
    with pytest.raises(StudyError, match="unknown trainable"):
        check_configs(unknown, trial_space(unknown, opts, has_official_split=False))


def test_the_bad_grid_point_named_is_the_first_tune_would_run(tmp_path):
    """Two bad axes: Tune runs the grid with its axes by name, the first varying fastest, so
    (vgg99, width 0.25) comes before (zhu_cnn, width -1), though `width` is declared last."""
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path=str(tmp_path),
                         tracking_uri="sqlite:///unused.db")
    grid = {"net": ["zhu_cnn", "vgg99"], "width": [0.25, -1.0]}
    bad = StudySpec(**{**SEARCH.__dict__, "search": "grid", "grid": grid})
    with pytest.raises(ConfigError, match="'net' = 'vgg99'"):
        check_configs(bad, trial_space(bad, opts, has_official_split=False))


def test_optuna_search_with_asha_tracks_every_trial(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path=str(tmp_path / "ray"),
                         tracking_uri=uri, num_samples=4, max_concurrent=2, cache_dir=str(tmp_path / "cache"))
    try:
        results, record = launch(SEARCH, opts)
    finally:
        ray.shutdown()
    assert len(results) == 4 and not any(r.error for r in results)
    client = MlflowClient(uri)
    children = child_runs(client, record)
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}
    lrs = {float(c.data.params["lr"]) for c in children}
    assert len(lrs) == 4 and all(1e-4 <= lr <= 1e-2 for lr in lrs)
    epochs = [len(client.get_metric_history(c.info.run_id, "val/acc")) for c in children]
    assert all(1 <= e <= 3 for e in epochs)


@pytest.mark.parametrize("study", [SEARCH, load_study("cycle_gamma_search")], ids=lambda s: s.name)
def test_the_studys_asha_stops_a_worse_trial_at_its_first_rung(study, monkeypatch):
    """The scheduler the runner builds, fed results one trial after another (Tune's own
    calls, no Ray cluster): a trial worse than the one before it at the first rung is
    stopped there, before its last report; the better one runs to the end. Worse is lower
    accuracy, higher KID: a wrong mode keeps the worse trial and stops the better one."""
    monkeypatch.setenv("TUNE_DISABLE_STRICT_METRIC_CHECKING", "0")  # tune_config sets it; restored after
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path="", tracking_uri="")
    config = tune_config(study, opts)
    asha = config.scheduler
    asha.set_search_properties(config.metric, config.mode)
    better, worse = (0.6, 0.2) if study.mode == "max" else (0.01, 0.5)
    stopped_at = {}
    for trial_id, value in (("better", better), ("worse", worse)):
        trial = SimpleNamespace(trial_id=trial_id)
        asha.on_trial_add(None, trial)
        for iteration in range(1, asha._max_t + 1):
            action = asha.on_trial_result(None, trial, {"training_iteration": iteration, study.metric: value})
            if action == "STOP":
                break
        stopped_at[trial_id] = iteration
    assert asha._max_t >= 2
    assert stopped_at == {"better": asha._max_t, "worse": max(1, asha._max_t // 4)}

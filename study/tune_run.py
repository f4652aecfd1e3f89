"""Tune's side of a launch: its run config (searcher, scheduler, concurrency) and the
trainable with the resources a trial asks for."""

import os

from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from study import optuna_storage
from study.space import LaunchOptions, trial_resources
from study.spec import StudySpec
from study.trial import run_trial


def tune_config(study: StudySpec, opts: LaunchOptions, name: str = "optuna",
                 optuna_url: str | None = None) -> tune.TuneConfig:
    # The metric goes to Tune only where a searcher or scheduler acts on it: Tune then
    # demands it in every report, and a multi-stage trial (GAN, then classifier) has no
    # validation accuracy to report while its GAN trains.
    # reuse_actors: a trial after the first on a slot runs in the actor its predecessor
    # left, instead of paying a new worker process and its imports (torch, sklearn).
    # Trials share nothing else: each gets its own config, work
    # directory, watchdog and seeds (study.trial.run_trial).
    kwargs = {"max_concurrent_trials": opts.max_concurrent, "reuse_actors": True}
    if study.search == "optuna" or study.early_stopping:
        kwargs.update(metric=study.metric, mode=study.mode)
        # A trial's first stage (a GAN alone) may have no such metric to report yet: ASHA
        # and StagedOptunaSearch skip those reports, and Tune must not reject them.
        os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    if study.search == "optuna":
        # In a database the Optuna study outlives the launch: optuna-dashboard shows it, and
        # `optuna.load_study(study_name=<launch name>, storage=...)` reads it.
        optuna_db = optuna_storage.rdb_storage(optuna_url) if optuna_url else None
        kwargs["search_alg"] = StagedOptunaSearch(seed=0, study_name=name, storage=optuna_db)
        kwargs["num_samples"] = opts.num_samples or 20
    if study.early_stopping:
        config = {**study.base_config, **study.scales[opts.scale].config, **opts.overrides}
        if study.reports_per_trial is not None:
            reports = study.reports_per_trial(config)
        else:
            reports = sum(int(config.get(key, 30)) for key in study.budget_keys)
        kwargs["scheduler"] = ASHAScheduler(time_attr="training_iteration", max_t=reports,
                                            grace_period=max(1, reports // 4))
    return tune.TuneConfig(**kwargs)


class StagedOptunaSearch(OptunaSearch):
    """Optuna's searcher, fed only the reports that carry the metric: the intermediate
    values of a multi-stage trial start with the stage that measures it."""

    def on_trial_result(self, trial_id: str, result: dict):
        if self.metric in result:
            super().on_trial_result(trial_id, result)


def tune_trainable(study: StudySpec, opts: LaunchOptions):
    cpus, gpus = trial_resources(study, opts)
    fn = tune.with_parameters(run_trial, trainable_name=study.trainable)
    return tune.with_resources(fn, {"cpu": cpus, "gpu": gpus})

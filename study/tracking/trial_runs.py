"""One MLflow child run per Tune trial (or per member of a fused trial), written by the
driver's `TrialRunLogger` callback: a single writer for a local SQLite store however many
trials run, and a trial id mapped to its run by a tag looked up before any run is made, so a
retried or restored trial continues its own run and is never logged twice."""

import re
import tempfile
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.time import get_current_time_millis
from ray.tune import Callback

from study.fusing import MEMBERS_KEY, member_configs

def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


MEMBER_FAILED_TAG = "ferlab.member_failed"  # a fused member that failed alone (study.fusing)
LAST_STEP_TAG = "ferlab.last_step"  # the last report step a trial's run holds: resumed reports never log twice


class TrialRunLogger(Callback):
    """Tune callback that mirrors each trial into its own nested MLflow child run."""

    def __init__(self, tracking_uri: str, experiment_id: str, parent_run_id: str, tags: dict[str, str],
                 variant_keys: tuple[str, ...]):
        self.tracking_uri, self.experiment_id, self.parent_run_id = tracking_uri, experiment_id, parent_run_id
        self.tags, self.variant_keys = tags, variant_keys
        self.client = MlflowClient(tracking_uri)
        self.runs: dict[str, str] = {}
        self.done: set[str] = set()  # trials whose run had FINISHED before this process saw them
        self.logged: dict[str, int] = {}  # run id → the last report step it holds
        self.nodes: dict[str, str] = {}  # run id → its `ferlab.nodes` tag as last written

    # Tune pickles its RunConfig, callbacks included, and hands it back on Tuner.restore.
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("client", "runs", "done", "logged", "nodes")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.client = MlflowClient(self.tracking_uri)
        self.runs, self.done, self.logged, self.nodes = {}, set(), {}, {}

    def trial_tags(self, config: dict) -> dict[str, str]:
        """The row a trial belongs to, under plain names too, so the MLflow UI's search box
        takes `tags.variant = 'FESR_JL'`."""
        row = {"variant": "-".join(str(config.get(k)) for k in self.variant_keys),
               "seed": str(config.get("seed", 0)), "fold": str(config.get("fold", 0))}
        return {**self.tags, **row, **{f"ferlab.{k}": v for k, v in row.items()}}

    def keys(self, trial) -> list[tuple[str, int | None]]:
        """(run key, member index) of each run the trial feeds: itself, or each member of a
        fused trial (study.fusing), keyed `<trial id>/<index>`."""
        members = trial.config.get(MEMBERS_KEY)
        if members is None:
            return [(trial.trial_id, None)]
        return [(run_key(trial, i), i) for i in range(len(members))]

    def run_for(self, trial, member: int | None = None) -> str:
        key = run_key(trial, member)
        if key in self.runs:
            return self.runs[key]
        existing = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`ferlab.trial_id` = '{key}' and tags.`mlflow.parentRunId` = '{self.parent_run_id}'",
        )
        if existing and (existing[0].info.status == "FINISHED" or MEMBER_FAILED_TAG in existing[0].data.tags):
            # Tune's saved state lagged behind MLflow when the driver died: the trial is
            # done; FinishedTrialStopper stops it, and nothing more is logged. A fused
            # member that failed alone stays failed: its group's checkpoint says so.
            run_id = existing[0].info.run_id
            self.done.add(key)
        elif existing:
            run_id = existing[0].info.run_id
            self.client.update_run(run_id, status="RUNNING")
            self.logged[run_id] = int(existing[0].data.tags.get(LAST_STEP_TAG, -1))
        else:
            config = trial.config if member is None else member_configs(trial.config)[member]
            tags = {"mlflow.parentRunId": self.parent_run_id, "ferlab.role": "trial", "ferlab.trial_id": key,
                    **self.trial_tags(config)}
            if member is not None:
                tags["ferlab.fused_trial_id"] = trial.trial_id
            name = f"{tags['variant']} fold{tags['fold']} seed{tags['seed']}"  # reads like its table row
            run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
            run_id = run.info.run_id
            params = [Param(k, str(v)[:6000]) for k, v in flatten(config).items() if k != MEMBERS_KEY]
            self.client.log_batch(run_id, params=params)
            self.nodes[run_id] = ""
        self.runs[key] = run_id
        return run_id

    def live(self, trial) -> list[tuple[str, int | None]]:
        """The trial's runs still open here: (run id, member index)."""
        found = []
        for key, member in self.keys(trial):
            run_id = self.run_for(trial, member)
            if key not in self.done:
                found.append((run_id, member))
        return found

    def on_trial_start(self, iteration, trials, trial, **info):
        self.live(trial)

    def on_trial_restore(self, iteration, trials, trial, **info):
        self.live(trial)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        # The report's index within the trial, so the steps of a multi-stage trial (GAN,
        # pre-training, classifier) never collide; for a one-stage trial it is the epoch.
        step = int(result.get("training_iteration", 1)) - 1
        if "ferlab_members" not in result:
            self.log_report(trial, None, result, result, step)
            return
        for index, metrics in result["ferlab_members"].items():
            self.log_report(trial, int(index), metrics, result, step)
        for index, error in result.get("ferlab_failed", {}).items():
            self.member_failed(trial, int(index), error)

    def log_report(self, trial, member: int | None, metrics: dict, result: dict, step: int) -> None:
        now = get_current_time_millis()
        logged = [Metric(k, float(v), now, step) for k, v in metrics.items()
                  if "/" in k and isinstance(v, (int, float)) and not isinstance(v, bool)]
        logged += [Metric(k, float(metrics[k]), now, step) for k in ("best_epoch",) if k in metrics]
        logged += [Metric(name, float(metrics[k]), now, step) for k, name in headline_names(metrics).items()]
        run_id = self.run_for(trial, member)
        if run_key(trial, member) in self.done:
            return
        where = self.node_tags(run_id, result)
        if step <= self.logged.get(run_id, -1):
            # Restored from a checkpoint older than the last report logged (Tune's saved
            # state lags its results): the report re-runs, and its step keeps its first values.
            if where:
                self.client.log_batch(run_id, tags=where)
            return
        # One write per report: on a 2-core machine the driver's time is the trials' time.
        self.client.log_batch(run_id, metrics=logged, tags=[RunTag(LAST_STEP_TAG, str(step)), *where])
        self.logged[run_id] = step

    def member_failed(self, trial, member: int, error: str) -> None:
        """A fused member's own failure: its run ends FAILED, its group goes on."""
        run_id, key = self.run_for(trial, member), run_key(trial, member)
        if key in self.done:
            return
        self.client.log_batch(run_id, tags=[RunTag("ferlab.error", error[:500]), RunTag(MEMBER_FAILED_TAG, "true"),
                                            RunTag("ferlab.retries", str(trial.num_failures))])
        self.client.set_terminated(run_id, "FAILED")
        self.done.add(key)

    def node_tags(self, run_id: str, result: dict) -> list[RunTag]:
        """`ferlab.node_id` / `ferlab.hostname`: where the trial last ran; `ferlab.nodes`:
        every node it ran on, in order (a retried trial may move). Empty while the trial
        stays where the run's tags already say it is."""
        node = result.get("ferlab_node_id")
        if node is None:
            return []
        if run_id not in self.nodes:  # a run this process did not create: its tags so far
            self.nodes[run_id] = self.client.get_run(run_id).data.tags.get("ferlab.nodes", "")
        nodes = self.nodes[run_id]
        if nodes and nodes.split(",")[-1] == node:
            return []
        self.nodes[run_id] = nodes = f"{nodes},{node}" if nodes else node
        return [RunTag("ferlab.node_id", node), RunTag("ferlab.nodes", nodes),
                RunTag("ferlab.hostname", str(result.get("ferlab_hostname", "")))]

    def on_trial_complete(self, iteration, trials, trial, **info):
        live = self.live(trial)
        if not live:
            return
        checkpoint = trial.checkpoint
        if checkpoint is not None:
            with checkpoint.as_directory() as directory:
                for run_id, member in live:
                    artifacts = Path(directory) / "artifacts" / ("" if member is None else str(member))
                    if artifacts.is_dir():
                        self.client.log_artifacts(run_id, str(artifacts))
        for run_id, _ in live:
            self.client.set_tag(run_id, "ferlab.retries", str(trial.num_failures))
            self.client.set_terminated(run_id, "FINISHED")

    def on_trial_recover(self, iteration, trials, trial, **info):
        """A failed attempt that Tune will retry from the trial's last checkpoint."""
        summary = error_summary(trial)
        for run_id, _ in self.live(trial):
            self.client.set_tag(run_id, "ferlab.retries", str(trial.num_failures))
            self.client.set_tag(run_id, "ferlab.last_error", summary)

    def on_trial_error(self, iteration, trials, trial, **info):
        """Retries spent: the run ends FAILED with the error's last line as a tag and its
        full text as `error.txt` (each open member's run, for a fused trial)."""
        summary, text = error_summary(trial), error_text(trial)
        for run_id, _ in self.live(trial):
            self.client.set_tag(run_id, "ferlab.retries", str(trial.num_failures))
            self.client.set_tag(run_id, "ferlab.error", summary)
            if text:
                with tempfile.TemporaryDirectory() as tmp:
                    (Path(tmp) / "error.txt").write_text(str(text))
                    self.client.log_artifact(run_id, str(Path(tmp) / "error.txt"))
            self.client.set_terminated(run_id, "FAILED")


def run_key(trial, member: int | None) -> str:
    """The `ferlab.trial_id` of a trial's run, or of member `member`'s of a fused trial."""
    return trial.trial_id if member is None else f"{trial.trial_id}/{member}"


def headline_names(result: dict) -> dict[str, str]:
    """Report key → the name every study shares in MLflow for its headline test metrics:
    `test_acc`, `test_macro_f1`, `test_acc_<class>`. They are the numbers the tables use:
    those of the epoch chosen on validation (`test/acc_at_best_val`) where a trial reports
    them, else its final `test/acc`. A class is what also has a one-vs-rest accuracy."""
    suffix = "_at_best_val" if "test/acc_at_best_val" in result else ""
    names = {f"test/{k}{suffix}": f"test_{k}" for k in ("acc", "macro_f1") if f"test/{k}{suffix}" in result}
    for key in result:
        name = key[len("test/acc_"):len(key) - len(suffix)] if key.startswith("test/acc_") else ""
        if name and key.endswith(suffix) and f"test/ovr_acc_{name}{suffix}" in result:
            names[key] = f"test_acc_{name}"
    return names


def error_text(trial) -> str:
    """Every failure of the trial so far, as Tune wrote them (`error.txt`). Read from the
    driver's trial directory: when a retry is scheduled Tune has already cleared the
    trial's pointer to it."""
    local = Path(trial.local_path or "") / "error.txt"
    return local.read_text() if trial.local_path and local.exists() else str(trial.get_error() or "")


def error_summary(trial) -> str:
    """One line for a trial's latest failure: its last `SomeError: message` line, else the
    failure's first line (Ray's "The actor died unexpectedly …" for a killed worker)."""
    text = error_text(trial)
    block = text.rsplit("Failure # ", 1)[-1].splitlines()[1 if "Failure # " in text else 0:]
    lines = [line.strip() for line in block if line.strip()]
    raised = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Failure)\w*: ", line)]
    found = raised[-1] if raised else (lines[0] if lines else "(no error text recorded)")
    return found[:500]

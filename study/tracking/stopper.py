"""The stopper that keeps a resumed launch from running a finished trial again."""

from mlflow import MlflowClient
from ray.tune import Stopper

from study.tracking.trial_runs import MEMBER_FAILED_TAG


class FinishedTrialStopper(Stopper):
    """Stops, at its first report, a trial whose MLflow run had already FINISHED when this
    driver first saw it: after a driver crash, Tune's experiment state (saved every few
    seconds) may still call a finished trial running, and a resume would run it again."""

    def __init__(self, tracking_uri: str, experiment_id: str, parent_run_id: str):
        self.tracking_uri, self.experiment_id, self.parent_run_id = tracking_uri, experiment_id, parent_run_id
        self.status: dict[str, str | None] = {}

    def __getstate__(self):
        return {**self.__dict__, "status": {}}

    def __call__(self, trial_id: str, result: dict) -> bool:
        if trial_id not in self.status:
            self.status[trial_id] = self.status_of(trial_id)
        return self.status[trial_id] == "FINISHED"

    def status_of(self, trial_id: str) -> str | None:
        """The trial's run status; a fused trial's (study.fusing) is FINISHED once each of its
        members' runs has ended, FINISHED or failed alone."""
        client = MlflowClient(self.tracking_uri)
        parent = f"tags.`mlflow.parentRunId` = '{self.parent_run_id}'"
        runs = client.search_runs([self.experiment_id], f"tags.`ferlab.trial_id` = '{trial_id}' and {parent}")
        if runs:
            return runs[0].info.status
        members = client.search_runs([self.experiment_id], f"tags.`ferlab.fused_trial_id` = '{trial_id}' and {parent}")
        if members and all(r.info.status == "FINISHED" or MEMBER_FAILED_TAG in r.data.tags for r in members):
            return "FINISHED"
        return "RUNNING" if members else None

    def stop_all(self) -> bool:
        return False

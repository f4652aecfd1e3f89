"""MLflow side of a launch: one parent run per launch (store), one child run per Tune trial
(trial_runs), a stopper for trials already finished (stopper), and the tracking server with
its UI (server, `python -m study.tracking`)."""

# Tune pickles its callbacks and stoppers into the experiment state under their module paths;
# a launch started before they moved resumes through these names.
from study.tracking.stopper import FinishedTrialStopper  # noqa: F401
from study.tracking.trial_runs import TrialRunLogger  # noqa: F401

"""The launch's progress on the console, in place of Tune's own status tables and
per-trial result dumps (the launch runs Tune with `verbose=0`): a few lines when a trial
changes state, and while trials run with no change, after 30 s, then 60 s, 120 s, … at
most 10 min apart, so that a long launch stays short to read and a quiet one still shows
it is alive.

    [ 1:05] trials: 1 pending, 2 running, 0 done, 0 failed
            00000 fold=0,net=simple,seed=0  val/acc_best 0.412  (report 5)
"""

import time
from collections import Counter

from ray.tune import Callback

MAX_ROWS = 8  # running trials listed per update; the rest are counted
STATES = (("PENDING", "pending"), ("RUNNING", "running"), ("TERMINATED", "done"), ("ERROR", "failed"))


class ProgressLines(Callback):
    """`metric`: the study's key metric, shown for each running trial (a trial that has
    not reported it yet, e.g. a GAN stage before its classifier, shows a dash)."""

    def __init__(self, metric: str, first_s: float = 30.0, most_s: float = 600.0):
        self.metric, self.first_s, self.most_s = metric, first_s, most_s
        self.started = time.monotonic()
        self.last_printed = float("-inf")
        self.wait_s = first_s
        self.last_counts: tuple | None = None

    def __getstate__(self):
        # Tune pickles its callbacks with the experiment; a restored launch starts its own clock.
        return {"metric": self.metric, "first_s": self.first_s, "most_s": self.most_s}

    def __setstate__(self, state):
        self.__init__(state["metric"], state["first_s"], state["most_s"])

    def on_step_end(self, iteration, trials, **info):
        counts = status_counts(trials)
        now = time.monotonic()
        if counts != self.last_counts:
            self.wait_s = self.first_s
        elif counts[1] > 0 and now - self.last_printed >= self.wait_s:
            self.wait_s = min(2 * self.wait_s, self.most_s)
        else:
            return
        self.last_counts, self.last_printed = counts, now
        print(self.render(trials, counts, now - self.started), flush=True)

    def on_experiment_end(self, trials, **info):
        counts = status_counts(trials)
        if counts != self.last_counts:
            print(self.render(trials, counts, time.monotonic() - self.started), flush=True)

    def render(self, trials, counts: tuple, elapsed_s: float) -> str:
        minutes, seconds = divmod(int(elapsed_s), 60)
        text = f"[{minutes:2d}:{seconds:02d}] trials: " + ", ".join(
            f"{n} {word}" for n, (_, word) in zip(counts, STATES))
        other = len(trials) - sum(counts)
        if other:
            text += f", {other} paused"
        running = [t for t in trials if t.status == "RUNNING"]
        lines = [text] + [f"        {self.trial_line(t)}" for t in running[:MAX_ROWS]]
        if len(running) > MAX_ROWS:
            lines.append(f"        … and {len(running) - MAX_ROWS} more running")
        return "\n".join(lines)

    def trial_line(self, trial) -> str:
        result = trial.last_result or {}
        members = result.get("ferlab_members") or {}  # a fused trial: each member's, in order
        values = [m.get(self.metric) for _, m in sorted(members.items(), key=lambda kv: int(kv[0]))] if members \
            else [result.get(self.metric)]
        shown = " ".join(f"{v:.3f}" if isinstance(v, (int, float)) else "—" for v in values)
        reports = result.get("training_iteration", 0)
        tag = trial.experiment_tag.partition("_")[2] or trial.trial_id
        return f"{trial.trial_id.rsplit('_', 1)[-1]} {tag}  {self.metric} {shown}  (report {reports})"


def status_counts(trials) -> tuple:
    """(pending, running, done, failed)."""
    found = Counter(t.status for t in trials)
    return tuple(found[status] for status, _ in STATES)

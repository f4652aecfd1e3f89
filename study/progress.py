"""The launch's progress on the console, in place of Tune's own status tables and
per-trial result dumps (the launch runs Tune with `verbose=0`).

On a terminal, one live status (rich) redrawn in place: the trial counts, elapsed time,
an ETA from the trials finished so far, and each running trial's key metric. Elsewhere (CI,
a log file) a line when the launch starts and each time a trial finishes or fails (a start
alone, the next trial taking the freed slot, prints nothing), and while trials run with none
ending the status with its running trials after 60 s, then 120 s, 240 s, … at most 10 min
apart, so that a long launch stays short to read and a quiet one still shows it is alive.

    [ 1:05] trials: 1 pending, 2 running, 3 done, 0 failed · ETA 2:10
            00000 fold=0,net=simple,seed=0  val/acc_best 0.412  (report 5)
"""

import sys
import time
from collections import Counter

from ray.tune import Callback
from rich.console import Console
from rich.live import Live
from rich.text import Text

MAX_ROWS = 8  # running trials listed per update; the rest are counted
STATES = (("PENDING", "pending"), ("RUNNING", "running"), ("TERMINATED", "done"), ("ERROR", "failed"))


class ProgressLines(Callback):
    """`metric`: the study's key metric, shown for each running trial (a trial that has
    not reported it yet, e.g. a GAN stage before its classifier, shows a dash). `total`:
    the trials the launch will run, where Tune makes them as slots free up (a concurrency
    limit, a searcher) and so knows fewer; those not yet made count as pending. `label_keys`:
    the config keys that name a trial Tune made from a list of cells, which has no grid tag
    (`cell_label_keys`)."""

    def __init__(self, metric: str, first_s: float = 60.0, most_s: float = 600.0, total: int | None = None,
                 label_keys: tuple[str, ...] = ()):
        self.metric, self.first_s, self.most_s, self.total = metric, first_s, most_s, total
        self.label_keys = tuple(label_keys)
        self.started = time.monotonic()
        self.last_printed = float("-inf")
        self.wait_s = first_s
        self.last_ended: tuple | None = None  # (done, failed) when a line was last printed

    def __getstate__(self):
        # Tune pickles its callbacks with the experiment; a restored launch starts its own clock.
        return {"metric": self.metric, "first_s": self.first_s, "most_s": self.most_s, "total": self.total,
                "label_keys": self.label_keys}

    def __setstate__(self, state):
        self.__init__(state["metric"], state["first_s"], state["most_s"], total=state.get("total"),
                      label_keys=state.get("label_keys", ()))

    def on_step_end(self, iteration, trials, **info):
        counts = status_counts(trials, self.total)
        now = time.monotonic()
        if counts[2:] != self.last_ended:  # the start, or a trial ended: the status line alone
            self.wait_s = self.first_s
            text = self.status(trials, counts, now - self.started)
        elif counts[1] > 0 and now - self.last_printed >= self.wait_s:  # quiet: the running trials too
            self.wait_s = min(2 * self.wait_s, self.most_s)
            text = self.render(trials, counts, now - self.started)
        else:
            return
        self.last_ended, self.last_printed = counts[2:], now
        print(text, flush=True)

    def on_experiment_end(self, trials, **info):
        counts = status_counts(trials, self.total)
        if counts[2:] != self.last_ended:
            print(self.status(trials, counts, time.monotonic() - self.started), flush=True)

    def close(self) -> None:
        """Nothing to end: the lines are printed."""

    def status(self, trials, counts: tuple, elapsed_s: float) -> str:
        text = f"[{clock(elapsed_s)}] trials: " + ", ".join(f"{n} {word}" for n, (_, word) in zip(counts, STATES))
        total = max(len(trials), self.total or 0)
        other = total - sum(counts)
        if other:
            text += f", {other} paused"
        left = eta_s(elapsed_s, finished=counts[2] + counts[3], total=total)
        return text + (f" · ETA {clock(left)}" if left is not None else "")

    def render(self, trials, counts: tuple, elapsed_s: float) -> str:
        running = [t for t in trials if t.status == "RUNNING"]
        lines = [self.status(trials, counts, elapsed_s)] + [f"        {self.trial_line(t)}" for t in running[:MAX_ROWS]]
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
        label = ",".join(f"{k}={trial.config[k]}" for k in self.label_keys if k in trial.config)
        tag = trial.experiment_tag.partition("_")[2] or label or trial.trial_id
        return f"{trial.trial_id.rsplit('_', 1)[-1]} {tag}  {self.metric} {shown}  (report {reports})"


class ProgressLive(ProgressLines):
    """The same status on a terminal, redrawn in place (rich's Live display); what else
    the launch prints (Ray's worker logs) scrolls above it."""

    def __init__(self, metric: str, first_s: float = 60.0, most_s: float = 600.0, stream=None,
                 total: int | None = None, label_keys: tuple[str, ...] = ()):
        super().__init__(metric, first_s, most_s, total, label_keys)
        self.stream, self.live = stream, None

    def on_step_end(self, iteration, trials, **info):
        text = Text(self.render(trials, status_counts(trials, self.total), time.monotonic() - self.started))
        if self.live is None:
            self.live = Live(text, console=Console(file=self.stream or sys.stdout), auto_refresh=False)
            self.live.start(refresh=True)
        elif text != self.live.renderable:  # redrawn when it reads otherwise: at most about once a second
            self.live.update(text, refresh=True)

    def on_experiment_end(self, trials, **info):
        self.on_step_end(0, trials)
        self.close()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def progress_display(metric: str, stream=None, total: int | None = None,
                     label_keys: tuple[str, ...] = ()) -> ProgressLines:
    """A live status where the launch prints to a terminal, else lines."""
    stream = stream or sys.stdout
    if stream.isatty():
        return ProgressLive(metric, stream=stream, total=total, label_keys=label_keys)
    return ProgressLines(metric, total=total, label_keys=label_keys)


def cell_label_keys(cells: list[dict] | None) -> tuple[str, ...]:
    """The keys whose values tell a launch's cells apart, in the order the cells name them
    (a fused cell's `_members` left out: its members share a label)."""
    if not cells:
        return ()
    keys = dict.fromkeys(k for cell in cells for k in cell if not k.startswith("_"))
    return tuple(k for k in keys if len({repr(cell.get(k)) for cell in cells}) > 1)


def clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:2d}:{seconds:02d}"


def eta_s(elapsed_s: float, finished: int, total: int) -> float | None:
    """Time left if the trials still to finish take as long, on average, as those finished
    so far (the launch's concurrency included); None before the first one finishes."""
    if finished == 0 or total <= finished:
        return None
    return elapsed_s / finished * (total - finished)


def status_counts(trials, total: int | None = None) -> tuple:
    """(pending, running, done, failed); of `total` trials, those Tune has not made yet are pending."""
    found = Counter(t.status for t in trials)
    found["PENDING"] += max(0, (total or 0) - len(trials))
    return tuple(found[status] for status, _ in STATES)

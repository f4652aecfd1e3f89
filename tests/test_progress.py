"""The launch's progress display (study.progress) driven with stand-in trials, as Tune's
callback API hands them: lines for a log, a live status redrawn in place on a terminal
(a real pseudo-terminal)."""

import io
import os
from types import SimpleNamespace

import pickle

from study.progress import ProgressLines, ProgressLive, cell_label_keys, eta_s, progress_display


def trial(n, status, acc=None, reports=0):
    result = {"training_iteration": reports, **({"val/acc_best": acc} if acc is not None else {})}
    return SimpleNamespace(trial_id=f"ab12_{n:05d}", experiment_tag=f"{n}_seed={n}", status=status,
                           last_result=result)


def test_the_eta_scales_the_time_so_far_by_the_trials_left_per_trial_finished():
    assert eta_s(100.0, finished=2, total=6) == 200.0  # 50 s a finished trial, 4 to go
    assert eta_s(100.0, finished=0, total=6) is None and eta_s(100.0, finished=6, total=6) is None


def test_a_state_change_prints_one_line_and_a_quiet_spell_the_running_trials_too(capsys, monkeypatch):
    clock = iter([0.0, 10.0, 20.0, 50.0, 55.0])
    monkeypatch.setattr("study.progress.time.monotonic", lambda: next(clock))
    progress = ProgressLines("val/acc_best", first_s=30.0)  # started at 0 s
    trials = [trial(0, "RUNNING", 0.41, 5), trial(1, "TERMINATED", 0.5, 9), trial(2, "PENDING")]
    progress.on_step_end(1, trials)  # 10 s: a change
    progress.on_step_end(2, trials)  # 20 s: nothing new, not yet 30 s
    progress.on_step_end(3, trials)  # 50 s: 40 s quiet
    progress.on_step_end(4, trials)  # 55 s: the wait has doubled to 60 s
    assert capsys.readouterr().out.splitlines() == [
        "[ 0:10] trials: 1 pending, 1 running, 1 done, 0 failed · ETA  0:20",
        "[ 0:50] trials: 1 pending, 1 running, 1 done, 0 failed · ETA  1:40",
        "        00000 seed=0  val/acc_best 0.410  (report 5)"]


def test_a_trial_starting_in_a_freed_slot_adds_no_line(capsys, monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    monkeypatch.setattr("study.progress.time.monotonic", lambda: next(clock))
    progress = ProgressLines("val/acc_best")
    progress.on_step_end(1, [trial(0, "PENDING"), trial(1, "PENDING")])  # 1 s: the launch's first line
    progress.on_step_end(2, [trial(0, "RUNNING"), trial(1, "PENDING")])  # a start: nothing
    progress.on_step_end(3, [trial(0, "TERMINATED"), trial(1, "PENDING")])  # an end: a line
    progress.on_step_end(4, [trial(0, "TERMINATED"), trial(1, "RUNNING")])  # the next one starts: nothing
    progress.on_experiment_end([trial(0, "TERMINATED"), trial(1, "ERROR")])  # 5 s: it failed
    assert capsys.readouterr().out.splitlines() == [
        "[ 0:01] trials: 2 pending, 0 running, 0 done, 0 failed",
        "[ 0:03] trials: 1 pending, 0 running, 1 done, 0 failed · ETA  0:03",
        "[ 0:05] trials: 0 pending, 0 running, 1 done, 1 failed"]


def test_trials_tune_has_not_made_yet_count_as_pending_and_in_the_eta(capsys, monkeypatch):
    """Under a concurrency limit Tune makes a trial only when a slot frees: of a launch's 8,
    it knows 2 at first."""
    clock = iter([0.0, 10.0, 40.0])
    monkeypatch.setattr("study.progress.time.monotonic", lambda: next(clock))
    progress = ProgressLines("val/acc_best", total=8)
    progress.on_step_end(1, [trial(0, "RUNNING"), trial(1, "PENDING")])
    progress.on_step_end(2, [trial(0, "TERMINATED"), trial(1, "RUNNING")])
    assert capsys.readouterr().out.splitlines() == [
        "[ 0:10] trials: 7 pending, 1 running, 0 done, 0 failed",
        "[ 0:40] trials: 6 pending, 1 running, 1 done, 0 failed · ETA  4:40"]  # 40 s a trial, 7 to go


def test_a_trial_made_from_a_list_of_cells_is_named_by_what_tells_the_cells_apart():
    """A shared control or a fill hands Tune its cells as points to evaluate: Tune's tag is
    then the trial's number alone, and the line names it by the keys that differ."""
    cells = [{"arm": "baseline", "cycle_loss": "l1", "seed": 0},
             {"arm": "+disgust", "cycle_loss": "weighted", "gamma_max": 0.5, "seed": 0, "_members": [{"fold": 0}]},
             {"arm": "+disgust", "cycle_loss": "l1", "seed": 0, "_members": [{"fold": 1}]}]
    assert cell_label_keys(cells) == ("arm", "cycle_loss", "gamma_max") and cell_label_keys(None) == ()
    progress = pickle.loads(pickle.dumps(ProgressLines("val/acc_best", label_keys=cell_label_keys(cells))))
    # Tune pickles the callback with the experiment; the terminal's display comes back with its total and labels
    live = pickle.loads(pickle.dumps(ProgressLive("val/acc_best", stream=io.StringIO(), total=9, label_keys=("arm",))))
    assert (live.total, live.label_keys) == (9, ("arm",))
    made = SimpleNamespace(trial_id="ab12_00001", experiment_tag="1", status="RUNNING", config={**cells[1], "lr": 1e-3},
                           last_result={"training_iteration": 5, "val/acc_best": 0.41})
    assert progress.trial_line(made) == \
        "00001 arm=+disgust,cycle_loss=weighted,gamma_max=0.5  val/acc_best 0.410  (report 5)"
    # a grid trial keeps Tune's own tag
    assert progress.trial_line(SimpleNamespace(**{**vars(made), "experiment_tag": "1_seed=1"})).startswith("00001 seed=1 ")


def test_on_a_terminal_the_status_is_redrawn_in_place():
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert isinstance(progress_display("val/acc_best", stream=io.StringIO()), ProgressLines)
        progress = progress_display("val/acc_best", stream=terminal)
        assert isinstance(progress, ProgressLive)
        progress.on_step_end(1, [trial(0, "RUNNING", 0.25, 1), trial(1, "PENDING")])
        progress.on_step_end(2, [trial(0, "TERMINATED", 0.5, 4), trial(1, "RUNNING", 0.3, 1)])
        progress.on_experiment_end([trial(0, "TERMINATED", 0.5, 4), trial(1, "TERMINATED", 0.6, 4)])
        assert progress.live is None  # stopped: the report prints below it
    shown = b""
    while chunk := _read(leader):
        shown += chunk
    os.close(leader)
    text = shown.decode()
    assert "\x1b[" in text  # cursor control: the status is rewritten, not appended
    assert "trials: 0 pending, 0 running, 2 done, 0 failed" in text
    assert "1 pending, 1 running, 0 done" in text and "0 pending, 1 running, 1 done" in text  # each state drawn


def _read(fd: int) -> bytes:
    import select

    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end is closed
        return b""

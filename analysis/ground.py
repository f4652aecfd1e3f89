"""Where a paper measured a claim, and whether a launch of ours measured the same thing:
the rule that a claim gets a verdict only on its own dataset and protocol."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ground:
    """Where a paper measured a claim: its dataset and protocol in its own words, and what
    a launch of ours must be to measure the same thing: ``ours``, our dataset name holding
    the same data (None: we have none; ``SIMULATED``: the study draws the paper's own
    simulated data, whatever dataset the launch names), and ``params``, the run params the
    protocol fixes, each with the values that mean it (MLflow's strings; a param a run did
    not log reads "None")."""

    dataset: str
    protocol: str
    ours: str | None
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()  # "None": not logged, the trial's default

    def mismatch(self, runs) -> str | None:
        """None when every run measures what the paper measured, else the reason it does
        not, as a row prints it."""
        reason = f"the paper measured {self.dataset}, {self.protocol}"
        if self.ours is None:
            return reason
        if self.ours != SIMULATED:
            if "procedural" in runs and runs["procedural"].fillna(False).astype(bool).any():
                return reason
            if "dataset" not in runs or set(runs["dataset"].astype(str)) != {self.ours}:
                return reason
        for param, accepted in self.params:
            column = f"param.{param}"
            found = set(runs[column].fillna("None").astype(str)) if column in runs else {"None"}
            if not found <= set(accepted):
                return reason
        return None


SIMULATED = "*"  # Ground.ours of a study that draws the paper's own simulated data

"""Fused launches (a scale's `fuse`, `--fuse K`): the grid's cells that differ only in the
trainable's member axes (seed and fold; a classifier's learning rate too:
trainables.trials.registry) go K at a time into one Tune trial, whose training function trains them as one
stacked model (trainables.trials.registry.FUSED) and reports each member as its own trial:
its own MLflow child run, tags and metrics as unfused (study.tracking), its own failure.

A fused trial's config is the members' shared config plus the platform key `_members`,
the list of each member's values of those axes ({seed, fold}, …)."""

from study.spec import StudyError, StudySpec
from trainables.trials.registry import MEMBER_AXES
MEMBERS_KEY = "_members"


def check_fusable(study: StudySpec, fuse: int) -> None:
    """What refuses fusing without torch: a fuse below 1, a study that picks its trials one
    at a time. study.runner.check_groups asks the trainable about the rest."""
    if fuse < 1:
        raise StudyError(f"--fuse must be 1 or more (trials per fused group), got {fuse}")
    if fuse == 1:
        return
    if study.search != "grid" or study.early_stopping:
        raise StudyError(f"study {study.name!r} {'searches with Optuna' if study.search != 'grid' else 'stops early'}: "
                         "its trials are decided one at a time and cannot be grouped; launch it with --fuse 1")


def fused_cells(cells: list[dict], fuse: int, axes: tuple[str, ...] = MEMBER_AXES) -> list[dict]:
    """The cells grouped: cells alike but for the member `axes`, `fuse` at a time, in
    order; each group a cell of its shared keys plus `_members`."""
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        shared = {k: v for k, v in cell.items() if k not in axes}
        groups.setdefault(tuple(sorted((k, repr(v)) for k, v in shared.items())), []).append(cell)
    out = []
    for members in groups.values():
        shared = {k: v for k, v in members[0].items() if k not in axes}
        for start in range(0, len(members), fuse):
            chunk = members[start:start + fuse]
            out.append({**shared, MEMBERS_KEY: [{k: m[k] for k in axes if k in m} for m in chunk]})
    return out


def member_configs(config: dict) -> list[dict]:
    """Each member's trial config (platform keys kept) from a fused trial's config."""
    base = {k: v for k, v in config.items() if k != MEMBERS_KEY}
    return [{**base, **member} for member in config[MEMBERS_KEY]]

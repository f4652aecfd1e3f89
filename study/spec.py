"""What a study declares (`search_spaces/<study>.py` exports one `STUDY`), and how a study
is found by name."""

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import search_spaces

SCALES = ("smoke", "cpu", "paper")
REFERENCE_SCALE = "paper"

# Config keys a scale may lower without changing what is computed: widths and depths,
# image size, step / iteration / epoch counts, data subsets and sample caps, search sizes.
SIZE_KEYS = ("width", "*_width", "image_size", "*_blocks", "hidden", "epochs", "*_epochs", "steps", "*_steps",
             "*_iters", "report_every", "class_fraction", "*_max_*", "max_*", "eval_samples", "svm_trials",
             "inner_folds", "n_*")


@dataclass(frozen=True)
class Scale:
    """A scale only shrinks sizes and step counts. `config` overrides the base config;
    `grid` overrides grid axes (fewer seeds, fewer nets); `synthfaces` sizes the built-in
    demo set; `folds` is how many of `n_folds` folds run on datasets without an official
    split; `cpus`/`gpus` per trial; `fuse` how many trials of one variant train as one
    stacked model (study.fusing), which changes where they run, not what they compute. Any other difference from the `paper` scale is a
    deviation, declared in `deviations` as {config key: why}; a study with an
    undeclared one does not load (`undeclared_deviations`), and every table made at the
    scale prints them."""

    config: dict = field(default_factory=dict)
    synthfaces: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    folds: int = 1
    n_folds: int = 10
    cpus: float = 1
    gpus: float = 0
    fuse: int = 1  # trials of one variant (seeds × folds) trained as one stacked model (study.fusing)
    deviations: dict[str, str] = field(default_factory=dict)


def is_size_key(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in SIZE_KEYS)


@dataclass(frozen=True)
class StudySpec:
    name: str
    description: str
    trainable: str
    base_config: dict
    grid: dict
    scales: dict[str, Scale]
    variant_keys: tuple[str, ...]
    metric: str = "val/acc_best"
    mode: str = "max"
    search: str = "grid"  # "grid" or "optuna"
    optuna_space: dict = field(default_factory=dict)
    early_stopping: bool = False
    # config keys whose sum is a trial's number of reports (ASHA's max_t) …
    budget_keys: tuple[str, ...] = ("epochs",)
    # … or a function of the trial config that says it (iteration-based trainables)
    reports_per_trial: Callable[[dict], int] | None = None
    tables: tuple[str, ...] = ()
    # (grid axis, value): a control arm that does not depend on the other variant axes
    # (cycle_gamma's `arm="baseline"`) runs once per seed and fold, with those axes at their
    # first value, and the tables pair every other arm's rows with it
    shared_control: tuple[str, str] | None = None
    # a trial is retried this many times (from its last checkpoint) before it counts as failed
    max_failures: int = 2
    # seconds without a report before a trial counts as hung (study.watchdog). Generous:
    # a trial's first report may wait on a shared GAN another trial is training.
    watchdog_s: float | None = 4 * 3600

    def __post_init__(self):
        missing = [s for s in SCALES if s not in self.scales]
        if missing:
            raise ValueError(f"study {self.name!r} declares no scale(s) {missing}")
        if self.search not in ("grid", "optuna"):
            raise ValueError(f"study {self.name!r}: search must be 'grid' or 'optuna', got {self.search!r}")
        for scale in SCALES:
            problems = undeclared_deviations(self, scale)
            if problems:
                raise ValueError(f"study {self.name!r}, scale {scale!r} differs from the {REFERENCE_SCALE!r} "
                                 f"recipe beyond sizes: {'; '.join(problems)}. A scale only shrinks sizes; "
                                 "declare any other change in Scale(deviations={key: reason})")

    def scale_config(self, scale: str) -> dict:
        """The trial config a scale sets before datasets and grid axes: base + scale."""
        return {**self.base_config, **self.scales[scale].config}

    def deviations(self, scale: str) -> dict[str, str]:
        """{config key: why} for the scale's declared differences from the paper's recipe."""
        return dict(self.scales[scale].deviations)


def undeclared_deviations(study: StudySpec, scale: str) -> list[str]:
    """What scale `scale` changes beyond sizes without declaring it: a non-size key set to
    another value than the `paper` scale's, a size key raised above it, a grid value the
    paper's grid lacks; and declarations of keys that do not differ (stale reasons)."""
    ours, paper = study.scale_config(scale), study.scale_config(REFERENCE_SCALE)
    declared = study.scales[scale].deviations
    problems, differing = [], set()
    for key in sorted(set(ours) | set(paper)):
        mine, theirs = ours.get(key), paper.get(key)
        if mine == theirs:
            continue
        differing.add(key)
        shrinks = is_size_key(key) and (mine <= theirs if _numbers(mine, theirs) else
                                        theirs is None and mine is not None and _is_cap(key))
        if not shrinks and key not in declared:
            problems.append(f"{key}={mine!r} (paper: {theirs!r})")
    grid, paper_grid = {**study.grid, **study.scales[scale].grid}, {**study.grid, **study.scales[REFERENCE_SCALE].grid}
    for axis, values in grid.items():
        if axis in study.optuna_space:  # searched, not a grid axis: a scale's values do not apply
            continue
        extra = [v for v in values if v not in paper_grid.get(axis, [])]
        if extra:
            differing.add(axis)
            if axis not in declared:
                problems.append(f"grid {axis} values {extra} (paper: {paper_grid.get(axis)})")
    stale = sorted(set(declared) - differing)
    if stale:
        problems.append(f"deviations declared for {stale}, which do not differ from the paper scale")
    return problems


def _is_cap(key: str) -> bool:
    """A size key whose unset value means "no cap" (all the data), so any number shrinks it."""
    return fnmatch.fnmatchcase(key, "*max_*") or key in ("class_fraction", "eval_samples")


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


class StudyError(ValueError):
    """An unknown study or scale, or a study module without a STUDY."""


def list_studies() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(search_spaces.__path__) if not m.name.startswith("_"))


def load_study(name: str) -> StudySpec:
    if name not in list_studies():
        raise StudyError(f"unknown study {name!r}; known studies: {', '.join(list_studies())}")
    module = importlib.import_module(f"search_spaces.{name}")
    study = getattr(module, "STUDY", None)
    if not isinstance(study, StudySpec):
        raise StudyError(f"search_spaces/{name}.py must export STUDY = StudySpec(...)")
    return study

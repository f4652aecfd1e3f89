"""What a study declares (`search_spaces/<study>.py` exports one `STUDY`), and how a study
is found by name."""

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import search_spaces

SCALES = ("smoke", "cpu", "paper")


@dataclass(frozen=True)
class Scale:
    """A scale only shrinks sizes and step counts. `config` overrides the base config;
    `grid` overrides grid axes (fewer seeds, fewer nets); `synthfaces` sizes the built-in
    demo set; `folds` is how many of `n_folds` folds run on datasets without an official
    split; `cpus`/`gpus` per trial."""

    config: dict = field(default_factory=dict)
    synthfaces: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    folds: int = 1
    n_folds: int = 10
    cpus: float = 1
    gpus: float = 0


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

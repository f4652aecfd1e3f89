"""What a study declares (`search_spaces/<study>.py` exports one `STUDY`), and how a study
is found by name."""

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import search_spaces
from study.recipe import Recipe, RecipeLine, recipe_lines
from trainables.data.synthfaces import SynthOptions

SCALES = ("smoke", "cpu", "paper")
REFERENCE_SCALE = "paper"

# Config keys a scale may lower without changing what is computed, named one by one (a
# pattern such as `n_*` also let `n_critic`, `n_generated` and `n_minor` through, which
# change what is computed): widths and depths, step / iteration / epoch counts, data
# subsets and sample caps, search sizes, and the demo set's size (`synthfaces.<option>`).
# Not sizes, so declared when a scale changes them: `image_size` (the FESGAN nets' stride-2
# stack and heads follow it: 128 px has five stride-2 convolutions, 48 px four and a 3×3
# class head, another architecture; the classifier nets take a fixed size), `n_critic`
# (critic updates per generator update), `n_generated` and `n_minor` (how many points the
# toy GAN adds, how rare its minority class is), `synthfaces.class_weights`, and
# `gan_blocks` / `stargan_blocks` (residual blocks of the generators: fewer is a layer
# removed, another architecture).
SIZE_KEYS = frozenset({
    "width", "gan_width", "judge_width", "r_width", "identity_width", "source_width", "stargan_width", "dcgan_width",
    "hidden",
    "epochs", "gan_epochs", "judge_epochs", "identity_epochs", "dcgan_epochs", "pretrain_epochs", "finetune_epochs",
    "steps", "max_passes", "gan_steps", "cross_steps", "finetune_steps", "pretrain_iters", "joint_iters",
    "source_iters", "stargan_iters", "report_every",
    "class_fraction", "dcgan_max_images", "svm_max_train", "eval_samples", "svm_trials", "inner_folds",
    "synthfaces.n_images", "synthfaces.n_subjects",
})
# size keys whose unset value means "no cap" (all the data), so any number shrinks them
CAP_KEYS = frozenset({"class_fraction", "dcgan_max_images", "svm_max_train", "eval_samples", "max_passes"})


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
    synthfaces: dict = field(default_factory=dict)  # compared as `synthfaces.<option>` keys
    grid: dict = field(default_factory=dict)
    folds: int = 1
    n_folds: int = 10
    cpus: float = 1
    gpus: float = 0
    fuse: int = 1  # trials of one variant (seeds × folds) trained as one stacked model (study.fusing)
    deviations: dict[str, str] = field(default_factory=dict)


def is_size_key(key: str) -> bool:
    return key in SIZE_KEYS


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
    # (grid axis, value, …): control arms that do not depend on the other variant axes
    # (cycle_gamma's `arm="baseline"` and `arm="oversample+disgust"`) run once per seed and
    # fold, with those axes at their first value, and the tables pair every other arm's rows
    # with them
    shared_control: tuple[str, ...] | None = None
    # (grid axis, value, axes): where the axis has that value, those axes do not enter the
    # trial (cycle_gamma: γ in the plain L1 cycle loss), so their cells would train the same
    # thing again: the grid runs them once, at those axes' first values
    inert_axes: tuple[tuple[str, object, tuple[str, ...]], ...] = ()
    # {config key: why} for differences from the paper's protocol that every scale makes, the
    # `paper` scale included (so the scale checker, which compares scales with it, never sees
    # them); printed with each scale's own deviations
    protocol_deviations: dict[str, str] = field(default_factory=dict)
    # a trial is retried this many times (from its last checkpoint) before it counts as failed
    max_failures: int = 2
    # seconds without a report before a trial counts as hung (study.watchdog). Generous:
    # a trial's first report may wait on a shared GAN another trial is training.
    watchdog_s: float | None = 4 * 3600
    # the recipes of the papers the study is built from (study/recipes.py): the `paper`
    # scale equals each, or declares each difference in its deviations
    recipes: tuple[Recipe, ...] = ()

    @property
    def runs_some_cells_once(self) -> bool:  # fewer cells than the axes' product (space.grid_cells)
        return self.shared_control is not None or bool(self.inert_axes)

    def __post_init__(self):
        missing = [s for s in SCALES if s not in self.scales]
        if missing:
            raise ValueError(f"study {self.name!r} declares no scale(s) {missing}")
        if self.search not in ("grid", "optuna"):
            raise ValueError(f"study {self.name!r}: search must be 'grid' or 'optuna', got {self.search!r}")
        for axis, _, inert in self.inert_axes:
            unknown = [k for k in (axis, *inert) if k not in self.grid]
            if unknown:
                raise ValueError(f"study {self.name!r}: inert_axes names {unknown}, which are not grid axes "
                                 f"({sorted(self.grid)})")
        # the paper scale against its paper's recipe reads the trainable's defaults: check_recipe
        for scale in (s for s in SCALES if s != REFERENCE_SCALE):
            problems = undeclared_deviations(self, scale)
            if problems:
                raise ValueError(f"study {self.name!r}, scale {scale!r} differs from the {REFERENCE_SCALE!r} "
                                 f"recipe beyond sizes: {'; '.join(problems)}. A scale only shrinks sizes; "
                                 "declare any other change in Scale(deviations={key: reason})")

    def check_recipe(self) -> None:
        """Refuse a `paper` scale that differs from its paper's recipe (study/recipes.py)
        undeclared, or declares a difference there is not. Kept out of loading: it runs the
        trainable's validator (trainables.configs, no torch) on the paper scale's config;
        the launch and the dry run call it, and tests/test_recipes.py runs it for every study."""
        problems = undeclared_deviations(self, REFERENCE_SCALE)
        if problems:
            raise StudyError(f"study {self.name!r}, scale {REFERENCE_SCALE!r} differs from its paper's recipe "
                             f"(study/recipes.py): {'; '.join(problems)}. Follow the paper, or declare each "
                             "difference with its reason in Scale(deviations={key: reason})")

    def scale_config(self, scale: str) -> dict:
        """The trial config a scale sets before datasets and grid axes: base + scale."""
        return {**self.base_config, **self.scales[scale].config}

    def deviations(self, scale: str) -> dict[str, str]:
        """{config key: why} for the scale's declared differences from the paper's recipe:
        the study's own differences from the paper's protocol at every scale, the `paper`
        scale's own (from the recipe), then the scale's (from the `paper` scale), which
        replace the paper scale's reason for a key both declare."""
        return {**self.protocol_deviations, **self.scales[REFERENCE_SCALE].deviations,
                **self.scales[scale].deviations}

    def recipe(self) -> list[tuple[Recipe, list[RecipeLine]]]:
        """Each recipe beside the `paper` scale: (recipe, one line per field it trains)."""
        return [(recipe, paper_beside_recipe(self, recipe)) for recipe in self.recipes]


def undeclared_deviations(study: StudySpec, scale: str) -> list[str]:
    """What scale `scale` changes beyond sizes without declaring it: a non-size key set to
    another value than the `paper` scale's, a size key raised above it, a grid value the
    paper's grid lacks; and declarations of keys that do not differ (stale reasons). The
    demo set's options count as keys `synthfaces.<option>`, each at its resolved value."""
    ours = {**study.scale_config(scale), **synthfaces_keys(study.scales[scale])}
    paper = {**study.scale_config(REFERENCE_SCALE), **synthfaces_keys(study.scales[REFERENCE_SCALE])}
    declared = study.scales[scale].deviations
    problems, differing = [], set()
    if scale == REFERENCE_SCALE:
        for recipe in study.recipes:
            for line in paper_beside_recipe(study, recipe):
                if line.differs and line.key not in differing:
                    differing.add(line.key)
                    if line.key not in declared:
                        problems.append(f"{line.key}={line.ours!r} (recipe: {line.paper.value!r}, {line.paper.source})")
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
        problems.append(f"deviations declared for {stale}, which do not differ from the "
                        + ("paper's recipe" if scale == REFERENCE_SCALE else "paper scale"))
    return problems


def paper_beside_recipe(study: StudySpec, recipe: Recipe) -> list[RecipeLine]:
    """The recipe's fields beside the `paper` scale's trial config as its trainable reads
    it (defaults filled): at the first value of each grid axis, or the recipe's `cells`."""
    from trainables.core.config import flat_values
    from trainables.trials.registry import get_validator

    grid = {**study.grid, **study.scales[REFERENCE_SCALE].grid}
    outside = {axis: value for axis, value in recipe.cells.items() if value not in grid.get(axis, [])}
    if outside:
        raise ValueError(f"study {study.name!r}: recipe {recipe.paper!r} is for cells {outside}, which the paper "
                         f"scale's grid does not hold")
    axes = {axis: values[0] for axis, values in grid.items() if axis not in study.optuna_space}
    config = {**study.scale_config(REFERENCE_SCALE), **axes, **recipe.cells}
    parse = get_validator(study.trainable)
    searched = study.optuna_space
    free = {axis: values for axis, values in grid.items() if axis not in recipe.cells and axis not in searched}
    return recipe_lines(recipe, study.trainable, flat_values(parse(config)), free, searched)


def _is_cap(key: str) -> bool:
    """A size key whose unset value means "no cap" (all the data), so any number shrinks it."""
    return key in CAP_KEYS


def synthfaces_keys(scale: Scale) -> dict:
    """{`synthfaces.<option>`: value} of the demo set a scale draws, every option resolved
    (defaults filled, class weights as the loader reads them), so two scales compare
    option by option."""
    options = SynthOptions.parse(dict(scale.synthfaces))
    return {f"synthfaces.{key}": value for key, value in vars(options).items()}


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

"""The param space of a launch — base config, scale, dataset, grid axes and the command
line's overrides — its cells, and the check of every cell against the trainable's
validator. Neither Ray nor torch is imported here: the dry run and the launch's early
refusals answer from this module in about a second; study.runner hands the space to Tune."""

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from study import checkpoint_pacing
from study.domains import is_domain
from study.faults import parse_faults
from study.spec import StudyError, StudySpec
from trainables.configs.data import DataConfig, resolve_protocol
from trainables.trials.registry import UnknownTrainable, get_validator


PLATFORM_KEYS = {"_watchdog_s": "seconds a trial may stay silent", "_fault": "tests only",
                 "_checkpoint_s": "seconds between a trial's checkpoints, 0 for every report"}


@dataclass(frozen=True)
class LaunchOptions:
    scale: str
    dataset: str
    data_root: str | None
    storage_path: str
    tracking_uri: str
    num_samples: int | None = None
    max_concurrent: int | None = None
    address: str | None = None
    cache_dir: str | None = None
    overrides: dict = field(default_factory=dict)  # trial config keys set on the command line
    cpus_per_trial: float | None = None  # default: the study's scale
    gpus_per_trial: float | None = None
    name: str | None = None  # the Tune experiment's name (default: study-dataset-scale-time)
    optuna_storage: str | None = None  # default: beside the MLflow store (study/optuna_storage.py)
    retries: int | None = None  # default: the study's max_failures
    fuse: int | None = None  # trials per fused group (study.fusing); default: the study's scale


def trial_space(study: StudySpec, opts: LaunchOptions, has_official_split: bool) -> dict:
    """The param space Tune samples: base config, scale overrides, dataset, grid axes.
    A command-line override (`--set`) wins over all of them; on a grid axis it leaves
    that one value, or, given a list, those values."""
    scale = study.scales[opts.scale]
    cpus, _ = trial_resources(study, opts)
    config = {**study.base_config, **scale.config, "dataset": opts.dataset, "threads": max(1, int(cpus))}
    if study.watchdog_s:
        config["_watchdog_s"] = study.watchdog_s
    config["_checkpoint_s"] = checkpoint_pacing.EVERY_S
    if opts.data_root:
        config["data_root"] = str(Path(opts.data_root).resolve())
    if opts.cache_dir:
        config["cache_dir"] = str(Path(opts.cache_dir).resolve())
    options = dataset_options(study, opts)
    if options:
        config["dataset_options"] = options
    grid = {**study.grid, **scale.grid}
    if study.search == "grid" and opts.num_samples:
        # Repeating a seeded grid point would only repeat its numbers: samples are seeds.
        grid["seed"] = list(range(opts.num_samples))
    if not has_official_split:
        grid["fold"] = list(range(scale.folds))
        config["n_folds"] = scale.n_folds
    config.update({k: _resolved(k, v) for k, v in opts.overrides.items()})
    grid = {key: (_axis(opts.overrides[key]) if key in opts.overrides else values) for key, values in grid.items()}
    if study.search == "grid":
        config.update({key: {"grid_search": list(values)} for key, values in grid.items()})  # tune.grid_search's form
    else:
        config.update({key: values[0] for key, values in grid.items()})
        config.update({k: v for k, v in study.optuna_space.items() if k not in opts.overrides})
    return config


def dataset_options(study: StudySpec, opts: LaunchOptions) -> dict:
    """The loader options the trials load the launch's dataset with (the command line's
    `dataset_options`, else the scale's synthfaces options, else the study's), so that the
    driver's preload reads the same data the trials will."""
    scale = study.scales[opts.scale]
    found = {**study.base_config, **scale.config}.get("dataset_options", {})
    if opts.dataset == "synthfaces" and scale.synthfaces:
        found = dict(scale.synthfaces)
    found = opts.overrides.get("dataset_options", found)
    if not isinstance(found, dict):
        raise StudyError(f"dataset_options must be a mapping of the dataset loader's options, e.g. "
                         f"--set 'dataset_options={{\"views\": [\"S\", \"HL\"]}}', got {found!r}")
    return found


def _axis(value) -> list:
    if value == []:
        raise StudyError("an empty list on a grid axis (--set KEY=[]) would run no trials; give its values")
    return list(value) if isinstance(value, list) else [value]


def _resolved(key: str, value):
    """An override naming a local path (`finetune_root`, `inception_weights`) made absolute:
    trials do not run in the launch's working directory."""
    if key.endswith(("_root", "_weights", "_dir")) and isinstance(value, str) and Path(value).exists():
        return str(Path(value).resolve())
    if key.endswith("_roots") and isinstance(value, dict):  # dataset name → path
        return {name: _resolved("_root", path) for name, path in value.items()}
    return value


def check_configs(study: StudySpec, space: dict, data=None) -> None:
    """Validate every grid point (and one sample of each searched domain) in the driver, in
    the order Tune runs them, so a bad study fails at once with the trainable's message about
    the first bad trial Tune would start, before any run exists.
    With the launch's `data`, also make each distinct split its trials will make of it
    (check_split)."""
    try:
        parse = get_validator(study.trainable)
    except UnknownTrainable as err:
        raise StudyError(f"study {study.name!r}: {err}") from None
    axes, cells = grid_cells(space)
    fixed = {k: (v.sample() if is_domain(v) else v) for k, v in space.items() if k not in axes}
    made: set = set()
    for cell in cells:
        config, platform = platform_keys({**fixed, **cell})
        unknown = sorted(set(platform) - set(PLATFORM_KEYS))
        if unknown:
            raise StudyError(f"unknown platform key(s) {unknown}: keys starting with '_' are the platform's; "
                             f"known: {', '.join(f'{k} ({v})' for k, v in PLATFORM_KEYS.items())}")
        parse_faults(platform.get("_fault"))
        _check_checkpoint_s(platform.get("_checkpoint_s", 0))
        parsed = parse(config)
        if data is not None:
            check_split(data, data_section(parsed), config.get("seed", 0), made)


def data_section(parsed) -> DataConfig | None:
    """The DataConfig inside a trainable's parsed config, if it has one."""
    if isinstance(parsed, DataConfig):
        return parsed
    for f in dataclasses.fields(parsed) if dataclasses.is_dataclass(parsed) else ():
        found = data_section(getattr(parsed, f.name))
        if found is not None:
            return found
    return None


def check_split(data, cfg: DataConfig | None, seed: int, made: set) -> None:
    """Make the split a trial of `cfg` makes of the launch's dataset, once per distinct
    split (`made` holds those made): one that cannot be made (more subject folds than the
    data has subjects) fails every trial alike, so the launch refuses it before any run
    instead of Tune retrying it in each."""
    from trainables.data import make_splits  # scikit-learn: the launch's path, not the dry run's

    if cfg is None or cfg.dataset != data.name:
        return
    protocol = resolve_protocol(cfg, data)
    key = (protocol, cfg.fold, cfg.n_folds, cfg.val_fraction, cfg.class_fraction, seed)
    if key not in made:
        make_splits(data, protocol, seed=seed, fold=cfg.fold, n_folds=cfg.n_folds, val_fraction=cfg.val_fraction,
                    class_fraction=cfg.class_fraction)
        made.add(key)


def trial_resources(study: StudySpec, opts: LaunchOptions) -> tuple[float, float]:
    """(CPUs, GPUs) per trial: the command line's, else the study scale's. A GPU fraction
    packs several small trials onto one GPU."""
    scale = study.scales[opts.scale]
    cpus = scale.cpus if opts.cpus_per_trial is None else opts.cpus_per_trial
    gpus = scale.gpus if opts.gpus_per_trial is None else opts.gpus_per_trial
    if cpus < 0 or gpus < 0 or cpus + gpus == 0 or (gpus > 1 and gpus != int(gpus)):
        raise StudyError(f"a trial needs CPUs ≥ 0 and GPUs ≥ 0, not both 0, and a GPU count above 1 must be whole; "
                         f"got --cpus-per-trial {cpus:g} --gpus-per-trial {gpus:g}")
    return cpus, gpus


def launch_deviations(study: StudySpec, opts: LaunchOptions) -> dict[str, str]:
    """{key: why} for everything this launch changes from the paper's recipe: the scale's
    declared deviations, and the trial config keys set on the command line."""
    found = study.deviations(opts.scale)
    for key, value in opts.overrides.items():
        if not key.startswith("_"):
            found[key] = f"set on the command line to {json.dumps(value, default=str)}" + (
                f" (the scale's reason for its own value: {found[key]})" if key in found else "")
    return found


def grid_cells(space: dict, study: StudySpec | None = None) -> tuple[list[str], list[dict]]:
    """(the grid axes, every grid point as {axis: value}) of a Tune param space, in the order
    Tune runs the grid (the axes by name, the first varying fastest); with a study's
    `shared_control`, each of its control arms once per combination of the axes that are
    not variant keys (seed, fold), the variant axes at their first value; with its
    `inert_axes`, the cells that differ only in an axis their trial does not use, once."""
    axes = [k for k, v in space.items() if isinstance(v, dict) and "grid_search" in v]
    slowest_first = sorted(axes, reverse=True)
    points = (dict(zip(slowest_first, p)) for p in itertools.product(*(space[k]["grid_search"] for k in slowest_first)))
    cells = [{k: point[k] for k in axes} for point in points]
    if study is None or not study.runs_some_cells_once:
        return axes, cells
    first = {k: space[k]["grid_search"][0] for k in axes}
    unique = {}
    for cell in cells:
        cell = _run_once_form(cell, study, first)
        unique.setdefault(cell_key(cell, axes), cell)
    return axes, list(unique.values())


def _run_once_form(cell: dict, study: StudySpec, first: dict) -> dict:
    """The cell as the grid runs it: a shared control's other variant axes, and the axes
    inert where it is, at their first values."""
    if study.shared_control is not None:
        axis, *controls = study.shared_control
        if cell.get(axis) in controls:
            cell = {**cell, **{k: first[k] for k in study.variant_keys if k in first and k != axis}}
    for axis, value, inert in study.inert_axes:
        if cell.get(axis) == value:
            cell = {**cell, **{k: first[k] for k in inert if k in first}}
    return cell


def cell_key(cell: dict, axes: list[str]) -> tuple[str, ...]:
    """A cell as MLflow params hold it (strings)."""
    return tuple(str(cell[k]) for k in axes)


def _check_checkpoint_s(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise StudyError(f"_checkpoint_s is the seconds between a trial's checkpoints (0: at every report), "
                         f"got {value!r}")


def platform_keys(config: dict) -> tuple[dict, dict]:
    """(the training function's config, the platform's `_` keys)."""
    return ({k: v for k, v in config.items() if not k.startswith("_")},
            {k: v for k, v in config.items() if k.startswith("_")})

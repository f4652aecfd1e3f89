"""The data sections of a trial config: which dataset a trial trains and is tested on and
how it is split (`DataConfig`), and the other dataset it is tested on, if any
(`CrossConfig`, trainables.core.cross_data)."""

from dataclasses import dataclass, field
from pathlib import Path

from trainables.core.config import ConfigError
from trainables.data import list_datasets


@dataclass(frozen=True)
class DataConfig:
    """Which data a trial trains and is tested on, and how it is split: the data section
    of every trial config that loads a dataset for a classifier (its flat keys keep these
    names). The split's seed is the trial's."""

    dataset: str = "synthfaces"
    data_root: str | None = None
    dataset_options: dict = field(default_factory=dict)
    cache_dir: str | None = None
    protocol: str = "auto"
    fold: int = 0
    n_folds: int = 10
    val_fraction: float = 0.1
    class_fraction: float | None = None
    drop_duplicates: bool = False  # train images with an exact or near copy in val or test are left out
    # val and test images with an exact copy in the training split (before `class_fraction`
    # sampling, so every arm and seed of a split is tested on the same images) are left out:
    # an arm that repeats training images (oversampling) has memorised them. Logged as
    # data/n_dropped_val, data/n_dropped_test
    drop_eval_duplicates: bool = False


PROTOCOLS = ("auto", "official", "kfold", "subject_kfold")


def resolve_protocol(cfg: DataConfig, data) -> str:
    """'auto' takes the official split where there is one, else subject-independent folds
    where subjects are known, else stratified folds."""
    if cfg.protocol != "auto":
        return cfg.protocol
    if data.usage is not None:
        return "official"
    return "subject_kfold" if data.subjects is not None else "kfold"


def check_cross_dataset(name: str, root: str | None) -> None:
    """A registered dataset, with an existing root unless it is built in (synthfaces)."""
    if name not in list_datasets():
        raise ConfigError(f"cross_dataset {name!r} is not a registered dataset; known: {', '.join(list_datasets())}")
    if name != "synthfaces" and not (root and Path(root).exists()):
        raise ConfigError(f"cross_dataset {name!r} needs cross_root, the folder or file of its data; got {root!r}, "
                          "which does not exist")


@dataclass(frozen=True)
class CrossConfig:
    """The baseline study's cross test (flat keys, a section of its trial config)."""

    cross_dataset: str | None = None  # None: no cross test
    cross_root: str | None = None
    cross_options: dict | None = None  # None: see cross_dataset_options
    # optimizer steps of fine-tuning on the cross dataset's training split; 0: blind test only
    cross_steps: int = 0
    # the cross dataset's split when it has no official one: subject-independent folds
    # where it has subject ids (else stratified); 5 folds test on 20 % (Zhu et al.'s JAFFE)
    cross_fold: int = 0
    cross_n_folds: int = 5

    def __post_init__(self):
        if self.cross_dataset is None:
            if self.cross_root is not None or self.cross_options is not None:
                raise ConfigError("cross_root/cross_options are given without cross_dataset (--cross-dataset NAME)")
            return
        check_cross_dataset(self.cross_dataset, self.cross_root)
        if self.cross_steps < 0:
            raise ConfigError(f"cross_steps (fine-tuning steps on {self.cross_dataset}) must be ≥ 0, "
                              f"got {self.cross_steps}")
        if not 0 <= self.cross_fold < self.cross_n_folds or self.cross_n_folds < 2:
            raise ConfigError(f"cross_fold must be in 0..cross_n_folds-1 with cross_n_folds ≥ 2, got "
                              f"cross_fold={self.cross_fold}, cross_n_folds={self.cross_n_folds}")

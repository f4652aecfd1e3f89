"""The dcgan_svm trainable's config (trainables.trials.dcgan_svm): the three sides' data,
the DCGAN's pre-training (`PretrainOptions`, trainables.synthetic.dcgan_pretrain) and the
SVM's search."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from trainables.core.config import ConfigError, from_flat, section
from trainables.data import list_datasets


@dataclass(frozen=True)
class PretrainOptions:
    epochs: int = 300  # the paper's
    batch_size: int = 128
    lr: float = 2e-4
    beta1: float = 0.9  # the paper's Adam β1 ("β_1 … 0.9"), not Radford's 0.5
    width: float = 1.0
    size: int = 64
    seed: int = 0
    eval_samples: int = 500


FEATURES = ("dcgan", "pixels", "cnn")


DCGAN_KEYS = ("epochs", "batch_size", "lr", "beta1", "width", "size", "seed")  # flat keys dcgan_<field>


@dataclass(frozen=True)
class DCGANSVMConfig:
    features: str = "dcgan"
    dataset: str = "synthfaces"
    data_root: str | None = None
    dataset_options: dict = dataclasses.field(default_factory=dict)
    test_dataset: str | None = None
    test_root: str | None = None
    pretrain_dataset: str | None = None
    pretrain_root: str | None = None
    data_roots: dict = dataclasses.field(default_factory=dict)  # dataset name → its folder or file, for any side
    cache_dir: str | None = None
    protocol: str = "auto"
    fold: int = 0
    n_folds: int = 10
    seed: int = 0
    # the DCGAN's pre-training; its seed (`dcgan_seed`) is one per study, not per trial seed
    # (the seeds vary the SVM's folds and search)
    dcgan: PretrainOptions = section(PretrainOptions, flat={f: f"dcgan_{f}" for f in DCGAN_KEYS})
    dcgan_max_images: int | None = None  # the DCGAN's: a seeded sample of the pre-training images (CPU scales)
    svm_trials: int = 30
    inner_folds: int = 10
    kernel: str = "rbf"
    svm_max_train: int | None = None  # a seeded stratified sample of the SVM's training side
    pixel_size: int = 32
    inception_weights: str | None = None  # local torchvision inception_v3 state dict: adds IS and the standard FID
    judge_net: str = "simple"
    judge_width: float = 0.25
    judge_epochs: int = 10
    device: str = "auto"
    threads: int | None = None

    def root_for(self, name: str | None, explicit: str | None = None) -> str | None:
        """Where dataset `name` lives: the side's own root, else `data_roots`, else the
        training dataset's root when it is the training dataset."""
        if explicit is not None:
            return explicit
        if name in self.data_roots:
            return self.data_roots[name]
        return self.data_root if name == self.dataset else None

    def __post_init__(self):
        for key in ("test_dataset", "pretrain_dataset"):
            name = getattr(self, key)
            if name is not None and name not in list_datasets():
                raise ConfigError(f"{key} {name!r} is not a registered dataset; known: {', '.join(list_datasets())}")
            root = self.root_for(name, getattr(self, key.replace("dataset", "root")))
            if name not in (None, "synthfaces") and not (root and Path(root).exists()):
                raise ConfigError(f"{key} {name!r} needs {key.replace('dataset', 'root')} or data_roots[{name!r}], "
                                  f"the folder or file of its data; got {root!r}, which does not exist")
        unknown = sorted(set(self.data_roots) - set(list_datasets()))
        if unknown:
            raise ConfigError(f"data_roots names unregistered datasets {unknown}; known: {', '.join(list_datasets())}")
        if self.inception_weights is not None and not Path(self.inception_weights).is_file():
            raise ConfigError(f"inception_weights {self.inception_weights!r} is not a file; give a local torchvision "
                              "inception_v3 state dict, or leave it unset (no IS; FID on FER features only)")
        if min(self.dcgan.epochs, self.svm_trials, self.dcgan.eval_samples) < 1 or self.inner_folds < 2:
            raise ConfigError("dcgan_epochs, svm_trials and eval_samples must be ≥ 1 and inner_folds ≥ 2")
        if not 0 <= self.dcgan.beta1 < 1:
            raise ConfigError(f"dcgan_beta1 must be in [0, 1), got {self.dcgan.beta1}")


CHOICES = {"features": FEATURES, "protocol": ("auto", "official", "kfold", "subject_kfold"),
           "kernel": ("rbf", "linear"), "device": ("auto", "cpu", "cuda"), "dcgan_size": (48, 64)}


def parse_config(config: dict) -> DCGANSVMConfig:
    return from_flat(DCGANSVMConfig, config, CHOICES)

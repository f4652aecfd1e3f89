"""Face-expression datasets for ferlab: loading by name, splits, augmentation and
duplicate checks. See the modules for the details; this is the public surface.

The names load on first use (PEP 562 `__getattr__`): a launch checks a dataset name
through `trainables.data.registry` before it starts Ray, and that check must not pay for
the torch and scikit-learn that augment.py and splits.py import."""

import importlib

_MODULE_OF = {
    "batch_augment": "augment", "classical_augment": "augment", "resize_images": "augment",
    "EMOTIONS": "core", "DataError": "core", "FaceData": "core",
    "drop_cross_split_duplicates": "duplicates", "drop_eval_copies_of_train": "duplicates",
    "find_cross_split_duplicates": "duplicates",
    "list_datasets": "registry", "load_dataset": "registry",
    "Splits": "splits", "check_subject_disjoint": "splits", "make_splits": "splits",
    "sample_class_fraction": "splits", "stratified_kfold": "splits", "subject_kfold": "splits",
}

__all__ = [
    "EMOTIONS", "DataError", "FaceData", "Splits",
    "list_datasets", "load_dataset",
    "make_splits", "stratified_kfold", "subject_kfold", "sample_class_fraction",
    "check_subject_disjoint",
    "resize_images", "classical_augment", "batch_augment",
    "find_cross_split_duplicates", "drop_cross_split_duplicates", "drop_eval_copies_of_train",
]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value  # later lookups find it without this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})

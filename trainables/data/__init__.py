"""Face-expression datasets for ferlab: loading by name, splits, augmentation and
duplicate checks. See the modules for the details; this is the public surface."""

from trainables.data.augment import batch_augment, classical_augment, resize_images
from trainables.data.core import EMOTIONS, DataError, FaceData
from trainables.data.duplicates import drop_cross_split_duplicates, find_cross_split_duplicates
from trainables.data.registry import list_datasets, load_dataset
from trainables.data.splits import (
    Splits,
    check_subject_disjoint,
    make_splits,
    sample_class_fraction,
    stratified_kfold,
    subject_kfold,
)

__all__ = [
    "EMOTIONS", "DataError", "FaceData", "Splits",
    "list_datasets", "load_dataset",
    "make_splits", "stratified_kfold", "subject_kfold", "sample_class_fraction",
    "check_subject_disjoint",
    "resize_images", "classical_augment", "batch_augment",
    "find_cross_split_duplicates", "drop_cross_split_duplicates",
]

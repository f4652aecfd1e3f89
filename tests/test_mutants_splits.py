"""trainables.data.splits on tiny hand-made data: exact sizes, the checks' messages, and
the seeds' roles. Written to kill the survivors of mutation testing ([tool.mutmut] in
pyproject.toml), and cheap enough to run once per mutant."""

import numpy as np
import pytest

from trainables.data import DataError, FaceData, Splits
from trainables.data.splits import (check_subject_disjoint, make_splits, sample_class_fraction, stratified_kfold,
                                    subject_kfold)


def toy(n=60, n_classes=3, n_subjects=12, usage=None, subjects=True):
    labels = (np.arange(n) % n_classes).astype(np.int64)
    subj = np.repeat(np.arange(n_subjects), n // n_subjects).astype(str) if subjects else None
    return FaceData("toy", np.zeros((n, 2, 2), np.uint8), labels, subj, usage, "h")


def test_splits_sort_and_store_int64():
    s = Splits([3, 1], np.array([2], np.int32), [0])
    assert s.train.tolist() == [1, 3] and s.train.dtype == np.int64 and s.val.dtype == np.int64
    for a, b, c in (([0], [0], [1]), ([0], [1], [0]), ([0], [1], [1])):
        with pytest.raises(DataError, match="train, val and test share indices"):
            Splits(a, b, c)


def test_kfold_test_fold_val_carve_and_class_fraction_sizes():
    data = toy()
    folds = stratified_kfold(data.labels, 5, seed=0)
    s = make_splits(data, "kfold", seed=0, fold=2, n_folds=5, val_fraction=0.25)
    assert s.test.tolist() == folds[2].tolist() and len(s.test) == 12
    # 48 left, 16 per class: round(0.25 · 16) = 4 per class to val
    assert np.bincount(data.labels[s.val]).tolist() == [4, 4, 4] and len(s.train) == 36
    assert np.union1d(np.union1d(s.train, s.val), s.test).tolist() == list(range(60))
    no_val = make_splits(data, "kfold", seed=0, fold=2, n_folds=5, val_fraction=0.0)
    assert len(no_val.val) == 0 and len(no_val.train) == 48
    sub = make_splits(data, "kfold", seed=0, fold=2, n_folds=5, val_fraction=0.25, class_fraction=0.5)
    assert np.bincount(data.labels[sub.train]).tolist() == [6, 6, 6] and np.isin(sub.train, s.train).all()
    assert s.val.tolist() != make_splits(data, "kfold", seed=1, fold=2, n_folds=5, val_fraction=0.25).val.tolist()


def test_subject_kfold_carves_whole_subjects_for_val():
    data = toy()
    s = make_splits(data, "subject_kfold", seed=0, fold=0, n_folds=4, val_fraction=0.2)
    subjects = [set(data.subjects[getattr(s, k)]) for k in ("train", "val", "test")]
    # 3 of 12 subjects in the test fold; val is one of k = round(1/0.2) = 5 folds of the other 9
    assert len(subjects[2]) == 3 and len(subjects[0] | subjects[1]) == 9 and len(subjects[1]) in (1, 2)
    assert not (subjects[0] & subjects[1]) and not (subjects[1] & subjects[2])
    none = make_splits(data, "subject_kfold", seed=0, fold=0, n_folds=4, val_fraction=0.0)
    assert len(none.val) == 0 and len(none.train) == 45
    # val_fraction 0.6: k = max(2, round(1/0.6)) = 2 folds over 9 subjects → 4 or 5 in val
    big = make_splits(data, "subject_kfold", seed=0, fold=0, n_folds=4, val_fraction=0.6)
    assert len(set(data.subjects[big.val])) in (4, 5)


def test_one_subject_outside_the_test_fold_cannot_give_a_val_set():
    with pytest.raises(DataError, match=r"only 1 subject\(s\) outside the test fold; cannot carve val"):
        make_splits(toy(n=12, n_subjects=2), "subject_kfold", seed=0, fold=0, n_folds=2)


def test_official_split_uses_usage_and_carves_val_only_when_missing():
    usage = np.array(["train"] * 48 + ["test"] * 12)
    s = make_splits(toy(usage=usage), "official", seed=0, val_fraction=0.25)
    assert s.test.tolist() == list(range(48, 60)) and len(s.val) == 12 and len(s.train) == 36
    with pytest.raises(DataError, match="toy has no official split; use protocol 'kfold' or 'subject_kfold'"):
        make_splits(toy(), "official", seed=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(protocol="kfold", seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(protocol="kfold", seed=1.0), "seed must be a non-negative integer"),
    (dict(protocol="kfold", seed=0, val_fraction=-0.1), r"val_fraction must be in \[0, 1\), got -0.1"),
    (dict(protocol="kfold", seed=0, n_folds=2.0), "n_folds must be an integer >= 2, got 2.0"),
    (dict(protocol="kfold", seed=0, fold=1.0), "fold must be in 0..9 for n_folds=10, got 1.0"),
    (dict(protocol="subject_kfold", seed=0, fold=3, n_folds=3), "fold must be in 0..2 for n_folds=3, got 3"),
])
def test_bad_requests_say_what_is_wrong(kwargs, message):
    with pytest.raises(DataError, match=message):
        make_splits(toy(), **kwargs)


def test_no_subject_ids_and_too_few_images_or_subjects():
    with pytest.raises(DataError, match="toy has no subject ids; subject_kfold needs them"):
        make_splits(toy(subjects=False), "subject_kfold", seed=0)
    with pytest.raises(DataError, match="cannot make 5 folds of 4 images"):
        stratified_kfold([0, 1, 0, 1], 5, 0)
    assert len(stratified_kfold([0, 0, 0, 0], 4, 0)) == 4  # n == n_folds is enough
    with pytest.raises(DataError, match="cannot make 13 subject-disjoint folds from 12 subjects"):
        subject_kfold(toy().subjects, toy().labels, 13, 0)
    assert len(subject_kfold(toy().subjects, toy().labels, 12, 0)) == 12


def test_sample_class_fraction_rounds_keeps_one_and_checks_its_range():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 1)
    idx = np.arange(14)
    kept = sample_class_fraction(labels, idx.astype(np.int32), 0.25, seed=0)
    assert np.bincount(labels[kept], minlength=3).tolist() == [2, 1, 1]  # round(2.5) = 2, round(.75) = 1, min 1
    assert kept.tolist() == sorted(kept.tolist()) and kept.dtype == np.int64
    # the subset recorded runs trained on: a change of the seed's stream changes every table
    assert kept.tolist() == [2, 3, 10, 13]
    assert sample_class_fraction(labels, idx, 1.0, seed=0).tolist() == idx.tolist()
    assert sample_class_fraction(labels, idx, 0.5, 0).tolist() != sample_class_fraction(labels, idx, 0.5, 1).tolist()
    assert sample_class_fraction(labels, idx[:0], 0.5, 0).size == 0
    for bad in (0.0, 1.01):
        with pytest.raises(DataError, match=f"class_fraction must be in \\(0, 1\\], got {bad}"):
            sample_class_fraction(labels, idx, bad, 0)


def test_check_subject_disjoint_names_the_shared_subjects():
    subjects = np.array(["a", "a", "b", "c"])
    check_subject_disjoint(subjects, Splits([0, 1], [2], [3]))
    for s in (Splits([0], [1], [2, 3]), Splits([0], [2, 3], [1]), Splits([2, 3], [0], [1])):
        with pytest.raises(RuntimeError, match=r"subjects in more than one split: \[[^,]*'a'\)?\]$"):
            check_subject_disjoint(subjects, s)


def test_stratified_kfold_keeps_sklearns_small_class_warning_to_itself():
    """A class with fewer images than folds is normal on small sets; the split says nothing."""
    import warnings

    labels = np.array([0] * 10 + [1] * 10 + [2] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = stratified_kfold(labels, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))


def test_subject_val_carve_is_the_same_for_the_same_seed():
    data = toy(n=120, n_subjects=24)
    first, again = (make_splits(data, "subject_kfold", seed=3, fold=0, n_folds=4, val_fraction=0.25) for _ in range(2))
    assert np.array_equal(first.val, again.val) and len(first.val) > 0

"""trainables.data against the real FER2013 and CK+48 files described in
shared/datasets/README.md. Skipped, with the reason, where the files are absent.
Datasets are found at $FERLAB_DATASETS, else <repo>/../shared/datasets."""

import os
from pathlib import Path

import numpy as np
import pytest

from trainables.data import EMOTIONS, find_cross_split_duplicates, load_dataset, make_splits, subject_kfold
from trainables.data.info import main as info_main

DATASETS = Path(os.environ.get("FERLAB_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
FER_DIR = DATASETS / "fer2013"
CK_DIR = DATASETS / "ckplus48"

# README §1 "Counts": rows Training / PublicTest / PrivateTest, columns EMOTIONS[:7]
FER_COUNTS = {
    "train": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "val": [467, 56, 496, 895, 653, 415, 607],
    "test": [491, 55, 528, 879, 594, 416, 626],
}
# README §2: images and sequences (= subjects) per class folder
CK_COUNTS = {
    "angry": (135, 45), "contempt": (54, 18), "disgust": (177, 59), "fear": (75, 25),
    "happy": (207, 69), "sad": (84, 28), "surprise": (249, 83),
}


@pytest.fixture(scope="session")
def fer_cache(tmp_path_factory):
    if not any((FER_DIR / name).is_file() for name in ("fer2013.csv", "fer2013.csv.gz")):
        pytest.skip(f"real FER2013 not found at {FER_DIR} (set FERLAB_DATASETS to the datasets folder)")
    return tmp_path_factory.mktemp("fer_cache")


@pytest.fixture(scope="session")
def fer(fer_cache):
    return load_dataset("fer2013", FER_DIR, cache_dir=fer_cache)


@pytest.fixture(scope="session")
def ck_cache(tmp_path_factory):
    if not CK_DIR.is_dir():
        pytest.skip(f"real CK+48 not found at {CK_DIR} (set FERLAB_DATASETS to the datasets folder)")
    return tmp_path_factory.mktemp("ck_cache")


@pytest.fixture(scope="session")
def ck(ck_cache):
    return load_dataset("ckplus", CK_DIR, cache_dir=ck_cache)


def test_fer2013_counts_match_readme(fer, fer_cache):
    assert fer.images.shape == (35887, 48, 48) and fer.subjects is None
    for usage, counts in FER_COUNTS.items():
        assert np.bincount(fer.labels[fer.usage == usage], minlength=8).tolist() == counts + [0]
    assert len(list(fer_cache.glob("fer2013-*/images.npy"))) == 1
    assert (fer.images.reshape(len(fer), -1).max(axis=1) == 0).sum() == 12  # README: 12 black images


def test_fer2013_official_split(fer):
    splits = make_splits(fer, "official", seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (28709, 3589, 3589)


def test_fer2013_exact_cross_split_duplicates_match_readme(fer):
    # README: 280 PublicTest and 288 PrivateTest rows have a pixel-identical copy in
    # Training, and 44 PrivateTest rows have one in PublicTest.
    exact = find_cross_split_duplicates(fer, max_distance=0)["exact"]
    assert len(exact["train/val"]["val"]) == 280
    assert len(exact["train/test"]["test"]) == 288
    assert len(exact["val/test"]["test"]) == 44


def test_info_cli_fer2013(fer, fer_cache, capsys):
    assert info_main(["info", "fer2013", "--data-root", str(FER_DIR), "--cache-dir", str(fer_cache)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2:] == ["no subject ids", "total: 35887 images, 0 subjects"]
    assert any(line.startswith("exact duplicates train/val") and ": 280 val images" in line for line in lines)


def test_ckplus_counts_match_readme(ck):
    assert ck.images.shape == (981, 48, 48) and ck.n_subjects() == 118
    for emotion, (images, subjects) in CK_COUNTS.items():
        mask = ck.labels == EMOTIONS.index(emotion)
        assert mask.sum() == images and len(np.unique(ck.subjects[mask])) == subjects
    assert "neutral" not in ck.classes()


@pytest.mark.parametrize("n_folds", [5, 10])
def test_ckplus_subject_folds_share_no_subject(ck, n_folds):
    for seed in (0, 1):
        folds = subject_kfold(ck.subjects, ck.labels, n_folds, seed)
        assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(len(ck)))
        fold_subjects = [set(ck.subjects[f]) for f in folds]
        assert sum(map(len, fold_subjects)) == 118
        for fold in range(n_folds):
            splits = make_splits(ck, "subject_kfold", seed=seed, fold=fold, n_folds=n_folds)
            parts = [set(ck.subjects[getattr(splits, k)]) for k in ("train", "val", "test")]
            assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
            assert len(splits.train) + len(splits.val) + len(splits.test) == 981


def test_info_cli_ckplus(ck, ck_cache, capsys):
    assert info_main(["info", "ckplus", "--data-root", str(CK_DIR), "--cache-dir", str(ck_cache)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "total: 981 images, 118 subjects"

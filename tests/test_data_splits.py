"""Splits, synthfaces, augmentation, duplicates and the info CLI of trainables.data."""

import dataclasses

import numpy as np
import pytest
import torch

from trainables.data import (
    EMOTIONS,
    DataError,
    FaceData,
    Splits,
    batch_augment,
    classical_augment,
    drop_cross_split_duplicates,
    find_cross_split_duplicates,
    load_dataset,
    make_splits,
    resize_images,
    sample_class_fraction,
    stratified_kfold,
    subject_kfold,
)
from trainables.data.info import main as info_main


@pytest.fixture(scope="module")
def synth():
    return load_dataset("synthfaces", n_images=600, n_subjects=40, seed=3)


def assert_subject_disjoint(data, splits):
    parts = [set(data.subjects[getattr(splits, k)]) for k in ("train", "val", "test")]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])


def assert_partition(folds, n):
    joined = np.concatenate(folds)
    assert len(joined) == n and np.array_equal(np.sort(joined), np.arange(n))


# -- synthfaces -----------------------------------------------------------------

def test_synthfaces_shape_and_flags(synth):
    assert synth.images.shape == (600, 48, 48) and synth.images.dtype == np.uint8
    assert synth.procedural and synth.usage is None and synth.n_subjects() == 40
    assert synth.subjects[0].startswith("synth_0")
    assert set(synth.classes()) <= set(EMOTIONS[:7]) and "happy" in synth.classes()
    assert 20 < synth.images.mean() < 235 and synth.images.std() > 20


def test_synthfaces_is_deterministic_for_a_seed(synth):
    again = load_dataset("synthfaces", n_images=600, n_subjects=40, seed=3)
    other = load_dataset("synthfaces", n_images=600, n_subjects=40, seed=4)
    for field in ("images", "labels", "subjects"):
        np.testing.assert_array_equal(getattr(synth, field), getattr(again, field))
    assert synth.content_hash == again.content_hash != other.content_hash
    assert not np.array_equal(synth.images, other.images)


def test_synthfaces_options():
    data = load_dataset("synthfaces", n_images=50, image_size=32, n_subjects=5, class_weights={"fear": 1, "sad": 1})
    assert data.images.shape == (50, 32, 32) and set(data.classes()) == {"fear", "sad"}
    for bad, message in [
        ({"class_weights": [1, 2]}, "7 non-negative weights"),
        ({"class_weights": {"bored": 1}}, "not in"),
        ({"n_subjects": 0}, "n_subjects"),
        ({"image_size": 8}, "image_size"),
        ({"n_images": 2.5}, "must be an integer"),
        ({"size": 48}, "unknown options.*accepted: n_images"),
    ]:
        with pytest.raises(DataError, match=message):
            load_dataset("synthfaces", **bad)


# -- splits -----------------------------------------------------------------------

@pytest.mark.parametrize("n_folds", [3, 5, 10])
def test_subject_kfold_on_synthfaces_is_subject_disjoint(synth, n_folds):
    for seed in (0, 1, 2):
        folds = subject_kfold(synth.subjects, synth.labels, n_folds, seed)
        assert_partition(folds, len(synth))
        for fold in range(n_folds):
            splits = make_splits(synth, "subject_kfold", seed=seed, fold=fold, n_folds=n_folds)
            assert_subject_disjoint(synth, splits)
            assert np.array_equal(splits.test, folds[fold])
            assert len(splits.val) > 0
            assert len(splits.train) + len(splits.val) + len(splits.test) == len(synth)


def test_stratified_kfold_partitions_and_keeps_class_shares(synth):
    folds = stratified_kfold(synth.labels, 5, seed=0)
    assert_partition(folds, len(synth))
    share = np.bincount(synth.labels, minlength=7) / len(synth)
    for f in folds:
        assert np.abs(np.bincount(synth.labels[f], minlength=7) / len(f) - share).max() < 0.03
    splits = make_splits(synth, "kfold", seed=0, fold=2, n_folds=5, val_fraction=0.2)
    assert np.array_equal(splits.test, folds[2])
    assert abs(len(splits.val) - 0.2 * (len(synth) - len(folds[2]))) <= 7


def test_splits_are_deterministic(synth):
    for protocol in ("kfold", "subject_kfold"):
        a = make_splits(synth, protocol, seed=7, fold=1, n_folds=4, class_fraction=0.5)
        b = make_splits(synth, protocol, seed=7, fold=1, n_folds=4, class_fraction=0.5)
        c = make_splits(synth, protocol, seed=8, fold=1, n_folds=4, class_fraction=0.5)
        for k in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
        assert not np.array_equal(a.test, c.test)


def test_class_fraction_subsamples_each_class(synth):
    full = make_splits(synth, "kfold", seed=0, n_folds=5)
    part = make_splits(synth, "kfold", seed=0, n_folds=5, class_fraction=0.2)
    assert np.isin(part.train, full.train).all()
    np.testing.assert_array_equal(part.test, full.test)
    full_counts = np.bincount(synth.labels[full.train], minlength=7)
    part_counts = np.bincount(synth.labels[part.train], minlength=7)
    expected = np.maximum(1, np.round(0.2 * full_counts)) * (full_counts > 0)
    np.testing.assert_array_equal(part_counts, expected)
    np.testing.assert_array_equal(
        sample_class_fraction(synth.labels, full.train, 0.2, seed=0), part.train
    )


def official_data():
    usage = np.array(["train"] * 40 + ["val"] * 5 + ["test"] * 5)
    labels = np.arange(50, dtype=np.int64) % 3
    return FaceData("toy", np.zeros((50, 4, 4), np.uint8), labels, None, usage, "h")


def test_official_split_follows_usage_and_carves_val_when_missing():
    data = official_data()
    splits = make_splits(data, "official", seed=0)
    assert splits.train.tolist() == list(range(40))
    assert splits.val.tolist() == list(range(40, 45)) and splits.test.tolist() == list(range(45, 50))
    no_val = FaceData("toy", data.images, data.labels, None, np.where(data.usage == "val", "train", data.usage), "h")
    carved = make_splits(no_val, "official", seed=0, val_fraction=0.2)
    assert len(carved.val) == 9 and np.isin(carved.val, np.arange(45)).all()
    np.testing.assert_array_equal(np.bincount(data.labels[carved.val]), [3, 3, 3])


def test_bad_split_requests(synth):
    no_subjects = official_data()
    cases = [
        (lambda: make_splits(synth, "official", seed=0), "no official split"),
        (lambda: make_splits(no_subjects, "subject_kfold", seed=0), "no subject ids"),
        (lambda: make_splits(synth, "kfold", seed=0, fold=5, n_folds=5), "fold must be in 0..4"),
        (lambda: make_splits(synth, "kfold", seed=0, fold=-1), "fold must be in"),
        (lambda: make_splits(synth, "kfold", seed=0, n_folds=1), "n_folds must be"),
        (lambda: make_splits(synth, "loso", seed=0), "unknown split protocol 'loso'; known: official, kfold"),
        (lambda: make_splits(synth, "kfold", seed=0, val_fraction=1.0), "val_fraction"),
        (lambda: make_splits(synth, "kfold", seed=0, class_fraction=0), "class_fraction"),
        (lambda: subject_kfold(synth.subjects, synth.labels, 41, 0), "from 40 subjects"),
    ]
    for call, message in cases:
        with pytest.raises(DataError, match=message):
            call()


def test_splits_reject_overlap():
    with pytest.raises(DataError, match="share indices"):
        Splits(np.array([0, 1]), np.array([1]), np.array([2]))


# -- augmentation -----------------------------------------------------------------

def test_resize_images(synth):
    assert resize_images(synth.images, 48) is synth.images
    small = resize_images(synth.images[:10], 24)
    big = resize_images(synth.images[:10], 64)
    assert small.shape == (10, 24, 24) and big.shape == (10, 64, 64) and big.dtype == np.uint8
    assert abs(float(small.mean()) - float(synth.images[:10].mean())) < 2


def test_classical_augment_is_deterministic_and_varies(synth):
    img = synth.images[0]
    a, b = classical_augment(img, 5), classical_augment(img, 5)
    assert a.shape == img.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    rng = np.random.default_rng(0)
    outs = [classical_augment(img, rng) for _ in range(2)]
    assert not np.array_equal(outs[0], outs[1])
    with pytest.raises(DataError):
        classical_augment(img, "seed")


def test_batch_augment_is_deterministic_for_the_generator(synth):
    x = torch.from_numpy(synth.images[:16]).float()[:, None] / 255
    a = batch_augment(x, torch.Generator().manual_seed(1))
    b = batch_augment(x, torch.Generator().manual_seed(1))
    c = batch_augment(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    # small transforms: augmented images stay closer to their source than to others
    err_self = (a - x).abs().mean(dim=(1, 2, 3))
    err_other = (a - x.roll(1, 0)).abs().mean(dim=(1, 2, 3))
    assert (err_self < err_other).float().mean() > 0.7


def test_batch_augment_flips_about_half():
    ramp = torch.linspace(0, 1, 32).repeat(32, 1)[None, None].repeat(200, 1, 1, 1)
    out = batch_augment(ramp, torch.Generator().manual_seed(0))
    flipped = out[:, 0, :, :8].mean(dim=(1, 2)) > out[:, 0, :, -8:].mean(dim=(1, 2))
    assert 0.35 < flipped.float().mean() < 0.65


# -- duplicates -------------------------------------------------------------------

def planted_duplicates(synth):
    """First 100 synth faces: 0-59 train, 60-79 val, 80-99 test, with copies planted."""
    images = synth.images[:100].copy()
    images[60] = images[0]                                     # exact train/val
    images[80] = images[1]                                     # exact train/test
    images[81] = images[61]                                    # exact val/test
    images[82] = np.clip(images[2].astype(int) + 3, 0, 255)    # near train/test
    usage = np.array(["train"] * 60 + ["val"] * 20 + ["test"] * 20)
    return FaceData("toy", images, synth.labels[:100], None, usage, "h")


def test_find_cross_split_duplicates(synth):
    dups = find_cross_split_duplicates(planted_duplicates(synth), max_distance=4)
    exact, near = dups["exact"], dups["near"]
    assert exact["train/val"]["val"].tolist() == [60] and exact["train/val"]["train"].tolist() == [0]
    assert exact["train/test"]["test"].tolist() == [80] and exact["train/test"]["train"].tolist() == [1]
    assert exact["val/test"]["test"].tolist() == [81] and exact["val/test"]["val"].tolist() == [61]
    assert 82 in near["train/test"]["test"] and 2 in near["train/test"]["train"]
    assert 80 not in near["train/test"]["test"]  # exact copies are not counted again as near


def test_drop_cross_split_duplicates(synth):
    data = planted_duplicates(synth)
    splits = make_splits(data, "official", seed=0)
    clean = drop_cross_split_duplicates(data, splits, max_distance=4)
    assert {0, 1, 2} <= set(splits.train) - set(clean.train)
    np.testing.assert_array_equal(clean.test, splits.test)
    assert not find_cross_split_duplicates(data.subset(np.concatenate([clean.train, clean.test])), 0)["exact"]["train/test"]["test"].size


def write_fer_with_planted_copies(path, n_per_class=(12, 4, 4), seed=0):
    """A tiny FER2013-format CSV: `n_per_class` Training / PublicTest / PrivateTest images of
    each of the 7 classes, random pixels, with planted exact copies: 3 PrivateTest and 2
    PublicTest rows copy a Training image (one of them under another label), and one
    PrivateTest row copies a PublicTest one (no copy in Training: kept). Returns the
    (n_val_copies, n_test_copies) of training images: (2, 3)."""
    rng = np.random.default_rng(seed)
    rows = []
    for usage, n in zip(("Training", "PublicTest", "PrivateTest"), n_per_class):
        rows += [[c, rng.integers(0, 256, 48 * 48), usage] for c in range(7) for _ in range(n)]
    train = [r for r in rows if r[2] == "Training"]
    val = [r for r in rows if r[2] == "PublicTest"]
    test = [r for r in rows if r[2] == "PrivateTest"]
    for k in range(3):
        test[5 * k][1] = train[7 * k][1].copy()
    val[0][1], val[0][0] = train[1][1].copy(), (train[1][0] + 1) % 7  # pixels copied, another label
    val[3][1] = train[40][1].copy()
    test[2][1] = val[9][1].copy()  # a copy between val and test only
    lines = ["emotion,pixels,Usage"] + [f"{c},{' '.join(map(str, px))},{u}" for c, px, u in rows]
    path.write_text("\n".join(lines) + "\n")
    return 2, 3


def test_eval_copies_of_train_are_left_out_and_counted(tmp_path):
    from trainables.core.real_data import DataConfig, load_real_data

    n_val, n_test = write_fer_with_planted_copies(tmp_path / "fer2013.csv")
    kept = load_real_data(DataConfig(dataset="fer2013", data_root=str(tmp_path), cache_dir=str(tmp_path / "c")), 0)
    config = DataConfig(dataset="fer2013", data_root=str(tmp_path), cache_dir=str(tmp_path / "c"),
                        drop_eval_duplicates=True)
    real = load_real_data(config, 0)
    assert kept.dropped is None and real.dropped == {"val": n_val, "test": n_test}
    assert (len(kept.splits.val) - len(real.splits.val), len(kept.splits.test) - len(real.splits.test)) == (2, 3)
    np.testing.assert_array_equal(real.splits.train, kept.splits.train)
    pixels = {real.data.images[i].tobytes() for i in real.splits.train}
    evaluated = np.concatenate([real.splits.val, real.splits.test])
    assert not [i for i in evaluated if real.data.images[i].tobytes() in pixels]
    # the copy between val and test alone stays in both
    evaluated = [real.data.images[i].tobytes() for i in evaluated]
    assert len(evaluated) - len(set(evaluated)) == 1
    # sampled to 20 % per class, the same images are left out: every arm and seed sees one test set
    sampled = load_real_data(dataclasses.replace(config, class_fraction=0.2), 0)
    assert sampled.dropped == real.dropped and np.array_equal(sampled.splits.test, real.splits.test)


def test_duplicates_need_a_split(synth):
    with pytest.raises(DataError, match="no official split"):
        find_cross_split_duplicates(synth)


# -- info CLI ---------------------------------------------------------------------

def test_info_cli_on_synthfaces(capsys):
    assert info_main(["info", "synthfaces", "-o", "n_images=200", "-o", "n_subjects=10"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any("procedural demo data" in line for line in lines)
    assert lines[-2] == "subjects: 10" and lines[-1] == "total: 200 images, 10 subjects"


def test_info_cli_reports_data_errors_without_traceback(capsys, tmp_path):
    assert info_main(["info", "fer2014"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown dataset 'fer2014'") and "Traceback" not in err
    assert info_main(["info", "fer2013", "--data-root", str(tmp_path / "x")]) == 2
    assert "expected a fer2013.csv" in capsys.readouterr().err

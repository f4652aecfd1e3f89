"""Loaders, registry and cache of trainables.data, on small fixtures written to tmp_path."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainables.data import EMOTIONS, DataError, FaceData, list_datasets, load_dataset
from trainables.data import fer2013, imagefolder


def fer_row(code, usage="Training", pixels=None, seed=0):
    if pixels is None:
        pixels = " ".join(map(str, np.random.default_rng(seed).integers(0, 256, 2304)))
    return f"{code},{pixels},{usage}"


def write_fer(path, rows, header="emotion,pixels,Usage"):
    text = "\n".join([header, *rows]) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


GOOD_ROWS = [
    fer_row(0, "Training", seed=1), fer_row(3, "Training", seed=2), fer_row(6, "PublicTest", seed=3),
    fer_row(1, "PrivateTest", seed=4), fer_row(5, "PrivateTest", seed=5),
]


def write_png(path, size=(8, 8), value=0, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def cache_files(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# -- registry -------------------------------------------------------------------

def test_registry_lists_known_datasets():
    assert list_datasets() == ["ckplus", "fer2013", "imagefolder", "jaffe", "kdef", "rafd", "synthfaces"]


def test_unknown_dataset_lists_known_names(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'fer2014'.*ckplus, fer2013, imagefolder, jaffe, kdef, rafd, synthfaces"):
        load_dataset("fer2014", tmp_path)


@pytest.mark.parametrize("name", ["fer2013", "ckplus", "imagefolder", "jaffe", "kdef", "rafd", "synthfaces"])
def test_every_loader_rejects_unknown_options(name, tmp_path):
    with pytest.raises(DataError, match="bogus"):
        load_dataset(name, tmp_path, cache_dir=tmp_path / "cache", bogus=1)


# -- fer2013 --------------------------------------------------------------------

@pytest.mark.parametrize("file_name", ["fer2013.csv", "fer2013.csv.gz"])
def test_fer2013_loads_plain_and_gzip_from_folder_or_file(tmp_path, file_name):
    path = write_fer(tmp_path / file_name, GOOD_ROWS)
    for root in (tmp_path, path):
        data = load_dataset("fer2013", root, cache_dir=tmp_path / "cache")
        assert data.images.shape == (5, 48, 48) and data.images.dtype == np.uint8
        assert data.labels.tolist() == [0, 3, 6, 1, 5]
        assert data.usage.tolist() == ["train", "train", "val", "test", "test"]
        assert data.subjects is None and not data.procedural
        first = np.array(GOOD_ROWS[0].split(",")[1].split(), dtype=np.uint8).reshape(48, 48)
        np.testing.assert_array_equal(data.images[0], first)


def test_fer2013_second_load_comes_from_cache(tmp_path, monkeypatch):
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS)
    cache = tmp_path / "cache"
    first = load_dataset("fer2013", tmp_path, cache_dir=cache)
    files = cache_files(cache)
    assert len(files) == 1 and sorted(f.name for f in (cache / files[0]).iterdir()) == [
        "images.npy", "labels.npy", "meta.json", "usage.npy"]

    def no_parse(*_):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(fer2013, "parse", no_parse)
    second = load_dataset("fer2013", tmp_path, cache_dir=cache)
    for field in ("images", "labels", "usage"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    assert second.content_hash == first.content_hash
    assert isinstance(second.images, np.memmap)  # shared with other trials through the page cache
    second.images[0, 0, 0] ^= 0xFF  # copy-on-write: a trial's change stays in its own pages
    assert load_dataset("fer2013", tmp_path, cache_dir=cache).images[0, 0, 0] == first.images[0, 0, 0]


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS)
    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path / "envcache"))
    load_dataset("fer2013", tmp_path)
    assert len(cache_files(tmp_path / "envcache")) == 1


def test_changed_source_is_reparsed(tmp_path):
    cache = tmp_path / "cache"
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS)
    a = load_dataset("fer2013", tmp_path, cache_dir=cache)
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS[:3])
    b = load_dataset("fer2013", tmp_path, cache_dir=cache)
    assert len(a) == 5 and len(b) == 3 and a.content_hash != b.content_hash


def test_corrupt_cache_is_rebuilt(tmp_path):
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS)
    cache = tmp_path / "cache"
    good = load_dataset("fer2013", tmp_path, cache_dir=cache)
    (entry,) = cache.iterdir()
    images = entry / "images.npy"
    images.write_bytes(images.read_bytes()[:100])
    again = load_dataset("fer2013", tmp_path, cache_dir=cache)
    np.testing.assert_array_equal(again.images, good.images)
    assert images.stat().st_size > 100 and cache_files(cache) == [entry.name]



@pytest.mark.parametrize("fail_in", ["save", "rename"])
def test_cache_write_failing_part_way_leaves_nothing_and_the_next_load_rebuilds(tmp_path, monkeypatch, fail_in):
    """A writer killed after one array is on disk (in np.save) or at the final rename
    leaves neither an entry nor its temporary folder; the next load parses and stores again."""
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS)
    cache = tmp_path / "cache"
    temporaries = []
    real_save, real_rename = np.save, os.rename

    def save_then_fail(path, array, **kwargs):
        real_save(path, array, **kwargs)
        temporaries.append(Path(path).parent)
        if fail_in == "save":
            raise OSError("disk full")

    def failing_rename(source, target):
        if Path(target).parent == cache:
            raise OSError("rename failed")
        return real_rename(source, target)

    monkeypatch.setattr(np, "save", save_then_fail)
    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError):
        load_dataset("fer2013", tmp_path, cache_dir=cache)
    assert temporaries and temporaries[0].name.startswith(".tmp-")  # the failure came after the temporary existed
    assert cache_files(cache) == []
    monkeypatch.undo()

    rebuilt = load_dataset("fer2013", tmp_path, cache_dir=cache)
    fresh = load_dataset("fer2013", tmp_path, cache_dir=tmp_path / "fresh")
    (entry,) = cache_files(cache)
    assert sorted(f.name for f in (cache / entry).iterdir()) == ["images.npy", "labels.npy", "meta.json", "usage.npy"]
    monkeypatch.setattr(fer2013, "parse", lambda *_: pytest.fail("parsed although the rebuilt entry is cached"))
    again = load_dataset("fer2013", tmp_path, cache_dir=cache)
    for field in ("images", "labels", "usage"):
        np.testing.assert_array_equal(getattr(rebuilt, field), getattr(fresh, field))
        np.testing.assert_array_equal(getattr(again, field), getattr(fresh, field))


BAD_FER = {
    "pixel count": (
        [GOOD_ROWS[0], fer_row(0, pixels=" ".join(["7"] * 2303))], "line 3: expected 2304 pixel values",
    ),
    "non-integer": (
        [GOOD_ROWS[0], GOOD_ROWS[1], fer_row(0, pixels=" ".join(["7"] * 2303 + ["1.5"]))],
        "line 4: pixel value '1.5' is not an integer",
    ),
    "letters": ([fer_row(0, pixels="abc " + " ".join(["7"] * 2303))], "line 2: pixel value 'abc'"),
    "negative": ([fer_row(0, pixels="-1 " + " ".join(["7"] * 2303))], "line 2: pixel value '-1'"),
    "out of range": (
        [GOOD_ROWS[0], fer_row(2, pixels=" ".join(["256"] + ["7"] * 2303))],
        "line 3: pixel value 256 is out of range; expected 0-255",
    ),
    "emotion code": ([GOOD_ROWS[0], fer_row(7)], "line 3: unknown emotion code '7'"),
    "usage": ([fer_row(0, "Validation")], "line 2: unknown Usage 'Validation'; expected one of Training"),
    "fields": (["0,1 2 3"], "line 2: expected 3 comma-separated fields"),
}


@pytest.mark.parametrize("case", sorted(BAD_FER))
def test_fer2013_bad_rows_name_the_line_and_leave_no_cache(tmp_path, case):
    rows, message = BAD_FER[case]
    write_fer(tmp_path / "fer2013.csv", rows)
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=message):
        load_dataset("fer2013", tmp_path, cache_dir=cache)
    assert cache_files(cache) == []


def test_fer2013_wrong_header(tmp_path):
    write_fer(tmp_path / "fer2013.csv", GOOD_ROWS, header="label,pixels,usage")
    with pytest.raises(DataError, match="line 1: expected header 'emotion,pixels,Usage', got 'label,pixels,usage'"):
        load_dataset("fer2013", tmp_path, cache_dir=tmp_path / "cache")


def test_fer2013_missing_path_says_expected_layout(tmp_path):
    with pytest.raises(DataError, match="does not exist; expected a fer2013.csv or fer2013.csv.gz"):
        load_dataset("fer2013", tmp_path / "nowhere", cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match=r"no fer2013.csv or fer2013.csv.gz in .*header 'emotion,pixels,Usage'"):
        load_dataset("fer2013", tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match="fer2013 needs data_root"):
        load_dataset("fer2013", cache_dir=tmp_path / "cache")


def test_fer2013_truncated_gzip(tmp_path):
    path = write_fer(tmp_path / "fer2013.csv.gz", GOOD_ROWS)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="cannot read"):
        load_dataset("fer2013", path, cache_dir=tmp_path / "cache")


# -- imagefolder and ckplus -------------------------------------------------------

def ck_tree(root, classes=("anger", "happy", "sadness", "contempt"), subjects=(5, 10, 11)):
    for c, folder in enumerate(classes):
        for s in subjects:
            for frame in range(2):
                write_png(root / folder / f"S{s:03d}_{c + 1:03d}_{frame + 7:08d}.png", value=10 * c + frame)
    return root


def test_imagefolder_maps_synonyms_and_reads_grayscale(tmp_path):
    write_png(tmp_path / "anger" / "a.png", value=(200, 0, 0), mode="RGB")
    write_png(tmp_path / "Happy" / "b.jpg", value=100)
    data = load_dataset("imagefolder", tmp_path, cache_dir=tmp_path / "cache")
    assert data.images.shape == (2, 8, 8) and data.images.dtype == np.uint8
    assert [EMOTIONS[i] for i in data.labels] == ["happy", "angry"]  # folders in sorted order
    assert data.subjects is None and data.usage is None
    assert data.images[1, 0, 0] == Image.new("RGB", (1, 1), (200, 0, 0)).convert("L").getpixel((0, 0))


def test_imagefolder_subject_regex_and_class_map(tmp_path):
    ck_tree(tmp_path)
    data = load_dataset(
        "imagefolder", tmp_path, cache_dir=tmp_path / "cache", subject_regex=r"^(S\d+)_",
        class_map={"anger": "angry", "happy": "happy", "sadness": "sad", "contempt": "contempt"},
    )
    assert sorted(set(data.subjects)) == ["S005", "S010", "S011"]
    assert data.classes() == ("angry", "happy", "sad", "contempt")


def test_ckplus_is_imagefolder_with_regex_and_map(tmp_path):
    ck_tree(tmp_path)
    data = load_dataset("ckplus", tmp_path, cache_dir=tmp_path / "cache")
    assert data.name == "ckplus" and len(data) == 24 and data.n_subjects() == 3
    assert data.classes() == ("angry", "happy", "sad", "contempt")
    assert np.bincount(data.labels, minlength=8)[EMOTIONS.index("contempt")] == 6


def test_folder_cache_hit_skips_decoding(tmp_path, monkeypatch):
    ck_tree(tmp_path / "ck")
    first = load_dataset("ckplus", tmp_path / "ck", cache_dir=tmp_path / "cache")
    monkeypatch.setattr(imagefolder, "_decode", lambda *a: pytest.fail("decoded although cached"))
    second = load_dataset("ckplus", tmp_path / "ck", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.subjects, second.subjects)


def test_unreadable_image_names_the_file(tmp_path):
    ck_tree(tmp_path)
    (tmp_path / "happy" / "S005_002_00000099.png").write_bytes(b"not a png")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"cannot read image .*S005_002_00000099\.png"):
        load_dataset("ckplus", tmp_path, cache_dir=cache)
    assert cache_files(cache) == []


def test_empty_class_folder_is_named(tmp_path):
    ck_tree(tmp_path)
    (tmp_path / "fear").mkdir()
    with pytest.raises(DataError, match=r"class folder .*fear has no images"):
        load_dataset("ckplus", tmp_path, cache_dir=tmp_path / "cache")


def test_unknown_class_folder_lists_expected_mapping(tmp_path):
    ck_tree(tmp_path)
    write_png(tmp_path / "bored" / "S005_009_00000001.png")
    with pytest.raises(DataError, match=r"unknown class folders \['bored'\].*'sadness': 'sad'"):
        load_dataset("ckplus", tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match=r"unknown class folders \['bored'\].*sadness->sad"):
        load_dataset("imagefolder", tmp_path, cache_dir=tmp_path / "cache")


def test_class_map_values_must_be_emotions(tmp_path):
    ck_tree(tmp_path)
    with pytest.raises(DataError, match="not in EMOTIONS"):
        load_dataset("imagefolder", tmp_path, cache_dir=tmp_path / "cache", class_map={"anger": "rage"})


def test_mixed_image_sizes_name_the_file_and_sizes(tmp_path):
    ck_tree(tmp_path)
    write_png(tmp_path / "sadness" / "S010_003_00000100.png", size=(10, 12))
    with pytest.raises(DataError, match=r"S010_003_00000100\.png is 10x12 but .* is 8x8"):
        load_dataset("ckplus", tmp_path, cache_dir=tmp_path / "cache")


def test_file_not_matching_subject_regex_is_named(tmp_path):
    ck_tree(tmp_path)
    write_png(tmp_path / "happy" / "IMG_0001.png")
    with pytest.raises(DataError, match="'IMG_0001.png'.*does not match subject_regex"):
        load_dataset("ckplus", tmp_path, cache_dir=tmp_path / "cache")


def test_imagefolder_layout_errors(tmp_path):
    with pytest.raises(DataError, match=r"is not a folder; expected .*<root>/<class>/<image>"):
        load_dataset("imagefolder", tmp_path / "missing", cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match=r"has no class folders; expected CK\+48: <root>/<class>/S###"):
        load_dataset("ckplus", tmp_path, cache_dir=tmp_path / "cache")
    ck_tree(tmp_path)
    with pytest.raises(DataError, match="not a valid regex"):
        load_dataset("imagefolder", tmp_path, cache_dir=tmp_path / "cache", subject_regex="(S")
    with pytest.raises(DataError, match="needs a group"):
        load_dataset("imagefolder", tmp_path, cache_dir=tmp_path / "cache", subject_regex="S")


# -- FaceData ---------------------------------------------------------------------

def test_facedata_classes_and_subset():
    images = np.zeros((4, 2, 2), np.uint8)
    data = FaceData("x", images, np.array([7, 0, 3, 0]), np.array(list("abcd")), None, "h")
    assert data.classes() == ("angry", "happy", "contempt")
    sub = data.subset([1, 3])
    assert sub.labels.tolist() == [0, 0] and sub.subjects.tolist() == ["b", "d"]
    assert sub.classes() == ("angry",) and sub.content_hash == "h" and sub.usage is None


def test_facedata_validates_fields():
    with pytest.raises(DataError, match="labels must be int64"):
        FaceData("x", np.zeros((2, 2, 2), np.uint8), np.zeros(3, np.int64), None, None, "h")
    with pytest.raises(DataError, match="unknown usage"):
        FaceData("x", np.zeros((1, 2, 2), np.uint8), np.zeros(1, np.int64), None, np.array(["dev"]), "h")

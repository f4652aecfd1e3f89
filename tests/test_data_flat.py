"""Flat folders labelled by file name (imagefolder's label_regex, the jaffe / kdef / rafd
presets), explicit conversions and face crops, on small fixtures written to tmp_path the
way each distribution names its files. No Ray."""

import numpy as np
import pytest
from PIL import Image

from study import launch
from trainables.data import DataError, load_dataset
from trainables.data.convert import detect_face, face_box
from trainables.data.info import main as info_main
from trainables.data.synthfaces import SynthOptions, generate

JAFFE_CODES = ("AN", "DI", "FE", "HA", "NE", "SA", "SU")
RAFD_WORDS = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")


def save(path, mode, size, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def jaffe_folder(root, subjects=("KA", "KL", "KM")):
    for s, subject in enumerate(subjects):
        for e, code in enumerate(JAFFE_CODES):
            mode = "P" if e % 2 else "L"  # some JAFFE files are palette-mode
            save(root / f"{subject}.{code}{1 + s % 2}.{30 + 7 * s + e}.tiff", mode, (40, 40), 10 * e + s)
    (root / "README.txt").write_text("not an image: ignored")
    return root


def kdef_folder(root):
    for session in "AB":
        for subject in ("F01", "M02"):
            for e, code in enumerate(("AF", "AN", "DI", "HA", "NE", "SA", "SU")):
                for view in ("S", "HL"):  # the half-left view is skipped by default
                    save(root / f"{session}{subject}{code}{view}.JPG", "RGB", (30, 40), (20 * e, 90, 40))
    return root


def rafd_folder(root):
    for subject in ("01", "02", "07"):
        for e, word in enumerate(RAFD_WORDS):
            for angle in ("090", "045"):  # 045 is skipped by default
                name = f"Rafd{angle}_{subject}_Caucasian_female_{word}_frontal.jpg"
                save(root / name, "RGB", (36, 36), (15 * e, 60, 60))
    return root


def info(capsys, *args):
    assert info_main(["info", *map(str, args)]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.splitlines()


def test_info_jaffe_prints_its_seven_classes_subjects_and_conversions(tmp_path, capsys):
    out = info(capsys, "jaffe", "--data-root", jaffe_folder(tmp_path / "jaffe"), "--cache-dir", tmp_path / "c")
    assert out[-1] == "total: 21 images, 3 subjects"
    header = next(line for line in out if line.startswith("split"))
    assert header.split()[1:-1] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert "converted to grayscale: 9 of 21 images (P 9)" in out
    assert ("faces cropped: 0 (margin 0.2); no face found, centre-cropped: 21 (KA.AN1.30.tiff, KA.DI1.31.tiff, "
            "KA.FE1.32.tiff, KA.HA1.33.tiff, KA.NE1.34.tiff, … (16 more))") in out
    assert "resized from 40x40 to 48x48" in out


def test_info_kdef_keeps_the_straight_view_and_merges_sessions_into_subjects(tmp_path, capsys):
    root = kdef_folder(tmp_path / "kdef")
    out = info(capsys, "kdef", "--data-root", root, "--cache-dir", tmp_path / "c", "-o", "face_crop=False")
    assert out[-1] == "total: 28 images, 2 subjects"  # sessions A and B of F01 are one subject
    assert "converted to grayscale: 28 of 28 images (RGB 28)" in out
    assert "resized from 30x40 to 48x48" in out and "centre-cropped to a square: 28 images" in out
    both = load_dataset("kdef", root, cache_dir=tmp_path / "c", views=["S", "HL"], face_crop=False)
    assert len(both) == 56 and both.images.shape[1:] == (48, 48)


def test_info_rafd_skips_non_frontal_angles_by_default(tmp_path, capsys):
    root = rafd_folder(tmp_path / "rafd")
    out = info(capsys, "rafd", "--data-root", root, "--cache-dir", tmp_path / "c", "-o", "face_crop=False")
    assert out[-1] == "total: 24 images, 3 subjects"
    header = next(line for line in out if line.startswith("split"))
    assert len(header.split()) == 2 + 8 and "contempt" in header
    assert len(load_dataset("rafd", root, cache_dir=tmp_path / "c", angles="045", face_crop=False)) == 24


def test_preset_options_are_checked(tmp_path):
    root = kdef_folder(tmp_path / "kdef")
    with pytest.raises(DataError, match="views must be one or more of FL, HL, S, HR, FR"):
        load_dataset("kdef", root, cache_dir=tmp_path / "c", views="front")
    with pytest.raises(DataError, match=r"jaffe: unknown options \['views'\]"):
        load_dataset("jaffe", root, cache_dir=tmp_path / "c", views="S")
    with pytest.raises(DataError, match="AF01AFHL.JPG.*expected JAFFE: .*AN/DI/FE"):  # KDEF is not JAFFE
        load_dataset("jaffe", root, cache_dir=tmp_path / "c")


def flat(root, names, size=(8, 8)):
    for n, name in enumerate(names):
        save(root / name, "L", size, 10 * n)
    return root


def test_label_regex_and_class_map_errors_say_what_was_expected(tmp_path):
    root = flat(tmp_path / "f", ["s1_x.png", "s2_y.png"])
    load = lambda **kw: load_dataset("imagefolder", root, cache_dir=tmp_path / "c", **kw)  # noqa: E731
    with pytest.raises(DataError, match=r"'s2_y.png'.*does not match label_regex"):
        load(label_regex=r"_(x)\.png$", class_map={"x": "happy"}, strict=True)
    with pytest.raises(DataError, match=r"label code 'y' of 's2_y.png' is not in class_map; expected one of \['x'\]"):
        load(label_regex=r"_(\w)\.png$", class_map={"x": "happy"}, strict=True)
    with pytest.raises(DataError, match="strict must be True or False, got 'yes'"):
        load(label_regex=r"_(\w)\.png$", class_map={"x": "happy"}, strict="yes")
    # without strict, what does not fit is left out and named
    kept = load(label_regex=r"_(x)\.png$", class_map={"x": "happy"})
    assert len(kept) == 1 and kept.notes[-1] == (
        r"skipped 1 files whose names do not match label_regex '_(x)\.png$': s2_y.png")
    kept = load(label_regex=r"_(\w)\.png$", class_map={"X": "happy"})  # codes match without regard to case
    assert kept.classes() == ("happy",) and kept.notes[-1] == (
        "skipped 1 files whose label code (y) is none of class_map's codes ['X']: s2_y.png")
    with pytest.raises(DataError, match="class_map values {'y': 'glee'} are not in EMOTIONS"):
        load(label_regex=r"_(\w)\.png$", class_map={"x": "happy", "y": "glee"})
    with pytest.raises(DataError, match="label code 'x' .* is not an EMOTIONS name or synonym"):
        load(label_regex=r"_(\w)\.png$", strict=True)
    with pytest.raises(DataError, match=r"has no images; skipped 2 files whose label code \(x, y\) is none of EMOTIONS "
                                        r"names or synonyms \(or pass class_map=\{code: emotion\}\): s1_x.png, s2_y.png; "
                                        "expected a flat folder"):
        load(label_regex=r"_(\w)\.png$")
    with pytest.raises(DataError, match="needs a group capturing the label code"):
        load(label_regex=r"_\w\.png$")
    with pytest.raises(DataError, match="select_regex applies to flat folders"):
        load(select_regex="s1")
    with pytest.raises(DataError, match="no images matching select_regex"):
        load(label_regex=r"_(\w)\.png$", class_map={"x": "happy", "y": "sad"}, select_regex="^zz")
    data = load(label_regex=r"_(\w)\.png$", class_map={"x": "happy", "y": "sad"}, subject_regex=r"^(s\d)_")
    assert data.classes() == ("happy", "sad") and list(data.subjects) == ["S1", "S2"]  # ids upper-cased


def test_mixed_sizes_fail_without_size_and_convert_with_it(tmp_path):
    root = flat(tmp_path / "f", ["a_happy.png"], size=(8, 8))
    flat(root, ["b_sad.png"], size=(12, 10))
    kw = dict(cache_dir=tmp_path / "c", label_regex=r"_(\w+)\.png$")
    with pytest.raises(DataError, match="all images must have the same size.*size=N"):
        load_dataset("imagefolder", root, **kw)
    with pytest.raises(DataError, match="face_crop needs size"):
        load_dataset("imagefolder", root, face_crop=True, **kw)
    data = load_dataset("imagefolder", root, size=16, **kw)
    assert data.images.shape == (2, 16, 16)
    assert data.notes == ("centre-cropped to a square: 1 images", "resized from 8x8, 12x10 to 16x16")


def test_cache_key_changes_with_every_conversion_option(tmp_path):
    root = jaffe_folder(tmp_path / "jaffe", subjects=("KA",))
    cache = tmp_path / "c"
    entries = lambda: sorted(p.name for p in cache.iterdir() if not p.name.startswith("."))  # noqa: E731
    first = load_dataset("jaffe", root, cache_dir=cache, face_crop=False)
    assert len(entries()) == 1
    again = load_dataset("jaffe", root, cache_dir=cache, face_crop=False)
    assert len(entries()) == 1 and again.notes == first.notes  # notes come back from the cache
    load_dataset("jaffe", root, cache_dir=cache, face_crop=False, size=32)
    load_dataset("jaffe", root, cache_dir=cache)
    load_dataset("jaffe", root, cache_dir=cache, crop_margin=0.4)
    assert len(entries()) == 4


def face_on_canvas():
    """A procedural face (synthfaces) pasted at rows 50..146, columns 90..186 of a flat
    200x240 canvas, from the first few faces the detector finds; and the face's box."""
    faces = generate(SynthOptions(n_images=12, image_size=96, n_subjects=6)).images
    for face in faces:
        canvas = np.full((200, 240), 128, np.uint8)
        canvas[50:146, 90:186] = face
        if detect_face(canvas) is not None:
            return canvas
    pytest.fail("the detector found none of 12 procedural faces")


def test_face_crop_lands_on_a_drawn_face_and_counts_the_fallback(tmp_path):
    canvas = face_on_canvas()
    box, found = face_box(canvas, margin=0.2)
    assert found
    centre_y, centre_x = box.top + box.side / 2, box.left + box.side / 2
    assert 50 + 25 < centre_y < 146 - 25 and 90 + 25 < centre_x < 186 - 25, box
    assert 48 <= box.side <= 150, box
    root = tmp_path / "f"
    root.mkdir()
    Image.fromarray(canvas).save(root / "s1_happy.png")
    save(root / "s2_sad.png", "L", (240, 200), 128)  # no face: centre crop
    data = load_dataset("imagefolder", root, cache_dir=tmp_path / "c", label_regex=r"_(\w+)\.png$",
                        size=48, face_crop=True)
    assert "faces cropped: 1 (margin 0.2); no face found, centre-cropped: 1 (s2_sad.png)" in data.notes
    assert data.images.shape == (2, 48, 48)
    dropped = load_dataset("imagefolder", root, cache_dir=tmp_path / "c", label_regex=r"_(\w+)\.png$",
                           size=48, face_crop=True, no_face="drop")
    assert "faces cropped: 1 (margin 0.2); no face found, dropped: 1 (s2_sad.png)" in dropped.notes
    assert dropped.classes() == ("happy",) and np.array_equal(dropped.images[0], data.images[0])
    with pytest.raises(DataError, match=r"no face found in 1 of 2 images: s2_sad.png; pass no_face='centre'"):
        load_dataset("imagefolder", root, cache_dir=tmp_path / "c", label_regex=r"_(\w+)\.png$",
                     size=48, face_crop=True, no_face="error")
    with pytest.raises(DataError, match="no_face must be one of centre, drop, error"):
        load_dataset("imagefolder", root, cache_dir=tmp_path / "c", label_regex=r"_(\w+)\.png$",
                     size=48, face_crop=True, no_face="skip")
    with pytest.raises(DataError, match="no_face='drop' needs face_crop=True"):
        load_dataset("imagefolder", root, cache_dir=tmp_path / "c", label_regex=r"_(\w+)\.png$", no_face="drop")


def test_a_kdef_archive_root_loads_leaving_out_akdef_and_misnamed_files_by_name(tmp_path):
    archive = tmp_path / "KDEF_and_AKDEF"
    for sitting in ("AF01", "BM02"):
        for e, code in enumerate(("AF", "AN", "DI", "HA", "NE", "SA", "SU")):
            for view in ("S", "HL"):
                save(archive / "KDEF" / sitting / f"{sitting}{code}{view}.JPG", "RGB", (30, 40), (20 * e, 90, 40))
    for name in ("FAFFL.JPG", "FAFS.JPG", "MANS.JPG"):  # AKDEF's averaged faces: no subject, another layout
        save(archive / "AKDEF" / name, "RGB", (30, 40), (5, 5, 5))
    save(archive / "KDEF" / "AF01" / "AF01ANHS.JPG", "RGB", (30, 40), (1, 2, 3))  # a misnamed view
    save(archive / "KDEF" / "AF03" / "af03ans.jpg", "RGB", (30, 40), (9, 9, 9))  # lower case: still KDEF
    data = load_dataset("kdef", archive, cache_dir=tmp_path / "c", face_crop=False)
    assert len(data) == 15 and sorted(set(data.subjects)) == ["F01", "F03", "M02"]
    assert data.notes[-1] == (
        "skipped 4 files whose names do not match label_regex "
        "'(?i)^[AB][FM]\\d{2}(AF|AN|DI|HA|NE|SA|SU)(?:FL|HL|S|HR|FR)\\.jpe?g$': AKDEF/FAFFL.JPG, AKDEF/FAFS.JPG, "
        "AKDEF/MANS.JPG, KDEF/AF01/AF01ANHS.JPG; under AKDEF/, KDEF/")
    with pytest.raises(DataError, match="'FAFFL.JPG' .* does not match label_regex"):
        load_dataset("kdef", archive, cache_dir=tmp_path / "c", face_crop=False, strict=True)


def test_dry_run_of_a_jaffe_folder_shows_subject_independent_folds(tmp_path, monkeypatch, capsys):
    root = jaffe_folder(tmp_path / "jaffe")
    monkeypatch.chdir(tmp_path)
    assert launch.main(["baseline", "--scale", "cpu", "--dataset", "jaffe", "--data-root", str(root),
                        "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Split (protocol auto): subject-independent k-fold" in out
    assert '"dataset": "jaffe"' in out

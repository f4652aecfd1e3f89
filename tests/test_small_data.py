"""A small posed-expression dataset as users have it: a JAFFE-style flat folder (expression
and subject in each file name, larger uncropped images), launched with the `baseline` study's
`cpu` scale on real local Ray and a real MLflow SQLite store."""

import json

import numpy as np
import pytest
import pandas as pd
from PIL import Image

from tests.test_launch import launch, launched_runs
from trainables.data import EMOTIONS, load_dataset
from trainables.data.synthfaces import SynthOptions, generate

JAFFE_CODES = {"angry": "AN", "disgust": "DI", "fear": "FE", "happy": "HA", "neutral": "NE", "sad": "SA",
               "surprise": "SU"}


def jaffe_like_folder(root, n_subjects=10, per_class=30, size=96):
    """Procedural faces (synthfaces, every class equally often) written as JAFFE names them:
    `KA.AN1.39.tiff` = subject KA, expression AN, take 1, picture 39."""
    faces = generate(SynthOptions(n_images=7 * per_class, image_size=size, n_subjects=n_subjects,
                                  class_weights=(1,) * 7))
    root.mkdir(parents=True)
    takes = {}
    for k, (image, label, subject) in enumerate(zip(faces.images, faces.labels, faces.subjects)):
        code = JAFFE_CODES[EMOTIONS[label]]
        initials = "K" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(str(subject).rsplit("_", 1)[1]) % 26]
        takes[initials, code] = takes.get((initials, code), 0) + 1
        Image.fromarray(image).save(root / f"{initials}.{code}{takes[initials, code]}.{k + 1}.tiff")
    return root


def test_baseline_cpu_scale_on_a_jaffe_folder_keeps_its_budget_and_tests_on_unseen_subjects(tmp_path):
    root = jaffe_like_folder(tmp_path / "jaffe")
    cache = tmp_path / "cache"
    data = load_dataset("jaffe", root, cache_dir=cache)
    n_subjects = len(set(data.subjects))
    assert n_subjects >= 5 and len(data) == 210

    planned = launch("baseline", "--scale", "cpu", "--dataset", "jaffe", "--data-root", str(root), "--dry-run",
                     "--json", cwd=tmp_path, store=False)
    assert planned.returncode == 0, planned.stderr[-3000:]
    cells = [cell["config"] for cell in json.loads(planned.stdout)["cells"]]
    # the scale's 8,000 steps (~2,800 passes over 180 images) capped at 400 passes in each trial
    assert {(c["steps"], c["max_passes"]) for c in cells} == {(8000, 400)}
    assert [c["fold"] for c in cells] == [0, 1, 2, 3, 4]
    told = launch("baseline", "--scale", "cpu", "--dataset", "jaffe", "--data-root", str(root), "--dry-run",
                  cwd=tmp_path, store=False)
    assert ("Budget: 8000 optimizer steps per trial, validated in 20 report rounds; capped at 400 passes over the "
            "trial's real training images") in told.stdout

    # the launch itself at a few steps, two of its folds
    out = launch("baseline", "--scale", "cpu", "--dataset", "jaffe", "--data-root", str(root), "--cache-dir",
                 str(cache), "--cpus-per-trial", "1", "--set", "epochs=2", "--set", "steps=8",
                 "--set", "fold=[0, 1]", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "dataset jaffe, scale cpu" in out.stdout
    client, _, runs = launched_runs(tmp_path)
    assert sorted(r.data.params["fold"] for r in runs) == ["0", "1"]
    tested = []
    for run in runs:
        assert run.info.status == "FINISHED" and run.data.metrics["budget/steps"] == 8
        predictions = pd.read_csv(client.download_artifacts(run.info.run_id, "predictions.csv", str(tmp_path)))
        subjects = set(data.subjects[predictions["index"]])
        # subject-independent: a test subject's every image is in the test split, none in training
        assert len(predictions) == int(np.isin(data.subjects, list(subjects)).sum())
        assert run.data.metrics["data/n_train"] + run.data.metrics["data/n_val"] + len(predictions) == len(data)
        tested.append(subjects)
    assert not tested[0] & tested[1]  # two folds, two different sets of test subjects


FLAT_CODES = {"angry": "ang", "disgust": "dis", "fear": "fea", "happy": "joy", "neutral": "neu", "sad": "sad",
              "surprise": "sur"}


def test_a_flat_folder_of_ones_own_launches_with_its_label_regex_and_class_map(tmp_path):
    """Names as a user's own collection has them (`p03-joy-17.png`), described on the command
    line only; a stray file is left out, named once by the launch and kept on its parent run."""
    faces = generate(SynthOptions(n_images=100, image_size=48, n_subjects=10, class_weights=(1,) * 7))
    root = tmp_path / "mine"
    root.mkdir()
    for k, (image, label, subject) in enumerate(zip(faces.images, faces.labels, faces.subjects)):
        person = int(str(subject).rsplit("_", 1)[1])
        Image.fromarray(image).save(root / f"p{person:02d}-{FLAT_CODES[EMOTIONS[label]]}-{k}.png")
    Image.fromarray(faces.images[0]).save(root / "contact-sheet.png")
    options = {"label_regex": r"^p\d+-([a-z]{3})-\d+\.png$", "subject_regex": r"^(p\d+)-",
               "class_map": {code: emotion for emotion, code in FLAT_CODES.items()}}
    out = launch("baseline", "--scale", "cpu", "--dataset", "imagefolder", "--data-root", str(root),
                 "--set", f"dataset_options={json.dumps(options)}", "--cpus-per-trial", "1", "--set", "epochs=2",
                 "--set", "steps=8", "--set", "fold=[0]", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    skipped = ("skipped 1 files whose names do not match label_regex '^p\\d+-([a-z]{3})-\\d+\\.png$': "
               "contact-sheet.png")
    assert out.stdout.count(f"data: {skipped}") == 1
    client, record, [run] = launched_runs(tmp_path)
    assert json.loads(client.get_run(record["parent_run_id"]).data.tags["ferlab.data_notes"]) == [skipped]
    assert run.info.status == "FINISHED" and "ferlab.data_notes" not in run.data.tags
    sizes = run.data.metrics
    assert sizes["data/n_train_real"] + sizes["data/n_val"] + sizes["data/n_test"] == 100  # the stray file left out


def test_the_preload_reads_the_dataset_with_the_trials_options():
    from study.space import LaunchOptions, dataset_options
    from study.spec import StudyError, load_study

    baseline = load_study("baseline")
    opts = lambda dataset, **overrides: LaunchOptions(scale="smoke", dataset=dataset, data_root=None,  # noqa: E731
                                                      storage_path="", tracking_uri="", overrides=overrides)
    assert dataset_options(baseline, opts("kdef")) == {}
    assert dataset_options(baseline, opts("kdef", dataset_options={"views": ["S", "HL"]})) == {"views": ["S", "HL"]}
    assert dataset_options(baseline, opts("synthfaces")) == dict(baseline.scales["smoke"].synthfaces)
    with pytest.raises(StudyError, match="dataset_options must be a mapping of the dataset loader's options"):
        dataset_options(baseline, opts("kdef", dataset_options="views=S"))


def test_a_preset_launched_with_other_views_is_read_with_them_by_the_launch_and_its_trials(tmp_path):
    """KDEF's half-left view as well as the straight one: the launch's own read of the data
    (its dataset hash, its split check) and every trial's take the same 56 images, where
    the preset's default view alone has 28."""
    from tests.test_data_flat import kdef_folder

    root = kdef_folder(tmp_path / "kdef")
    options = {"views": ["S", "HL"], "face_crop": False}
    both = load_dataset("kdef", root, cache_dir=tmp_path / "c", **options)
    straight = load_dataset("kdef", root, cache_dir=tmp_path / "c", face_crop=False)
    assert (len(both), len(straight)) == (56, 28) and both.content_hash != straight.content_hash
    out = launch("baseline", "--scale", "smoke", "--dataset", "kdef", "--data-root", str(root), "--cache-dir",
                 str(tmp_path / "c"), "--set", f"dataset_options={json.dumps(options)}", "--set", "protocol=kfold",
                 "--set", 'net=["simple"]', "--set", "epochs=2", "--set", "steps=8", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    client, record, [run] = launched_runs(tmp_path)
    assert client.get_run(record["parent_run_id"]).data.tags["ferlab.dataset_hash"] == both.content_hash
    sizes = run.data.metrics
    assert sizes["data/n_train_real"] + sizes["data/n_val"] + sizes["data/n_test"] == 56

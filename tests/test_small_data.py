"""A small posed-expression dataset as users have it: a JAFFE-style flat folder (expression
and subject in each file name, larger uncropped images), launched with the `baseline` study's
`cpu` scale on real local Ray and a real MLflow SQLite store."""

import json

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from PIL import Image

from tests.test_launch import launch
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
    # the scale's step budget whatever the dataset's size: 8000 steps is ~2,800 passes over 180 images
    assert {c["steps"] for c in cells} == {8000} and [c["fold"] for c in cells] == [0, 1, 2, 3, 4]

    # the launch itself at a few steps, two of its folds
    out = launch("baseline", "--scale", "cpu", "--dataset", "jaffe", "--data-root", str(root), "--cache-dir",
                 str(cache), "--cpus-per-trial", "1", "--set", "epochs=2", "--set", "steps=8",
                 "--set", "fold=[0, 1]", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "dataset jaffe, scale cpu" in out.stdout
    record = json.loads(next((tmp_path / "ray_results").glob("*/ferlab_launch.json")).read_text())
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([record["experiment_id"]], f"tags.`mlflow.parentRunId` = '{record['parent_run_id']}'")
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

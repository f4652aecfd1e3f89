"""synthfaces drawn once per process for the same options, each caller with arrays of its
own, and a launch's driver given its labels, subjects and hash without any face drawn."""

import numpy as np
import pytest

from trainables.data import load_dataset, synthfaces

OPTIONS = {"n_images": 120, "n_subjects": 6, "seed": 3}


@pytest.fixture
def drawings(monkeypatch):
    """Counts the faces synthfaces renders, from an empty per-process memo."""
    synthfaces._drawn.cache_clear()
    counted = []
    real_render = synthfaces.render

    def render(params, size, rng):
        counted.append(len(params["skin"]))
        return real_render(params, size, rng)

    monkeypatch.setattr(synthfaces, "render", render)
    yield counted
    synthfaces._drawn.cache_clear()


def test_the_same_options_are_drawn_once_and_every_caller_gets_its_own_arrays(drawings):
    first = load_dataset("synthfaces", **OPTIONS)
    first.images[:] = 0
    first.labels[:] = 0
    second = load_dataset("synthfaces", **OPTIONS)
    assert drawings == [120]
    assert second.images.any() and second.labels.any()  # the first caller's writes stayed its own
    fresh = synthfaces.generate(synthfaces.SynthOptions.parse(OPTIONS))
    assert np.array_equal(second.images, fresh.images) and np.array_equal(second.labels, fresh.labels)
    load_dataset("synthfaces", **{**OPTIONS, "seed": 4})
    assert drawings == [120, 120, 120]  # other options are drawn (the second 120 is `fresh`)


def test_the_driver_gets_labels_subjects_and_hash_without_a_face_drawn(drawings):
    found = load_dataset("synthfaces", images=False, **OPTIONS)
    assert drawings == []
    full = load_dataset("synthfaces", **OPTIONS)
    assert found.content_hash == full.content_hash and found.procedural
    assert np.array_equal(found.labels, full.labels) and np.array_equal(found.subjects, full.subjects)
    assert found.images.shape == full.images.shape and not found.images.any()

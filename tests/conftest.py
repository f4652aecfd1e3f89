"""Session-wide test settings: parsed-data caches and Ray/MLflow state stay in a
temporary folder, never in the user's home."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    if "FERLAB_CACHE_DIR" not in os.environ:
        os.environ["FERLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("ferlab-cache"))
    yield

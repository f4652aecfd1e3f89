"""Every study in search_spaces/ is whole across the layers: each of its scales loads and
only shrinks or declares its deviations, every cell of each scale passes its trainable's
config validator, its trainable is registered, and its tables have layouts in
analysis/layouts/<study>.py. A new study gets these checks by existing."""

import json
from pathlib import Path

import pytest

from analysis.layouts import get_layout, list_layouts
from study import launch
from study.runner import LaunchOptions
from study.tune_run import tune_config
from study.spec import SCALES, list_studies, load_study, undeclared_deviations
# The trainable registry, name -> (training function, config validator): the one import to
# repoint when the registry moves.
from trainables.trials.registry import TRAINABLES

REPO = Path(__file__).resolve().parents[1]
STUDIES = list_studies()
STUDY_SCALES = [(name, scale) for name in STUDIES for scale in SCALES]


@pytest.mark.parametrize("name", STUDIES)
def test_its_trainable_is_registered(name):
    trainable = load_study(name).trainable
    assert trainable in TRAINABLES, f"{name} names trainable {trainable!r}; registered: {sorted(TRAINABLES)}"


@pytest.mark.parametrize("name,scale", STUDY_SCALES)
def test_every_scale_dry_runs_only_shrinks_or_declares_and_each_cell_passes_its_validator(
        name, scale, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    study = load_study(name)
    assert undeclared_deviations(study, scale) == []
    assert launch.main([name, "--scale", scale, "--dry-run", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["study"] == name and found["scale"] == scale
    # the study's protocol deviations, the paper scale's (from the recipe), then the scale's own
    assert found["deviations"] == {**study.protocol_deviations, **study.scales["paper"].deviations,
                                   **study.scales[scale].deviations}
    assert found["cells"] and all(c["config"]["dataset"] == "synthfaces" for c in found["cells"])
    assert list(tmp_path.iterdir()) == []  # wrote nothing: no store, no Tune directory
    import ray
    assert not ray.is_initialized()
    _, validate = TRAINABLES[study.trainable]
    for cell in found["cells"]:
        # an Optuna study's searched keys are shown as their domains: validate one sample of each
        searched = {key: domain.sample() for key, domain in study.optuna_space.items()}
        validate({k: v for k, v in {**cell["config"], **searched}.items() if not k.startswith("_")})


@pytest.mark.parametrize("name,scale", STUDY_SCALES)
def test_a_dry_run_prints_search_domains_as_definitions_and_the_same_text_twice(
        name, scale, tmp_path, monkeypatch, capsys):
    """A user reads what Optuna will search (`choice([...])`, not an object address), and
    two dry runs of one launch print identical output, JSON and text."""
    monkeypatch.chdir(tmp_path)
    outputs = []
    for form in (["--json"], [], ["--json"], []):
        assert launch.main([name, "--scale", scale, "--dry-run", *form]) == 0
        outputs.append(capsys.readouterr().out)
    assert not any("object at 0x" in out for out in outputs), outputs[0]
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]


@pytest.mark.parametrize("name", STUDIES)
def test_its_tables_have_layouts_in_its_own_layout_module(name):
    tables = load_study(name).tables
    assert tables, f"search_spaces/{name}.py declares no tables"
    for table in tables:
        get_layout(table)  # raises, listing the known layouts
    assert (REPO / "analysis" / "layouts" / f"{name}.py").is_file()


def test_every_layout_is_some_studys_table():
    declared = {table for name in STUDIES for table in load_study(name).tables}
    assert set(list_layouts()) - declared == set()


@pytest.mark.parametrize("name", list_studies())
def test_search_and_selection_metric_is_a_validation_key(name, monkeypatch):
    """Epochs and hyper-parameters are chosen on validation only: the study's metric, and
    what Tune's searcher and scheduler are handed, is a `val/` key, minimised when it is
    a distance or a loss."""
    monkeypatch.setenv("TUNE_DISABLE_STRICT_METRIC_CHECKING", "0")  # tune_config sets it; restored after
    study = load_study(name)
    assert study.metric.startswith("val/"), study.metric
    lower_is_better = any(word in study.metric for word in ("kid", "fid", "loss"))
    assert study.mode == ("min" if lower_is_better else "max")
    opts = LaunchOptions(scale="smoke", dataset="synthfaces", data_root=None, storage_path="", tracking_uri="")
    config = tune_config(study, opts)
    acting = study.search == "optuna" or study.early_stopping
    assert (config.metric, config.mode) == ((study.metric, study.mode) if acting else (None, None))
    # ASHA and the searcher take TuneConfig's metric when the Tuner starts, unless given their own
    assert (config.scheduler is not None) == study.early_stopping
    assert (config.search_alg is not None) == (study.search == "optuna")
    own = [getattr(config.scheduler, "_metric", None), getattr(config.search_alg, "metric", None)]
    assert all(m in (None, study.metric) for m in own), own

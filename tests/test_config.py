"""Trial configs parsed once at the door (trainables.core.config): Tune's flat dict into
nested frozen dataclasses, each key declared (with its default) in one place."""

import dataclasses
from dataclasses import dataclass

import pytest

from trainables.core.config import ConfigError, flat_keys, from_flat, section
from trainables.core.real_data import DataConfig
from trainables.gans.fesr_fit import FESROptions
from trainables.trials.classifier import parse_config as parse_classifier
from trainables.trials.fesr import LAMBDA_KEYS, parse_config as parse_fesr


@dataclass(frozen=True)
class Loop:
    size: int = 48
    weights: tuple[float, ...] = (1.0, 2.0)
    seed: int = 0


@dataclass(frozen=True)
class Trial:
    name: str = "a"
    data: DataConfig = section(DataConfig)
    loop: Loop = section(Loop, flat={"size": "image_size", "weights": ("w1", "w2")})


def test_sections_take_their_keys_from_the_flat_dict_renamed_where_declared():
    cfg = from_flat(Trial, {"name": "b", "dataset": "fer2013", "fold": 3, "image_size": 64, "w2": 5, "seed": 7})
    assert cfg == Trial(name="b", data=DataConfig(dataset="fer2013", fold=3), loop=Loop(64, (1.0, 5.0), 7))
    assert isinstance(cfg.loop.weights[1], float)  # an int given for a float is stored as a float
    assert from_flat(Trial, {}) == Trial()
    assert "image_size" in flat_keys(Trial) and "size" not in flat_keys(Trial) and "data" not in flat_keys(Trial)


@pytest.mark.parametrize("bad, message", [
    ({"size": 64}, r"unknown config key\(s\) \['size'\] for Trial; allowed keys: .*'image_size'"),
    ({"data": {}}, r"unknown config key\(s\) \['data'\]"),
    ({"image_size": "big"}, "config key 'image_size' = 'big' has the wrong type"),
    ({"w1": None}, "config key 'w1' = None has the wrong type"),
    ({"fold": 1.5}, "config key 'fold' = 1.5 has the wrong type"),
])
def test_a_bad_flat_key_is_named_as_the_trial_config_names_it(bad, message):
    with pytest.raises(ConfigError, match=message):
        from_flat(Trial, bad)


def test_choices_apply_to_flat_keys_inside_sections():
    with pytest.raises(ConfigError, match="'protocol' = 'loo' is not allowed"):
        from_flat(Trial, {"protocol": "loo"}, {"protocol": ("auto", "kfold")})


def test_fesr_config_is_its_loop_options_and_the_data_section_declared_once():
    cfg = parse_fesr({"image_size": 64, "lambda6": 0.01, "seed": 3, "dataset": "synthfaces", "batch_size": 8})
    assert cfg.fesr == FESROptions(size=64, batch_size=8, seed=3,
                                   lambdas=FESROptions().lambdas[:5] + (0.01,))
    assert cfg.data == DataConfig() and cfg.seed == 3
    assert parse_fesr({}).fesr == FESROptions()  # no default repeated in the trial config
    assert len(LAMBDA_KEYS) == len(FESROptions().lambdas)


def test_the_classifier_config_nests_the_data_section():
    cfg = parse_classifier({"dataset": "synthfaces", "n_folds": 4, "class_fraction": 0.5, "net": "zhu_cnn"})
    assert cfg.data == DataConfig(n_folds=4, class_fraction=0.5) and cfg.net == "zhu_cnn"


def test_a_trainable_with_its_own_section_names_both_sections_keys_when_a_key_is_unknown():
    from trainables.configs.classifier import parse_trial
    from trainables.configs.synthetic_ratio import RatioConfig, parse_config as parse_ratio
    from trainables.core.config import UnknownKeyError, split_from

    @dataclasses.dataclass(frozen=True)
    class Own:
        gamma: float = 1.0

    own, rest = split_from(Own, {"gamma": 2, "lr": 0.1}, lambda keys: keys, "own")
    assert own == Own(2.0) and rest == {"lr": 0.1}  # the rest reaches its parser untouched
    with pytest.raises(ConfigError, match=r"'gamma' = 'x' has the wrong type"):
        split_from(Own, {"gamma": "x"}, lambda keys: keys, "own")
    with pytest.raises(ConfigError, match=r"^boom \(own keys: \['gamma'\]\)$"):
        split_from(Own, {}, lambda keys: (_ for _ in ()).throw(UnknownKeyError("boom")), "own")
    with pytest.raises(ConfigError, match=r"^wrong type$"):  # only an unknown key could be the other section's
        split_from(Own, {}, lambda keys: (_ for _ in ()).throw(ConfigError("wrong type")), "own")
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) \['no_such_key'\].*\(cross-dataset keys: "
                                          r"\['cross_dataset', "):
        parse_trial({"net": "simple", "no_such_key": 1})
    ratio_keys = sorted(f.name for f in dataclasses.fields(RatioConfig))
    with pytest.raises(ConfigError) as err:
        parse_ratio({"no_such_key": 1})
    assert str(err.value).endswith(f"(synthetic-ratio keys: {ratio_keys})")

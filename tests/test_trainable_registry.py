"""The trainable registry (trainables.trials.registry): lookup by name failing loudly, and
every registered trainable's validator at the door."""

import pytest

from trainables.core.config import ConfigError
from trainables.trials.registry import UnknownTrainable, get_trainable, list_trainables


def test_an_unknown_name_fails_listing_the_known_ones():
    with pytest.raises(UnknownTrainable) as err:
        get_trainable("stylegan")
    assert str(err.value) == f"unknown trainable 'stylegan'; known: {', '.join(list_trainables())}"
    assert "classifier" in list_trainables() and list_trainables() == sorted(list_trainables())


@pytest.mark.parametrize("name", list_trainables())
def test_every_validator_takes_its_defaults_and_rejects_an_unknown_key(name):
    train, parse = get_trainable(name)
    assert callable(train)
    parse({})
    with pytest.raises(ConfigError, match="no_such_key"):
        parse({"no_such_key": 1})


def test_the_synthetic_ratio_config_knows_the_identity_sources_by_their_names():
    """The config names the sources without importing them (torch); the names must be the
    registered sources', in their order."""
    from trainables.configs.synthetic_ratio import CHOICES
    from trainables.synthetic.identity_sources import IDENTITY_SOURCES

    assert CHOICES["identity_source"] == tuple(IDENTITY_SOURCES) == ("dcgan", "fesgan")

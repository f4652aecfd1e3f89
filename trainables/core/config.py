"""Turning Ray Tune's plain dict into a frozen, validated config at the trainable's door."""

import dataclasses
import types
import typing


class ConfigError(ValueError):
    """A trial config with an unknown key or a value outside what the trainable accepts."""


def _accepts(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


def from_dict(cls, config: dict, choices: dict[str, tuple] | None = None):
    """Build the frozen dataclass `cls` from `config`, rejecting unknown keys, values of the
    wrong type and values outside `choices[key]`, each with a message naming the key."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown} for {cls.__name__}; allowed keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    for key, value in config.items():
        if not _accepts(value, hints[key]):
            raise ConfigError(f"config key {key!r} = {value!r} has the wrong type; expected {hints[key]}")
        allowed = (choices or {}).get(key)
        if allowed is not None and value not in allowed:
            raise ConfigError(f"config key {key!r} = {value!r} is not allowed; allowed values: {list(allowed)}")
    return cls(**{k: (float(v) if hints[k] is float else v) for k, v in config.items()})

"""Turning Ray Tune's plain dict into a frozen, validated config at the trainable's door.

Tune's trial config stays flat (the search spaces name flat keys); a trial config may
still be nested: a field whose type is a dataclass is a section (the data, a GAN loop's
options) and takes its values from the flat dict too, under its own field names, or
under the flat keys `section(flat=...)` maps them to. Each key and its default are
declared once, in the dataclass that uses it."""

import dataclasses
import types
import typing


class ConfigError(ValueError):
    """A trial config with an unknown key or a value outside what the trainable accepts."""


class UnknownKeyError(ConfigError):
    """A trial config key no section of the trainable declares."""


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


def _checked(key: str, value, hint, choices: dict[str, tuple] | None):
    if not _accepts(value, hint):
        raise ConfigError(f"config key {key!r} = {value!r} has the wrong type; expected {hint}")
    allowed = (choices or {}).get(key)
    if allowed is not None and value not in allowed:
        raise ConfigError(f"config key {key!r} = {value!r} is not allowed; allowed values: {list(allowed)}")
    return float(value) if hint is float else value


def from_dict(cls, config: dict, choices: dict[str, tuple] | None = None):
    """Build the frozen dataclass `cls` from `config`, rejecting unknown keys, values of the
    wrong type and values outside `choices[key]`, each with a message naming the key."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise UnknownKeyError(f"unknown config key(s) {unknown} for {cls.__name__}; allowed keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    return cls(**{key: _checked(key, value, hints[key], choices) for key, value in config.items()})


def split_from(cls, config: dict, parse_rest, what: str, choices: dict[str, tuple] | None = None):
    """(`cls` built from the keys of `config` that are its fields, `parse_rest` of the other
    keys): one trial config feeding a trainable's own section and a shared one (the
    classifier's). An unknown key in the rest also lists `cls`'s keys, as `what` keys, since
    a mistyped key of either lands there."""
    keys = {f.name for f in dataclasses.fields(cls)}
    own = from_dict(cls, {k: v for k, v in config.items() if k in keys}, choices)
    try:
        rest = parse_rest({k: v for k, v in config.items() if k not in keys})
    except UnknownKeyError as err:
        raise UnknownKeyError(f"{err} ({what} keys: {sorted(keys)})") from None
    return own, rest


def section(cls, flat: dict[str, str | tuple[str, ...]] | None = None):
    """A nested section of a trial config, built from the flat dict. `flat` renames the
    section's fields where the flat key differs ({"size": "image_size"}); a tuple field
    may take one flat key per element ({"lambdas": ("lambda1", …)})."""
    return dataclasses.field(default_factory=cls, metadata={"flat": flat or {}})


def _is_section(hint) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _slots(cls) -> dict[str, list[tuple[tuple, object, int | None]]]:
    """flat key → where its value goes: (path of field names, type, element index of a
    tuple field fed key by key, else None)."""
    hints = typing.get_type_hints(cls)
    slots: dict[str, list] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if not _is_section(hint):
            slots.setdefault(f.name, []).append(((f.name,), hint, None))
            continue
        renames = f.metadata.get("flat", {})
        for key, places in _slots(hint).items():
            for path, sub_hint, index in places:
                flat = renames.get(path[0], key) if len(path) == 1 else key
                if isinstance(flat, tuple):  # one flat key per element of the tuple field
                    element = typing.get_args(sub_hint)[0]
                    for i, name in enumerate(flat):
                        slots.setdefault(name, []).append(((f.name, *path), element, i))
                else:
                    slots.setdefault(flat, []).append(((f.name, *path), sub_hint, index))
    return slots


def flat_keys(cls) -> list[str]:
    """Every key the flat trial dict may hold for the (possibly nested) config `cls`."""
    return sorted(_slots(cls))


def _build(cls, values: dict[tuple, object], prefix: tuple = ()):
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        path = (*prefix, f.name)
        if _is_section(hints[f.name]):
            kwargs[f.name] = _build(hints[f.name], values, path)
            continue
        elements = {index: v for (p, index), v in values.items() if p == path and index is not None}
        if elements:  # a tuple field fed key by key: the keys not given keep the default's element
            default = list(f.default)
            for index, v in elements.items():
                default[index] = v
            kwargs[f.name] = tuple(default)
        elif (path, None) in values:
            kwargs[f.name] = values[(path, None)]
    return cls(**kwargs)


def from_flat(cls, config: dict, choices: dict[str, tuple] | None = None):
    """Build the nested frozen dataclass `cls` from Tune's flat `config`: as `from_dict`,
    each key checked under its flat name, with sections (see `section`) built from
    theirs. A key that is not in `cls` or any of its sections is rejected."""
    slots = _slots(cls)
    unknown = sorted(set(config) - set(slots))
    if unknown:
        raise UnknownKeyError(f"unknown config key(s) {unknown} for {cls.__name__}; allowed keys: {sorted(slots)}")
    values = {}
    for key, value in config.items():
        for path, hint, index in slots[key]:
            values[(path, index)] = _checked(key, value, hint, choices)
    return _build(cls, values)


def flat_values(config) -> dict:
    """{flat key: value} of a built config (`from_flat`'s inverse): every key the trainable
    reads, at the value it reads, defaults filled. A config made of sections built apart
    (a dataclass whose fields are dataclasses) reads the same way."""
    found = {}
    for key, places in _slots(type(config)).items():
        path, _, index = places[0]
        value = config
        for name in path:
            value = getattr(value, name)
        found[key] = value if index is None else value[index]
    return found

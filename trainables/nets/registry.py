"""A small explicit registry of networks: each entry says its input size, so the data
layer resizes to what the net expects (48 for Zhu and Birenbaum, 64 for Picha)."""

import inspect
from dataclasses import dataclass
from typing import Callable

from torch import nn


@dataclass(frozen=True)
class NetSpec:
    name: str
    input_size: int
    build: Callable[..., nn.Module]
    description: str

    def accepts(self, option: str) -> bool:
        """Whether the builder takes `option` (e.g. 'dropout') as a keyword."""
        return option in inspect.signature(self.build).parameters


_NETS: dict[str, NetSpec] = {}


def register_net(name: str, input_size: int, description: str):
    def wrap(build):
        if name in _NETS:
            raise ValueError(f"net {name!r} registered twice")
        _NETS[name] = NetSpec(name, input_size, build, description)
        return build

    return wrap


def list_nets() -> list[str]:
    return sorted(_NETS)


def net_spec(name: str) -> NetSpec:
    if name not in _NETS:
        raise ValueError(f"unknown net {name!r}; known nets: {', '.join(list_nets())}")
    return _NETS[name]


def create_net(name: str, n_classes: int, **kwargs) -> nn.Module:
    return net_spec(name).build(n_classes=n_classes, **kwargs)


# Importing the modules registers their nets; kept here so no lookup depends on an
# import made elsewhere.
from trainables.nets import classifiers  # noqa: E402,F401

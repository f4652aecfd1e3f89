"""A small explicit registry of networks: each entry says its input size, so the data
layer resizes to what the net expects (48 for Zhu and Birenbaum, 64 for Picha).

The registry loads without torch: a net's builder is named as "module:attribute" and
imported when a net is built, so the driver validates a trial config (the net's name,
whether it takes `dropout`) without paying for torch."""

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class NetSpec:
    name: str
    input_size: int
    builder: str  # "module:attribute", imported by `build`
    description: str
    options: tuple[str, ...] = ("width",)  # the keywords the builder takes besides n_classes

    @property
    def build(self) -> Callable:
        module, _, attribute = self.builder.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def accepts(self, option: str) -> bool:
        """Whether the builder takes `option` (e.g. 'dropout') as a keyword."""
        return option in self.options


_NETS: dict[str, NetSpec] = {spec.name: spec for spec in (
    NetSpec("zhu_cnn", 48, "trainables.nets.classifiers:ZhuCNN", "Zhu et al. 2017, Table 3: 2 conv + 2 FC(256)"),
    NetSpec("picha_cnn", 64, "trainables.nets.classifiers:PichaCNN",
            "Gholipour Picha et al. 2023, Table 1: 4 conv + Dense 1024"),
    NetSpec("simple", 48, "trainables.nets.classifiers:SimpleClassifier",
            "Birenbaum's VGG-like 'simple classifier' (slides, 5.9 M parameters)", options=("width", "dropout")),
)}


def list_nets() -> list[str]:
    return sorted(_NETS)


def net_spec(name: str) -> NetSpec:
    if name not in _NETS:
        raise ValueError(f"unknown net {name!r}; known nets: {', '.join(list_nets())}")
    return _NETS[name]


def create_net(name: str, n_classes: int, **kwargs):
    """A torch module: the net `name` for `n_classes` classes."""
    return net_spec(name).build(n_classes=n_classes, **kwargs)

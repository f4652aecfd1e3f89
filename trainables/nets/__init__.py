"""Networks by name: `create_net("simple", n_classes=7)`, `list_nets()`."""

from trainables.nets.registry import NetSpec, create_net, list_nets, net_spec

__all__ = ["NetSpec", "create_net", "list_nets", "net_spec"]

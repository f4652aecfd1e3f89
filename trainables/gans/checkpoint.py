"""One checkpoint helper for every GAN loop: the state of a bundle's nets and optimisers
(and of any torch.Generator the loop draws from), plus whatever the loop adds (its
iteration, its best-so-far), written atomically.

Layout: {"nets": {name: state_dict}, "optims": {name: state_dict}, "rng": {name: state},
**extra}. A cache may store only `bundle_state(bundle)` (nets and optimisers), which
`load_bundle_state` restores."""

from pathlib import Path

import torch

from trainables.core.caches import torch_save_atomic
from trainables.gans.contract import GANBundle


def bundle_state(bundle: GANBundle, nets: tuple[str, ...] | None = None,
                 optims: tuple[str, ...] | None = None) -> dict:
    """{"nets": …, "optims": …} of the whole bundle, or of the nets and optimisers named."""
    return {"nets": {k: n.state_dict() for k, n in bundle.nets.items() if nets is None or k in nets},
            "optims": {k: o.state_dict() for k, o in bundle.optims.items() if optims is None or k in optims}}


def load_bundle_state(bundle: GANBundle, state: dict) -> None:
    """Load what `bundle_state` saved; nets or optimisers it does not name are left as they are."""
    for k, s in state["nets"].items():
        bundle.nets[k].load_state_dict(s)
    for k, s in state["optims"].items():
        bundle.optims[k].load_state_dict(s)


def save_checkpoint(path: Path, bundle: GANBundle, generators: dict[str, torch.Generator] | None = None,
                    **extra) -> None:
    """Save the bundle, the states of `generators` and `extra` (picklable) to `path`."""
    rng = {k: g.get_state() for k, g in (generators or {}).items()}
    torch_save_atomic({**bundle_state(bundle), "rng": rng, **extra}, path)


def load_checkpoint(path: Path, bundle: GANBundle, generators: dict[str, torch.Generator] | None = None,
                    map_location=None) -> dict:
    """Restore the bundle and `generators` from `path` in place; returns the loop's extras."""
    state = torch.load(path, map_location=map_location, weights_only=False)
    load_bundle_state(bundle, state)
    for k, g in (generators or {}).items():
        g.set_state(state["rng"][k].cpu())
    return {k: v for k, v in state.items() if k not in ("nets", "optims", "rng")}

"""Balanced synthetic faces (Picha et al. §3.1): new identities from an identity source,
each translated by StarGAN into all six Ekman expressions — every identity has every
expression exactly once, so the set is balanced by construction.

A study generates one set, the largest it needs (max ratio × identities per unit);
smaller ratios take a prefix of whole identities, so k = 1's data is part of k = 2's.
The set is kept in the cache under (identity source weights, StarGAN weights, size,
identity count, seed), generated under a file lock, so concurrent trials wait for the
first and then load it: one generation per study."""

from dataclasses import dataclass

import numpy as np
import torch

from atomic import atomic_file
from trainables.core.caches import file_lock
from trainables.data.cache import cache_root, sha256_json
from trainables.synthetic.identity_sources import IdentitySource, to_uint8

EKMAN = ("angry", "disgust", "fear", "happy", "sad", "surprise")  # = EMOTIONS[:6]


@dataclass(frozen=True)
class BalancedSet:
    """Identity-major: rows 6i..6i+5 are identity i in the six expressions, in EKMAN order."""

    images: np.ndarray  # uint8 N×S×S
    labels: np.ndarray  # indices into EKMAN
    identities: np.ndarray  # identity number per image

    def prefix(self, n_identities: int) -> "BalancedSet":
        n = n_identities * len(EKMAN)
        if n > len(self.labels):
            raise ValueError(f"asked for {n_identities} identities; the set has {len(self.labels) // len(EKMAN)}")
        return BalancedSet(self.images[:n], self.labels[:n], self.identities[:n])


@torch.no_grad()
def generate_balanced(source: IdentitySource, translator: torch.nn.Module, n_identities: int, seed: int,
                      device: torch.device, batch: int = 128) -> BalancedSet:
    faces = source.sample(n_identities, seed)
    translator = translator.eval()
    k = len(EKMAN)
    out = []
    for start in range(0, n_identities, batch):
        x = torch.from_numpy(faces[start:start + batch]).float().div(127.5).sub(1).unsqueeze(1).to(device)
        per_domain = [to_uint8(translator(x, torch.full((len(x),), d, device=device))) for d in range(k)]
        out.append(np.stack(per_domain, axis=1).reshape(-1, *faces.shape[1:]))
    images = np.concatenate(out) if out else np.zeros((0, *faces.shape[1:]), np.uint8)
    return BalancedSet(images, np.tile(np.arange(k), n_identities), np.repeat(np.arange(n_identities), k))


def balanced_set(cache_dir, source: IdentitySource, translator: torch.nn.Module, translator_hash: str,
                 n_identities: int, seed: int, device: torch.device) -> tuple[BalancedSet, bool]:
    """(the set, whether this call generated it)."""
    key = sha256_json({"source": source.name, "source_weights": source.weights_hash,
                       "translator_weights": translator_hash, "n_identities": n_identities, "seed": seed})
    path = cache_root(cache_dir) / "balanced" / f"{n_identities}-{key[:32]}.npz"
    with file_lock(path):
        if path.exists():
            with np.load(path) as stored:
                return BalancedSet(stored["images"], stored["labels"], stored["identities"]), False
        found = generate_balanced(source, translator, n_identities, seed, device)
        with atomic_file(path) as tmp:
            np.savez(tmp, images=found.images, labels=found.labels, identities=found.identities)
        return found, True

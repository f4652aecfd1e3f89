"""The identity feature extractor F_id of FESR's L_id (eq. 12) and of the identity
verification rate (their Table IV). Light CNN-29 cannot be downloaded here, so:

- `auto`: a small CNN (trainables.nets.fesgan.IdentityNet) trained to tell apart the
  subjects of the training split — never validation or test subjects — cached per data,
  split and options; on a dataset without subject ids there is nothing to train it on,
  and L_id is off (the trial reports `identity/active` = 0);
- a path: a network from a local file (`torch.export` `.pt2`, or TorchScript) — any
  face-identity network, e.g. an exported Light CNN — mapping N×1×S×S images in
  [-1, 1] to N×D features; frozen;
- `off`: no identity extractor.
"""

import hashlib
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from trainables.core.caches import torch_save_atomic
from trainables.data.cache import cache_root, sha256_json
from trainables.nets.fesgan import IdentityNet

Extractor = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class IdentityOptions:
    size: int
    width: float = 0.5
    epochs: int = 15
    batch_size: int = 64
    seed: int = 0


def load_module(path: str, device: torch.device) -> torch.nn.Module:
    """A frozen network from a local file: a `torch.export` program (`.pt2`, from
    `torch.export.save`) or a TorchScript module (any other suffix)."""
    if Path(path).suffix == ".pt2":
        module = torch.export.load(path).module().to(device)
    else:
        module = torch.jit.load(path, map_location=device).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def train_identity_net(images: torch.Tensor, subjects: np.ndarray, opts: IdentityOptions, content_hash: str,
                       device: torch.device, cache_dir=None) -> tuple[IdentityNet, float]:
    """IdentityNet trained on (training-split) images and their subject ids; returns it
    frozen, in eval mode, with its final training accuracy."""
    names, ids = np.unique(subjects, return_inverse=True)
    key = sha256_json({"content": content_hash, "subjects": hashlib.sha256(np.asarray(ids).tobytes()).hexdigest(),
                       "images": hashlib.sha256(images.numpy().tobytes()).hexdigest()[:32], **opts.__dict__})
    path = cache_root(cache_dir) / "identity" / f"identity-{key[:32]}.pt"
    torch.manual_seed(opts.seed)
    net = IdentityNet(opts.size, len(names), opts.width).to(device)
    if path.exists():
        stored = torch.load(path, map_location=device, weights_only=True)
        net.load_state_dict(stored["state"])
        return _frozen(net), float(stored["train_acc"])
    y = torch.from_numpy(ids).long()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(opts.seed)
    acc = 0.0
    for _ in range(opts.epochs):
        net.train()
        order = torch.randperm(len(y), generator=gen)
        correct = 0
        for i in range(0, len(order), opts.batch_size):
            idx = order[i:i + opts.batch_size]
            x = images[idx].to(device)
            x = torch.where(torch.rand(len(idx), 1, 1, 1, generator=gen).to(device) < 0.5, x, x.flip(-1))
            logits = net(x)
            loss = F.cross_entropy(logits, y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += (logits.argmax(1).cpu() == y[idx]).sum().item()
        acc = correct / len(y)
    torch_save_atomic({"state": net.state_dict(), "train_acc": torch.tensor(acc)}, path)
    return _frozen(net), acc


def _frozen(net: IdentityNet) -> IdentityNet:
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def identity_extractor(choice: str, images: torch.Tensor, subjects: np.ndarray | None, opts: IdentityOptions,
                       content_hash: str, device: torch.device, cache_dir=None) -> tuple[Extractor | None, dict]:
    """(F_id or None, metrics saying which one is used)."""
    if choice == "off":
        return None, {"identity/active": 0.0}
    if choice != "auto":
        module = load_module(choice, device)
        return module, {"identity/active": 1.0}
    if subjects is None:
        return None, {"identity/active": 0.0}
    net, acc = train_identity_net(images, subjects, opts, content_hash, device, cache_dir)
    return net.features, {"identity/active": 1.0, "identity/train_acc": acc}


@torch.no_grad()
def cosine_similarities(extract: Extractor, probes: torch.Tensor, references: torch.Tensor,
                        batch: int = 256) -> np.ndarray:
    """Cosine similarity of F_id(probe_i) and F_id(reference_i) for each pair i."""
    def feats(x):
        return torch.cat([F.normalize(extract(x[i:i + batch]).flatten(1), dim=1) for i in range(0, len(x), batch)])
    return (feats(probes) * feats(references)).sum(1).cpu().numpy()


def accuracy_at(sim: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """The share of pairs called correctly when similarity ≥ threshold means "same person"."""
    return float(((np.asarray(sim) >= threshold) == np.asarray(same, bool)).mean())


def best_threshold(sim: np.ndarray, same: np.ndarray) -> float:
    """The similarity threshold that calls the most of these pairs correctly: a midpoint
    between two neighbouring similarities (or beyond either end), the lowest of equals."""
    values = np.unique(np.asarray(sim, float))
    candidates = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    accuracies = [accuracy_at(sim, same, t) for t in candidates]
    return float(candidates[int(np.argmax(accuracies))])


def verification(val_sim: np.ndarray, val_same: np.ndarray, test_sim: np.ndarray, test_same: np.ndarray) -> dict:
    """Identity verification of synthesised faces (their Table IV protocol, with our
    extractor), with no choice made on test: the threshold is the one that best separates
    the validation pairs, and the test pairs are scored at it.

    `synthesis/verification_rate`: test-pair accuracy at the validation threshold (the
    number the table reports); `synthesis/verification_rate_val`: validation-pair accuracy
    at it (optimistic: chosen there); `synthesis/verification_threshold_val`: the cosine
    threshold; and each side's number of pairs."""
    threshold = best_threshold(val_sim, val_same)
    return {"synthesis/verification_rate": accuracy_at(test_sim, test_same, threshold),
            "synthesis/verification_rate_val": accuracy_at(val_sim, val_same, threshold),
            "synthesis/verification_threshold_val": threshold,
            "synthesis/verification_n_pairs_val": float(len(val_sim)),
            "synthesis/verification_n_pairs": float(len(test_sim))}

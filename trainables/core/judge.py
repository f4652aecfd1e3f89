"""The real-data judge: a FER classifier trained on the whole real training split (before
any per-class sampling a study applies; never validation or test), with a class-balanced
loss, whose
penultimate-layer features stand in for Inception's in FID/KID ("FID (FER-classifier
features)": Inception weights cannot be downloaded here) and whose predictions give
the classifier agreement of generated images.

Trained once per (dataset content, split, net, width, epochs, seed) and kept in the
cache directory, so every trial of a study measures with the same instrument."""

import hashlib
import tempfile
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from trainables.core.caches import file_lock, torch_save_atomic
from trainables.core.fit import FitOptions, fit, normalise, total_steps
from trainables.core.real_data import images_split
from trainables.core.reporting import InProcessReporter
from trainables.data import resize_images
from trainables.data.cache import cache_root, sha256_json
from trainables.nets import create_net, net_spec


@dataclass(frozen=True)
class JudgeOptions:
    net: str = "simple"
    width: float = 0.25
    epochs: int = 10
    seed: int = 0


class Judge:
    """A trained judge; `steps`: the optimizer steps it was trained for (its budget, for a
    trial that uses its features as the thing it compares)."""

    def __init__(self, net: torch.nn.Module, input_size: int, device: torch.device, val_acc: float, steps: int = 0):
        self.net, self.input_size, self.device, self.val_acc = net.eval(), input_size, device, val_acc
        self.steps = steps

    @torch.no_grad()
    def _run(self, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = [], []
        x_all = torch.from_numpy(resize_images(images, self.input_size)).float().div_(255).unsqueeze(1)
        for i in range(0, len(x_all), batch_size):
            x = normalise(x_all[i:i + batch_size].to(self.device))
            h = self.net.classifier[:-1](self.net.features(x))
            feats.append(h.cpu())
            probs.append(F.softmax(self.net.classifier[-1](h), dim=1).cpu())
        return torch.cat(feats).numpy().astype(np.float64), torch.cat(probs).numpy()

    def features(self, images: np.ndarray) -> np.ndarray:
        """N×D penultimate features of uint8 N×H×W images."""
        return self._run(images)[0]

    def probs(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[1]


def _key(content_hash: str, train_idx: np.ndarray, val_idx: np.ndarray, opts: JudgeOptions) -> str:
    split = hashlib.sha256(np.asarray(train_idx, np.int64).tobytes() + b"|" +
                           np.asarray(val_idx, np.int64).tobytes()).hexdigest()
    return sha256_json({"content": content_hash, "split": split, **opts.__dict__})


def real_data_judge(images: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
                    n_classes: int, content_hash: str, opts: JudgeOptions, device: torch.device,
                    cache_dir=None) -> Judge:
    """Load the judge for this data and split from the cache, or train and store it.
    Selection is on validation; test images are never seen."""
    size = net_spec(opts.net).input_size
    path = cache_root(cache_dir) / "judges" / f"{opts.net}-{_key(content_hash, train_idx, val_idx, opts)[:32]}.pt"
    torch.manual_seed(opts.seed)
    net = create_net(opts.net, n_classes=n_classes, width=opts.width).to(device)
    with file_lock(path):  # concurrent trials: one trains, the others wait and load
        if path.exists():
            stored = torch.load(path, map_location=device, weights_only=True)
            net.load_state_dict(stored["state"])
            return Judge(net, size, device, float(stored["val_acc"]), judge_steps(opts, len(train_idx)))
        train = images_split(images[train_idx], labels[train_idx], size)
        val = images_split(images[val_idx], labels[val_idx], size)
        # Class-balanced loss: a judge that never says "disgust" (FER2013 has 1.5 % of it) could not
        # tell generated disgust from anything else.
        counts = np.bincount(labels[train_idx], minlength=n_classes).astype(float)
        weights = tuple(float(w) for w in np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0))
        fit_opts = _fit_options(opts, weights)
        chosen = {}

        def keep_best(last_net, best_net):
            chosen["state"] = {k: v.detach().cpu() for k, v in best_net.state_dict().items()}
            return {}

        with tempfile.TemporaryDirectory(prefix="ferlab-judge-") as tmp:
            final = fit(net, train, val, fit_opts, InProcessReporter(tmp), device, keep_best)
        net.load_state_dict(chosen["state"])
        stored = {"state": chosen["state"], "val_acc": torch.tensor(final["val/acc_best"])}
        torch_save_atomic(stored, path)
        return Judge(net, size, device, final["val/acc_best"], int(final["budget/steps"]))


def _fit_options(opts: JudgeOptions, class_weights: tuple[float, ...] | None = None) -> FitOptions:
    return FitOptions(epochs=opts.epochs, batch_size=64, lr=1e-3, optimizer="adam", weight_decay=0.0,
                      schedule="onecycle", augment=True, label_smoothing=0.0, seed=opts.seed,
                      class_weights=class_weights)


def judge_steps(opts: JudgeOptions, n_train: int) -> int:
    """The optimizer steps a judge of `opts` trains for on `n_train` images."""
    return total_steps(_fit_options(opts), n_train)


def gate_numbers(class_names: list[str], called: np.ndarray, intended: np.ndarray, real_called: np.ndarray,
                 real_labels: np.ndarray) -> dict:
    """The synthesis gate's numbers per target class (analysis.verdicts reads them):
    `gate/<class>/agreement`, the share of the class's synthetic images the judge calls it,
    of `gate/<class>/n` judged; `gate/<class>/off_target_rate`, the share of the synthetic
    images meant to show another class that the judge calls it (the gate's floor where above
    chance: a judge that reads the generator's artifacts as one class calls that class on
    every face it draws); `gate/<class>/real_recall`, the judge's recall on real validation
    images of the class; `gate/classes`, the judge's K (chance = 1/K)."""
    out = {"gate/classes": float(len(class_names))}
    for c, name in enumerate(class_names):
        mine, others, real = intended == c, intended != c, real_labels == c
        if mine.any():
            out[f"gate/{name}/agreement"] = float(np.mean(called[mine] == c))
            out[f"gate/{name}/n"] = float(mine.sum())
            if others.any():
                out[f"gate/{name}/off_target_rate"] = float(np.mean(called[others] == c))
            out[f"gate/{name}/real_recall"] = float(np.mean(real_called[real] == c)) if real.any() else float("nan")
    return out

"""The other dataset a trial is tested on (cross-database): which one, where its files
are, how it is loaded and split. One mechanism for every study that has one: the
`--cross-dataset`/`--cross-root` flags of study.launch set `cross_dataset`/`cross_root`;
synthetic_ratio tests blind on it, baseline tests blind and after fine-tuning on it.

Both sides of a cross test see only the classes the two datasets share: the other
dataset's images of other classes are dropped, and a net trained on more classes
predicts among the shared ones only (its other outputs cannot be right there)."""

import numpy as np

from trainables.configs.data import CrossConfig, DataConfig, resolve_protocol
from trainables.core.fit import TensorSplit, predict
from trainables.core.metrics import classification_metrics
from trainables.core.real_data import RealData
from trainables.data import EMOTIONS, DataError, FaceData, load_dataset, make_splits


def cross_dataset_options(name: str, options: dict | None, data: DataConfig) -> dict:
    """The loader options of the cross dataset: `options` when given; for synthfaces,
    another draw of the training one (other identities, pose, light, noise)."""
    if options is not None:
        return dict(options)
    if name == "synthfaces":
        same = data.dataset_options if data.dataset == "synthfaces" else {}
        return {**same, "seed": int(same.get("seed", 0)) + 1}
    return {}


def load_cross_dataset(name: str, root: str | None, options: dict | None, data: DataConfig) -> FaceData:
    return load_dataset(name, root, cache_dir=data.cache_dir, **cross_dataset_options(name, options, data))


def shared_classes(source: list[str], target: FaceData) -> list[str]:
    """The classes of `source` (in its order) that `target` has images of; at least two."""
    found = [c for c in source if c in target.classes()]
    if len(found) < 2:
        raise DataError(f"{target.name} shares {len(found)} class(es) {found} with the training data "
                        f"({', '.join(source)}); it has {', '.join(target.classes()) or 'no images'}. "
                        "A cross test needs at least two shared classes")
    return found


def load_cross_real(cross: CrossConfig, data: DataConfig, seed: int, source_classes: list[str]) -> RealData:
    """The cross dataset's images of the shared classes, split (its official split, else
    fold `cross_fold` of `cross_n_folds`, by subject where it has subjects) with the
    trial's seed; labels index the shared classes."""
    whole = load_cross_dataset(cross.cross_dataset, cross.cross_root, cross.cross_options, data)
    shared = shared_classes(source_classes, whole)
    codes = [EMOTIONS.index(c) for c in shared]
    kept = whole.subset(np.flatnonzero(np.isin(whole.labels, codes)))
    splits = make_splits(kept, resolve_protocol(DataConfig(), kept), seed=seed, fold=cross.cross_fold,
                         n_folds=cross.cross_n_folds, val_fraction=data.val_fraction)
    remap = np.full(len(EMOTIONS), -1)
    remap[codes] = np.arange(len(codes))
    return RealData(kept, splits, shared, remap[kept.labels])


def blind_metrics(net, test: TensorSplit, source_classes: list[str], shared: list[str], device,
                  hflip_tta: bool = False) -> dict[str, float]:
    """`blind/...` metrics (keys end in `_at_best_val`: `net` is the epoch chosen on the
    training dataset's validation) of a net with one output per source class on `test`
    (labels index `shared`), predicting among the shared classes only."""
    probs = predict(net, test.x, device, hflip_tta=hflip_tta)
    columns = [source_classes.index(c) for c in shared]
    preds = probs[:, columns].argmax(1).numpy()
    found = classification_metrics(test.y.numpy(), preds, shared)
    return {f"blind/{k}_at_best_val": v for k, v in found.items()}

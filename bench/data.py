"""Data benchmarks: FER2013 parsed vs loaded from the parse cache, and the memory of
concurrent trials sharing one cached dataset."""

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from bench.rows import Row, not_measured

DATASETS = Path(os.environ.get("FERLAB_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))


def no_fer2013(root: Path) -> str | None:
    """Why FER2013 cannot be measured from `root`, or None when its CSV is there."""
    return None if any(root.glob("*.csv*")) else f"no FER2013 CSV under {root} (set FERLAB_DATASETS)"


def bench_dataset_load(quick: bool, fer_root: Path | None = None) -> Row:
    """FER2013 parsed from its .csv.gz vs loaded from the parse cache; goal ≥ 20×. The
    cached load's time includes reading every pixel once: the cache maps the images, and a
    mapping alone would read nothing."""
    import numpy as np

    from trainables.data import load_dataset

    figure, goal = "dataset load: FER2013 parse vs cached load", "≥ 20×"
    root = fer_root or DATASETS / "fer2013"
    if why := no_fer2013(root):
        return not_measured(figure, goal, why)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        first = load_dataset("fer2013", root, cache_dir=cache)
        parse_s = time.perf_counter() - start
        start = time.perf_counter()
        again = load_dataset("fer2013", root, cache_dir=cache)
        checksum = int(again.images.sum(dtype=np.uint64))
        cached_s = time.perf_counter() - start
    assert checksum == int(first.images.sum(dtype=np.uint64))
    assert len(first.images) == len(again.images)
    ratio = parse_s / cached_s
    return Row(figure=figure, ours=f"{cached_s:.3f} s cached", comparison=f"{parse_s:.2f} s parse",
               ratio=ratio, goal=goal, passed=ratio >= 20,
               note=f"{len(first.images)} images", measured={"parse_s": parse_s, "cached_s": cached_s})


# --- memory of concurrent trials ------------------------------------------------------------

class _Measured(Exception):
    pass


def _trial_until_first_report(config: dict, cache_dir: str, ready, release) -> None:
    """A classifier trial that stops at its first report (after an epoch: data loaded,
    splits made, model and optimiser state allocated) until the parent has measured it."""
    os.environ["FERLAB_CACHE_DIR"] = cache_dir
    from trainables.trials.classifier import train_classifier
    from trainables.core.reporting import InProcessReporter

    class Pause(InProcessReporter):
        def report(self, metrics, checkpoint_dir=None):
            ready.put(os.getpid())
            release.wait()
            raise _Measured

    with tempfile.TemporaryDirectory() as workdir:
        try:
            train_classifier(config, Pause(workdir))
        except _Measured:
            pass


def _pss_of_trials(n: int, config: dict, cache_dir: str) -> float:
    """Bytes of proportional set size (shared pages split between their users) of n
    concurrent trials, each measured at its first report."""
    context = multiprocessing.get_context("spawn")
    ready, release = context.Queue(), context.Event()
    procs = [context.Process(target=_trial_until_first_report, args=(config, cache_dir, ready, release))
             for _ in range(n)]
    for p in procs:
        p.start()
    try:
        pids = [ready.get(timeout=3600) for _ in procs]
        return sum(_pss_bytes(pid) for pid in pids)
    finally:
        release.set()
        for p in procs:
            p.join()


def _pss_bytes(pid: int) -> int:
    """Linux's proportional set size of a process (/proc/PID/smaps_rollup)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss line in /proc/{pid}/smaps_rollup")


def bench_trial_memory(quick: bool, n: int = 2, fer_root: Path | None = None) -> Row:
    """N concurrent classifier trials on FER2013 vs one copy of the dataset plus N trials'
    own state (the same trial on a 200-image dataset, whose data is negligible); goal ≤ 1.2×:
    the data shared, not copied per trial."""
    from trainables.data import load_dataset

    figure, goal = f"memory: {n} concurrent FER2013 trials vs 1 dataset copy + {n} trials' state", "≤ 1.2×"
    root = fer_root or DATASETS / "fer2013"
    if why := no_fer2013(root):
        return not_measured(figure, goal, why)
    base = {"net": "zhu_cnn", "width": 0.125, "epochs": 1, "batch_size": 64, "threads": 1}
    with tempfile.TemporaryDirectory() as cache:
        data = load_dataset("fer2013", root, cache_dir=cache)  # parsed once, before any trial
        dataset_bytes = data.images.nbytes + data.labels.nbytes
        del data  # this process must not hold a share of the mapped pages the trials' PSS splits
        fer = {**base, "dataset": "fer2013", "data_root": str(root)}
        small = {**base, "dataset": "synthfaces", "dataset_options": {"n_images": 200, "n_subjects": 10},
                 "n_folds": 4}
        state = _pss_of_trials(1, small, cache)
        together = _pss_of_trials(n, fer, cache)
    bound = dataset_bytes + n * state
    ratio = together / bound
    mib = 2 ** 20
    return Row(figure=figure, ours=f"{together / mib:.0f} MiB", comparison=f"{bound / mib:.0f} MiB",
               ratio=ratio, goal=goal, passed=ratio <= 1.2,
               note=f"dataset {dataset_bytes / mib:.0f} MiB uint8, a trial's own state {state / mib:.0f} MiB; "
                    "PSS at the first report (after one epoch of a 1/8-width zhu_cnn)",
               measured={"together_pss_bytes": together, "dataset_bytes": dataset_bytes, "trial_state_bytes": state})

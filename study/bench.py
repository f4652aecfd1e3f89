"""`python -m study.bench`: the platform's performance figures, each measured side by side
with what it is compared against in the same run, as a ratio against a goal.

    python -m study.bench [--quick] [--only NAME ...] [--json bench.json]

Prints a Markdown table (figure, ours, the comparison, ratio, goal, pass/fail) and writes
every raw measurement to JSON. A figure that cannot be measured here (no GPU, no FER2013
files) says "not measured" and why; it never gets a number."""

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

DATASETS = Path(os.environ.get("FERLAB_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))


@dataclass
class Row:
    figure: str
    ours: str = "not measured"
    comparison: str = ""
    ratio: float | None = None
    goal: str = ""
    passed: bool | None = None  # None: not measured
    note: str = ""
    measured: dict = field(default_factory=dict)  # the raw seconds/counts the ratio comes from


def not_measured(figure: str, goal: str, why: str) -> Row:
    return Row(figure=figure, goal=goal, note=f"not measured: {why}")


def no_fer2013(root: Path) -> str | None:
    """Why FER2013 cannot be measured from `root`, or None when its CSV is there."""
    return None if any(root.glob("*.csv*")) else f"no FER2013 CSV under {root} (set FERLAB_DATASETS)"


# --- dataset load -------------------------------------------------------------------

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
    from trainables.classifier import train_classifier
    from trainables.reporting import InProcessReporter

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


# --- concurrency ----------------------------------------------------------------------

def _training_config(quick: bool) -> dict:
    return {"dataset": "synthfaces", "dataset_options": {"n_images": 360 if quick else 1200, "n_subjects": 24},
            "net": "zhu_cnn", "width": 0.25, "epochs": 2 if quick else 4, "batch_size": 32, "n_folds": 4,
            "augment": "classical", "threads": 1}


def _train_once(config: dict, cache_dir: str) -> float:
    """One classifier training in this process, on one thread (a trial's CPU share of 1)."""
    os.environ["FERLAB_CACHE_DIR"] = cache_dir
    from trainables.classifier import train_classifier
    from trainables.reporting import InProcessReporter

    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        train_classifier(config, InProcessReporter(workdir))
        return time.perf_counter() - start


def _trainings_at_once(n: int, config: dict, cache_dir: str) -> float:
    """Wall seconds for n trainings in n fresh processes at once."""
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with context.Pool(n) as pool:
        pool.starmap(_train_once, [(config, cache_dir)] * n)
    return time.perf_counter() - start


def bench_concurrency(quick: bool, config: dict | None = None) -> Row:
    """Throughput of 2 one-thread trainings at once on 2 cores vs 1 alone; goal ≥ 1.8×."""
    figure, goal = "concurrency: 2 trials at once vs 1 (trainings/s)", "≥ 1.8×"
    if (os.cpu_count() or 1) < 2:
        return not_measured(figure, goal, "fewer than 2 CPUs")
    config = config or _training_config(quick)
    with tempfile.TemporaryDirectory() as cache:
        _trainings_at_once(1, {**config, "epochs": 1}, cache)  # warm the parse cache and the file cache
        one_s = _trainings_at_once(1, config, cache)
        two_s = _trainings_at_once(2, config, cache)
    ratio = (2 / two_s) / (1 / one_s)
    return Row(figure=figure, ours=f"{2 / two_s * 3600:.0f} trainings/h with 2", comparison=f"{3600 / one_s:.0f} with 1",
               ratio=ratio, goal=goal, passed=ratio >= 1.8,
               note="classifier trainings in fresh processes, torch on 1 thread each, process start included",
               measured={"one_alone_s": one_s, "two_at_once_s": two_s})


# --- platform overhead --------------------------------------------------------------------

def bench_platform_overhead(quick: bool, n_trials: int = 4, epochs: int | None = None,
                            n_images: int = 1200) -> Row:
    """N identical short classifier trials (zhu_cnn, one seed each) through
    `python -m study.launch`, 2 at a time, vs the very same trainings (the configs the
    launch gave its trials, read back from Tune's params.json) in a plain 2-process pool.
    Goal ≤ 1.10 (aim 1.05) for trials of ≥ 60 s; the per-trial fixed cost is reported."""
    figure = f"platform overhead: {n_trials} trials via study.launch vs a plain loop, 2 at a time"
    goal = "≤ 1.10 (aim 1.05)"
    epochs = epochs or 40  # ~65 s a trial on one core of the development machine
    with tempfile.TemporaryDirectory() as cwd:
        store = f"sqlite:///{cwd}/mlflow.db"
        from mlflow import MlflowClient

        MlflowClient(store).search_experiments()  # a researcher's store exists already: not timed
        command = [sys.executable, "-m", "study.launch", "baseline", "--set", "net=zhu_cnn", "--set", "width=0.25",
                   "--set", f"epochs={epochs}", "--set", "steps=null", "--set", f"seed={list(range(n_trials))}",
                   "--set", f"dataset_options={json.dumps({'n_images': n_images, 'n_subjects': 24})}",
                   "--max-concurrent", "2", "--cpus-per-trial", "1", "--tracking-uri", store]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "FERLAB_CACHE_DIR": cwd}
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        launch_s = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"the launch failed ({done.returncode}): {done.stderr[-2000:]}")
        configs = [{k: v for k, v in json.loads(p.read_text()).items() if not k.startswith("_")}
                   for p in sorted(Path(cwd, "ray_results").glob("*/run_trial_*/params.json"))]
        assert len(configs) == n_trials, f"expected {n_trials} trial configs, found {len(configs)}"
        context = multiprocessing.get_context("spawn")
        start = time.perf_counter()
        with context.Pool(2) as pool:
            trial_s = pool.starmap(_train_once, [(config, cwd) for config in configs])
        loop_s = time.perf_counter() - start
    ratio = launch_s / loop_s
    per_trial = (launch_s - loop_s) * 2 / n_trials  # wall a trial adds, 2 running at once
    mean_trial = sum(trial_s) / len(trial_s)
    return Row(figure=figure, ours=f"{launch_s:.1f} s launch", comparison=f"{loop_s:.1f} s loop", ratio=ratio,
               goal=goal, passed=ratio <= 1.10 if mean_trial >= 60 else None,
               note=(f"trials of {mean_trial:.0f} s; fixed cost {per_trial:.1f} s a trial (Ray, MLflow, checkpoints, "
                     "the report)" + ("" if mean_trial >= 60 else "; the goal is for trials of ≥ 60 s")),
               measured={"launch_s": launch_s, "loop_s": loop_s, "trial_s": trial_s, "fixed_cost_per_trial_s": per_trial})


# --- input pipeline -------------------------------------------------------------------

def _images_per_s(step, n_images: int, min_s: float) -> float:
    """Images/s of `step()` (one batch of n_images), repeated for at least min_s."""
    step()  # warm-up: allocations, lazy imports
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_s:
        step()
        done += n_images
    return done / (time.perf_counter() - start)


def bench_input_pipeline(quick: bool, nets: tuple[str, ...] = ("simple", "zhu_cnn", "picha_cnn")) -> list[Row]:
    """Per classifier: images/s the training input path delivers (batch sampling from the
    decoded, resized uint8 set, the float conversion and the classical augmentation,
    `batch_augment`, as trainables/fit.py runs it) vs images/s the net trains at (forward,
    backward, step) on one thread. Plus the albumentations arm, which no training loop uses
    (it is `classical_augment`, for inspection and offline use), against zhu_cnn. Goal ≥ 10×."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from trainables.classifier import build_net, parse_config
    from trainables.data.augment import batch_augment, classical_augment, resize_images
    from trainables.fit import _normalise
    from trainables.nets.registry import net_spec

    torch.set_num_threads(1)
    min_s, batch = (1.0, 64) if quick else (5.0, 64)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (2048, 48, 48), dtype=np.uint8)
    rows, model_rates = [], {}
    for name in nets:
        size = net_spec(name).input_size
        images = torch.from_numpy(resize_images(faces, size))
        generator = torch.Generator().manual_seed(0)

        def input_step():
            idx = torch.randint(0, len(images), (batch,), generator=generator)
            batch_augment(images[idx].unsqueeze(1).float().div_(255), generator)

        net = build_net(parse_config({"net": name, "dataset": "synthfaces", "width": 1.0}),
                        7, torch.device("cpu"))
        opt = torch.optim.Adam(net.parameters())
        x = _normalise(images[:batch].unsqueeze(1).float() / 255).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 7, (batch,))

        def train_step():
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        feed, train = _images_per_s(input_step, batch, min_s), _images_per_s(train_step, batch, min_s)
        model_rates[name] = train
        ratio = feed / train
        rows.append(Row(figure=f"input pipeline (torch batch_augment) vs {name} training", ours=f"{feed:.0f} img/s",
                        comparison=f"{train:.0f} img/s trained", ratio=ratio, goal="≥ 10×", passed=ratio >= 10,
                        note=f"{size}×{size}, full width, batch {batch}, 1 thread",
                        measured={"input_images_per_s": feed, "train_images_per_s": train}))
    if "zhu_cnn" in model_rates:
        def albumentations_step():
            idx = rng.integers(0, len(faces), batch)
            np.stack([classical_augment(faces[i], rng) for i in idx])

        feed = _images_per_s(albumentations_step, batch, min_s)
        ratio = feed / model_rates["zhu_cnn"]
        rows.append(Row(figure="albumentations arm (classical_augment, per image) vs zhu_cnn training",
                        ours=f"{feed:.0f} img/s", comparison=f"{model_rates['zhu_cnn']:.0f} img/s trained", ratio=ratio,
                        goal="≥ 10×", passed=ratio >= 10, note="not on any training path: the studies use batch_augment",
                        measured={"input_images_per_s": feed, "train_images_per_s": model_rates["zhu_cnn"]}))
    return rows


# --- synthetic cache ----------------------------------------------------------------------

CYCLEGAN_TRIAL = {"arm": "+disgust", "dataset_options": {"n_images": 420, "n_subjects": 24}, "net": "zhu_cnn",
                  "width": 0.25, "epochs": 2, "batch_size": 32, "n_folds": 4, "gan_epochs": 2, "gan_width": 0.125,
                  "gan_blocks": 1, "gan_batch_size": 8, "judge_width": 0.125, "judge_epochs": 2, "threads": 1}


def _cyclegan_trial(config: dict, cache_dir: str) -> tuple[float, bool]:
    """(seconds, whether its synthetic set came from the cache) for one CycleGAN-arm trial."""
    from trainables.cyclegan import train_cyclegan_trial
    from trainables.reporting import InProcessReporter

    previous = os.environ.get("FERLAB_CACHE_DIR")
    os.environ["FERLAB_CACHE_DIR"] = cache_dir
    try:
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            final = train_cyclegan_trial(config, InProcessReporter(workdir))
            return time.perf_counter() - start, final["synth/disgust/from_cache"] == 1.0
    finally:
        if previous is None:
            os.environ.pop("FERLAB_CACHE_DIR")
        else:
            os.environ["FERLAB_CACHE_DIR"] = previous


def bench_synthetic_cache(quick: bool, config: dict | None = None) -> Row:
    """Two trials of a CycleGAN study that need the same synthetic set (the +disgust arm
    under two classifier widths): with the study's shared cache, the second loads the GAN
    and the set; without it (a fresh cache), it trains and generates again. Counts the
    generations and times the second trial both ways; goal: one generation per set."""
    figure, goal = "synthetic cache: 2nd trial needing the same CycleGAN set, cached vs not", "1 generation per set"
    config = config or {**CYCLEGAN_TRIAL, **({} if quick else {"gan_epochs": 6, "epochs": 4})}
    second = {**config, "width": config["width"] * 2}
    with tempfile.TemporaryDirectory() as shared, tempfile.TemporaryDirectory() as fresh:
        _, first_hit = _cyclegan_trial(config, shared)
        with_cache_s, second_hit = _cyclegan_trial(second, shared)
        without_cache_s, fresh_hit = _cyclegan_trial(second, fresh)
    generations = [not first_hit, not second_hit]
    ratio = without_cache_s / with_cache_s
    return Row(figure=figure, ours=f"{with_cache_s:.1f} s, {sum(generations)} generation(s) for 2 trials",
               comparison=f"{without_cache_s:.1f} s, {int(not first_hit) + int(not fresh_hit)} without it", ratio=ratio,
               goal=goal, passed=sum(generations) == 1,
               note="ratio: the 2nd trial's time without / with the cache (GAN training and generation skipped)",
               measured={"with_cache_s": with_cache_s, "without_cache_s": without_cache_s,
                         "generations_with_cache": sum(generations), "fresh_generated": not fresh_hit})


# --- GPU ------------------------------------------------------------------------------

def bench_gpu_packing(quick: bool) -> list[Row]:
    """study.gpu_bench's packings, as rows: trials/hour with k trials on one GPU vs one."""
    figure, goal = "GPU: fesr_ablation paper trials/hour, best packing vs 1 per GPU", "≥ 3×"
    import torch

    if not torch.cuda.is_available():
        return [not_measured(figure, goal, "no GPU on this machine")]
    from study import gpu_bench

    report = gpu_bench.run(steps=10 if quick else 40, packings=[1, 2, 4, 8])
    runs = [r for r in report["runs"] if "trials_per_hour" in r]
    alone = next(r for r in runs if r["k"] == 1 and not r["amp"] and not r["channels_last"])
    rows = []
    for r in report["runs"]:
        name = f"GPU ({report['device']}): {r['k']} fesr_ablation paper trial(s) packed, {gpu_bench.mode(r)}"
        if "error" in r:
            rows.append(not_measured(name, goal, r["error"]))
            continue
        ratio = r["trials_per_hour"] / alone["trials_per_hour"]
        rows.append(Row(figure=name, ours=f"{r['trials_per_hour']:.2f} trials/h",
                        comparison=f"{alone['trials_per_hour']:.2f} with 1, fp32", ratio=ratio, goal=goal,
                        passed=ratio >= 3, note=f"GPU busy {r['gpu_utilisation_pct'] or 0:.0f} % of samples, peak "
                                                f"{r['peak_bytes'] / 2**30:.2f} GiB a trial, {r['threads']} threads",
                        measured=r))
    return rows


BENCHMARKS = {  # name → a function of `quick` returning a Row or a list of Rows
    "dataset_load": bench_dataset_load,
    "trial_memory": bench_trial_memory,
    "concurrency": bench_concurrency,
    "platform_overhead": bench_platform_overhead,
    "input_pipeline": bench_input_pipeline,
    "synthetic_cache": bench_synthetic_cache,
    "gpu_packing": bench_gpu_packing,
}


def run(names: list[str], quick: bool) -> list[Row]:
    rows = []
    for name in names:
        found = BENCHMARKS[name](quick)
        rows.extend(found if isinstance(found, list) else [found])
    return rows


def to_markdown(rows: list[Row]) -> str:
    lines = ["| figure | ours | comparison | ratio | goal | result |", "|---|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        result = {True: "pass", False: "FAIL", None: row.note}[row.passed]
        if row.passed is not None and row.note:
            result += f" ({row.note})"
        lines.append(f"| {row.figure} | {row.ours} | {row.comparison} | {ratio} | {row.goal} | {result} |")
    return "\n".join(lines)


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m study.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short CPU runs (minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--json", default="bench.json", help="where to write the measurements (default bench.json)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.only or list(BENCHMARKS), args.quick)
    report = {"machine": machine(), "quick": args.quick, "wall_s": time.perf_counter() - started,
              "rows": [asdict(row) for row in rows]}
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(to_markdown(rows))
    print(f"\n{report['machine']['cpus']} CPUs, GPU: {report['machine']['gpu'] or 'none'}; "
          f"{report['wall_s']:.0f} s; measurements in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

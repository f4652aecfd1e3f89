"""Trials/hour of `fesr_ablation --scale paper` on one GPU: K trials fused into one
stacked model (trainables.fused) with each stage's iteration captured as a CUDA graph,
against one plain trial alone on the GPU, measured side by side in one run. Torch and
scikit-learn suffice (no Ray, no MLflow), as for bench.gpu.

A trial is FESR_JL at 128×128, full width, batch 16, with L_id through its own identity
net (each member's is stacked; trained 1 epoch, not 30: its training is not timed).
Each configuration times `steps` iterations of each stage after warm-up (and capture);
a trial's hours are 20,000 × stage-1 s/iteration + 20,000 × stage-2 s/iteration, as in
bench.gpu. Fused members draw their batches on the GPU (trainables.fused.device_draws).

    python -m bench.gpu_fused [--steps 30] [--members 8 32] [--json gpu_fused.json]"""

import argparse
import contextlib
import copy
import dataclasses
import sys
import tempfile
import threading
import time

from bench.gpu import PAPER_TRIAL, _gpu_utilisation, partial_saver
from bench.rows import Row, not_measured

GOAL_RATIO, GOAL_BUSY = 8.0, 70.0


def _timed(step, first: int, n: int) -> float:
    import torch

    torch.cuda.synchronize()
    start = time.perf_counter()
    for t in range(first, first + n):
        step(t)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / n


PRECISIONS = ("fp32", "tf32", "bf16")


def precision(name: str):
    """fp32; tf32 (TensorFloat-32 matrix products and convolutions); bf16 autocast. The
    same for the plain and the fused trials of a run, as is cuDNN's autotuner (on: the
    grouped convolutions of fused members have no good default algorithm)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = name != "fp32"
    torch.backends.cudnn.benchmark = True
    return torch.autocast("cuda", torch.bfloat16, cache_enabled=False) if name == "bf16" else contextlib.nullcontext()


def fused_trainer(setup, members: int, capturable: bool = False):
    """`members` copies of the set-up trial (seeds 0..members−1, the same data, each its own
    identity net), fused, drawing on the GPU."""
    from trainables.fused.fesr import FusedFESRTrainer

    plain = setup.trainer
    opts = [dataclasses.replace(plain.opts, seed=s) for s in range(members)]
    identities = [copy.deepcopy(setup.identity.__self__).features for _ in range(members)] \
        if setup.identity is not None else None
    return FusedFESRTrainer(plain.variant, opts, plain.k, [(plain.images, plain.labels)] * members, plain.device,
                            identities, draws="device", capturable=capturable)


def measure(setup, members: int, steps: int, capture: bool, precision_name: str = "fp32") -> dict:
    """Seconds per iteration of each stage for `members` fused trials (0: the plain trainer)."""
    import torch

    from trainables.fused.graphs import CapturedSteps

    plain = setup.trainer
    if members == 0:
        trainer, step = plain, plain.step
    else:
        trainer = fused_trainer(setup, members, capturable=capture)
        step = CapturedSteps(trainer).step if capture else trainer.step
    stage2 = trainer.pretrain_iters
    with precision(precision_name):
        _timed(step, 0, 2), _timed(step, stage2, 2)  # warm-up (and capture): kernels chosen, allocator filled
        torch.cuda.reset_peak_memory_stats()
        stop, samples = threading.Event(), []
        watcher = threading.Thread(target=_gpu_utilisation, args=(stop, samples), daemon=True)
        watcher.start()
        s1, s2 = _timed(step, 2, steps), _timed(step, stage2 + 2, steps)
    stop.set()
    watcher.join()
    iters = trainer.opts.pretrain_iters + trainer.opts.joint_iters
    hours = (trainer.opts.pretrain_iters * s1 + trainer.opts.joint_iters * s2) / 3600
    return {"members": max(members, 1), "fused": members > 0, "captured": capture, "precision": precision_name,
            "stage1_s": s1, "stage2_s": s2,
            "iterations": iters, "trials_per_hour": max(members, 1) / hours,
            "peak_bytes": torch.cuda.max_memory_allocated(),
            "gpu_busy_pct": sum(samples) / len(samples) if samples else None}


def run(steps: int, members: list[int], config: dict | None = None, on_run=lambda r: None,
        precisions: tuple[str, ...] = ("fp32",), uncaptured: bool = True) -> dict:
    import torch

    from trainables.trials.fesr import build_trainer, parse_config

    config = dict(config or PAPER_TRIAL)
    runs = []
    with tempfile.TemporaryDirectory() as cache:
        cfg = parse_config({**config, "identity_epochs": 1, "cache_dir": cache})
        setup = build_trainer(cfg, torch.device("cuda"))
        plan = [(p, k, c) for p in precisions
                for k, c in [(0, False)] + [(k, c) for k in members for c in ((False, True) if uncaptured else (True,))]]
        for name, k, capture in plan:
            try:
                found = measure(setup, k, steps, capture, name)
            except Exception as err:  # noqa: BLE001 — a configuration that fails is reported, the others still run
                found = {"members": max(k, 1), "fused": k > 0, "captured": capture, "precision": name,
                         "error": f"{type(err).__name__}: {str(err)[:300]}"}
            runs.append(found)
            on_run(found)
            torch.cuda.empty_cache()
    return {"device": torch.cuda.get_device_name(0), "steps": steps, "config": config, "runs": runs}


def describe(r: dict) -> str:
    kind = ("plain trial" if not r["fused"] else f"{r['members']} fused" + (" + captured" if r["captured"] else "")) \
        + f" ({r.get('precision', 'fp32')})"
    if "error" in r:
        return f"{kind}: {r['error']}"
    return (f"{kind}: {r['trials_per_hour']:.2f} trials/h, s/iter {r['stage1_s']:.4f} / {r['stage2_s']:.4f}, "
            f"GPU busy {r['gpu_busy_pct'] or 0:.0f} %, peak {r['peak_bytes'] / 2**30:.1f} GiB")


def bench_gpu_throughput(quick: bool) -> list[Row]:
    """The best fused configuration's trials/hour against one plain trial per GPU."""
    figure, goal = "gpu_throughput: fesr_ablation paper trials/hour, fused + captured vs 1 trial per GPU", \
        f"≥ {GOAL_RATIO:.0f}×, GPU busy ≥ {GOAL_BUSY:.0f} %"
    import torch

    if not torch.cuda.is_available():
        return [not_measured(figure, goal, "no GPU on this machine")]
    report = run(steps=10 if quick else 30, members=[8, 32])
    return rows_of(report, figure, goal)


def rows_of(report: dict, figure: str, goal: str) -> list[Row]:
    """One row per precision: its best fused configuration against its plain trial."""
    rows = []
    for name in dict.fromkeys(r.get("precision", "fp32") for r in report["runs"]):
        runs = [r for r in report["runs"] if r.get("precision", "fp32") == name]
        rows += _row(dict(report, runs=runs), f"{figure}, {name}", goal)
    return rows


def _row(report: dict, figure: str, goal: str) -> list[Row]:
    runs = [r for r in report["runs"] if "trials_per_hour" in r]
    alone = next((r for r in runs if not r["fused"]), None)
    fused = [r for r in runs if r["fused"]]
    if alone is None or not fused:
        return [not_measured(figure, goal, "; ".join(describe(r) for r in report["runs"]))]
    best = max(fused, key=lambda r: r["trials_per_hour"])
    ratio = best["trials_per_hour"] / alone["trials_per_hour"]
    busy = best["gpu_busy_pct"] or 0.0
    return [Row(figure=f"{figure} ({report['device']})", ours=f"{best['trials_per_hour']:.2f} trials/h",
                comparison=f"{alone['trials_per_hour']:.2f}", ratio=ratio, goal=goal,
                passed=ratio >= GOAL_RATIO and busy >= GOAL_BUSY,
                note=f"{describe(best)}; alone: GPU busy {alone['gpu_busy_pct'] or 0:.0f} %",
                measured=report)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_fused", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed iterations per stage and configuration")
    parser.add_argument("--members", type=int, nargs="+", default=[8, 32], help="fused trials per configuration")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=PRECISIONS)
    parser.add_argument("--captured-only", action="store_true", help="skip the fused runs without graph capture")
    parser.add_argument("--profile", type=int, metavar="K", help="also print the top kernels of K fused members' iteration")
    parser.add_argument("--json", default="gpu_fused.json")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("error: no GPU here: python -m bench.gpu_fused measures GPU throughput only", file=sys.stderr)
        return 2
    report = run(args.steps, args.members, on_run=partial_saver(args.json, args.steps, describe),
                 precisions=tuple(args.precisions),
                 uncaptured=not args.captured_only)
    for row in rows_of(report, "gpu_throughput", f"≥ {GOAL_RATIO:.0f}×"):
        print(f"{row.figure}: {row.ratio and f'{row.ratio:.2f}×'} ({row.note})")
    if args.profile:
        print(profile(args.profile, report["config"]))
    return 0


def profile(members: int, config: dict) -> str:
    """The 20 CUDA kernels that take the most time over 3 uncaptured fused iterations of each stage."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from trainables.trials.fesr import build_trainer, parse_config

    with tempfile.TemporaryDirectory() as cache:
        setup = build_trainer(parse_config({**config, "identity_epochs": 1, "cache_dir": cache}), torch.device("cuda"))
        trainer = fused_trainer(setup, members)
        stage2 = trainer.pretrain_iters
        for t in (0, 1, stage2, stage2 + 1):
            trainer.step(t)
        with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
            for t in (2, 3, 4, stage2 + 2, stage2 + 3, stage2 + 4):
                trainer.step(t)
            torch.cuda.synchronize()
    return prof.key_averages().table(sort_by="cuda_time_total", row_limit=20, max_name_column_width=70)


if __name__ == "__main__":
    sys.exit(main())

"""Trials/hour of `fesr_ablation --scale paper` on one GPU with 1, 2, 4, 8 trials packed on
it, and with bf16 autocast and channels_last. Plain processes and the trainer itself, no
Ray or MLflow, so it runs on a bare GPU machine with only torch and scikit-learn.

A trial's throughput is measured, not a whole trial: each process builds the paper
trial's trainer (FESR_JL, 128×128, full width, batch 16; identity net trained 1 epoch, not
30) and times `steps` iterations of each stage once all packed processes are ready. A
trial's hours are then 20,000 × (stage-1 s/iteration) + 20,000 × (stage-2 s/iteration):
validation every 1,000 iterations, the identity net and the final evaluation are left out.
The memory a trial peaks at is measured alone first; a packing runs only where k trials'
peaks fit, and each process is held to 1/k of the GPU (`set_per_process_memory_fraction`),
so one trial overrunning its share fails alone instead of the others.

    python -m bench.gpu [--steps 40] [--packings 1 2 4 8] [--json gpu_bench.json]"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext

from bench.rows import Row, not_measured

from atomic import write_text

# search_spaces/fesr_ablation.py's paper scale over its base config (tests/test_bench.py
# checks they agree; the study module itself needs Ray, which a bare GPU machine lacks).
PAPER_TRIAL = {"variant": "FESR_JL", "image_size": 128, "batch_size": 16, "lr": 1e-4, "identity": "auto",
               "identity_width": 0.5, "protocol": "auto", "gan_width": 1.0, "r_width": 1.0, "pretrain_iters": 20000,
               "joint_iters": 20000, "report_every": 1000, "identity_epochs": 30, "judge_width": 0.5, "judge_epochs": 80,
               "n_folds": 10}


def _measure(config: dict, steps: int, fraction: float, amp: bool, channels_last: bool, device: str,
             barrier, results) -> None:
    """One packed trial: build, warm up, wait for the others, time both stages."""
    import torch

    from trainables.trials.fesr import build_trainer, parse_config

    try:
        if device == "cuda":
            torch.cuda.set_per_process_memory_fraction(fraction)
        cfg = parse_config({**config, "identity_epochs": 1})  # the identity net's training is not timed
        torch.set_num_threads(cfg.threads)
        trainer = build_trainer(cfg, torch.device(device)).trainer
        if channels_last:
            for net in trainer.nets.values():
                net.to(memory_format=torch.channels_last)
        autocast = torch.autocast(device, dtype=torch.bfloat16) if amp else nullcontext()
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def seconds_per_step(first: int, n: int) -> float:
            sync()
            start = time.perf_counter()
            with autocast:
                for t in range(first, first + n):
                    trainer.step(t)
            sync()
            return (time.perf_counter() - start) / n

        stage2 = trainer.pretrain_iters
        seconds_per_step(0, 2), seconds_per_step(stage2, 2)  # warm-up: kernels chosen, allocator filled
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        barrier.wait()
        s1, s2 = seconds_per_step(2, steps), seconds_per_step(stage2 + 2, steps)
        peak = torch.cuda.max_memory_allocated() if device == "cuda" else 0
        results.put({"stage1_s": s1, "stage2_s": s2, "peak_bytes": peak})
    except BaseException as err:  # noqa: BLE001 — reported to the parent, which says what failed
        barrier.abort()
        results.put({"error": f"{type(err).__name__}: {err}"})


def _gpu_utilisation(stop: threading.Event, samples: list) -> None:
    while not stop.is_set():
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            samples.append(float(out.stdout.split()[0]))
        stop.wait(0.5)


def pack(k: int, config: dict, steps: int, amp: bool = False, channels_last: bool = False,
         device: str = "cuda") -> dict:
    """k trials at once on one device: per-trial seconds/iteration, trials/hour, peak memory.
    Each trial gets its share of the CPUs as torch threads (as a Ray trial does), unless
    `config` sets `threads`: k processes of all-core thread pools would fight over cores."""
    config = {**config, "threads": config.get("threads") or max(1, (os.cpu_count() or 1) // k)}
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(k), context.Queue()
    procs = [context.Process(target=_measure, args=(config, steps, 1.0 / k, amp, channels_last, device, barrier,
                                                     results)) for _ in range(k)]
    stop, samples = threading.Event(), []
    watcher = threading.Thread(target=_gpu_utilisation, args=(stop, samples), daemon=True)
    for p in procs:
        p.start()
    if device == "cuda":
        watcher.start()
    found = [results.get() for _ in procs]
    stop.set()
    for p in procs:
        p.join()
    errors = [f["error"] for f in found if "error" in f]
    if errors:
        return {"k": k, "amp": amp, "channels_last": channels_last, "threads": config["threads"], "error": errors[0]}
    iters1, iters2 = config["pretrain_iters"], config["joint_iters"]
    per_trial_h = [(iters1 * f["stage1_s"] + iters2 * f["stage2_s"]) / 3600 for f in found]
    return {"k": k, "amp": amp, "channels_last": channels_last, "threads": config["threads"],
            "trials_per_hour": sum(1 / h for h in per_trial_h),
            "stage1_s": [f["stage1_s"] for f in found], "stage2_s": [f["stage2_s"] for f in found],
            "peak_bytes": max(f["peak_bytes"] for f in found),
            "gpu_utilisation_pct": sum(samples) / len(samples) if samples else None}


def run(steps: int, packings: list[int], config: dict | None = None, device: str = "cuda",
        on_run=lambda run: None, modes: bool = True) -> dict:
    """Every packing in `packings`, then bf16 and channels_last alone and at the best
    packing; `on_run(run)` after each (the caller saves partial results)."""
    import torch

    config = dict(config or PAPER_TRIAL)
    with tempfile.TemporaryDirectory() as cache:
        config.setdefault("cache_dir", cache)  # synthfaces and the identity net made once, shared
        capacity = torch.cuda.get_device_properties(0).total_memory if device == "cuda" else 0
        runs = []

        def done(found: dict) -> dict:
            runs.append(found)
            on_run(found)
            return found

        alone = done(pack(1, config, steps, device=device))
        for k in packings:
            if k == 1:
                continue
            if "error" not in alone and device == "cuda" and alone["peak_bytes"] * 1.2 > capacity / k:
                done({"k": k, "error": f"does not fit: {k} × {alone['peak_bytes'] / 2**30:.1f} GiB peak "
                                       f"(+20 %) > {capacity / 2**30:.0f} GiB"})
                continue
            done(pack(k, config, steps, device=device))
        packed = [r for r in runs if "trials_per_hour" in r]
        best = max(packed, key=lambda r: r["trials_per_hour"])["k"] if packed else 1
        for amp, channels_last in ((True, False), (False, True)) if modes else ():
            done(pack(1, config, steps, amp, channels_last, device))
            if best != 1:
                done(pack(best, config, steps, amp, channels_last, device))
    return {"device": torch.cuda.get_device_name(0) if device == "cuda" else device, "steps": steps,
            "config": {k: v for k, v in config.items() if k != "cache_dir"}, "runs": runs}


def bench_gpu_packing(quick: bool) -> list[Row]:
    """This module's packings, as rows: trials/hour with k trials on one GPU vs one."""
    figure, goal = "GPU: fesr_ablation paper trials/hour, best packing vs 1 per GPU", "≥ 3×"
    import torch

    if not torch.cuda.is_available():
        return [not_measured(figure, goal, "no GPU on this machine")]
    report = run(steps=10 if quick else 40, packings=[1, 2, 4, 8])
    runs = [r for r in report["runs"] if "trials_per_hour" in r]
    alone = next(r for r in runs if r["k"] == 1 and not r["amp"] and not r["channels_last"])
    rows = []
    for r in report["runs"]:
        name = f"GPU ({report['device']}): {r['k']} fesr_ablation paper trial(s) packed, {mode(r)}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed iterations per stage and trial")
    parser.add_argument("--packings", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--json", default="gpu_bench.json")
    parser.add_argument("--no-modes", action="store_true", help="skip the bf16 and channels_last runs")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("error: no GPU here: python -m bench.gpu measures GPU packing only", file=sys.stderr)
        return 2
    report = run(args.steps, args.packings, on_run=partial_saver(args.json, args.steps, describe),
                 modes=not args.no_modes)
    write_text(args.json, json.dumps(report, indent=2))
    return 0


def partial_saver(path: str, steps: int, describe):
    """An `on_run` that prints each run and rewrites `path` with the runs so far, so a bench
    stopped part-way (a device lease running out) still leaves its measurements; a bench
    killed while rewriting leaves the previous ones."""
    import torch

    partial: list[dict] = []

    def save(found: dict) -> None:
        partial.append(found)
        print(describe(found), flush=True)
        write_text(path, json.dumps({"device": torch.cuda.get_device_name(0), "steps": steps, "runs": partial},
                                    indent=2))

    return save


def mode(r: dict) -> str:
    """A run's precision and memory layout: "fp32", "bf16", "channels_last"."""
    return "+".join(m for m, on in (("bf16", r.get("amp")), ("channels_last", r.get("channels_last"))) if on) or "fp32"


def describe(r: dict) -> str:
    mode_name = mode(r)
    if "error" in r:
        return f"k={r['k']} {mode_name}: {r['error']}"
    return (f"k={r['k']} {mode_name} ({r['threads']} threads each): {r['trials_per_hour']:.2f} trials/h, peak {r['peak_bytes'] / 2**30:.2f} GiB, "
            f"GPU {r['gpu_utilisation_pct'] or 0:.0f} %, s/iter stage1 {min(r['stage1_s']):.4f}–{max(r['stage1_s']):.4f}"
            f" stage2 {min(r['stage2_s']):.4f}–{max(r['stage2_s']):.4f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

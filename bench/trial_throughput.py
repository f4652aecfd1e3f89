"""trial_throughput: how many cpu-scale trials an hour one CPU thread finishes, today's path
against the new ones, measured side by side in one run (ferlab-12):

- FESR_JL (`fesr_ablation --scale cpu`, `FESR_CPU` below: 48 px, batch 16, L_id through its
  identity net, a 1/4-width FESGAN and R for 2,000 stage-1 + 2,000 stage-2 iterations);
- the `simple` classifier (`baseline --scale cpu`: 3/8 width, batch 64, Adam, augmentation):
  a trial is 8,000 optimizer steps.

Paths: `plain` (the kernel switch off: NCHW, as before ferlab-12), `fast` (the switch on,
trainables.nets.kernels: today's default), and `fused×2` (two trials of one recipe as one
stacked model on the thread, with the switch on; per trial). The rows compare the fastest
of the others with `plain`; the FESR efficiency row divides a stage-2 iteration's counted
FLOPs (torch's FLOP counter) by its seconds on the fastest path, as a share of the same
thread's large-matrix-product rate measured in the same run: a measurement with no goal
(ferlab-18 dropped ferlab-12's 40 %: convolutions are 43 % of an iteration, so even
infinitely fast ones would leave the share near 26 %)."""

import copy
import dataclasses
import statistics
import tempfile
import time

from bench.rows import Row


# A FESR_JL trial at `fesr_ablation`'s cpu scale (the ferlab-17 evidence scale), on synthfaces;
# its identity net trained for one epoch (set-up, not iterations). tests/test_bench.py checks
# it against the study's scale, which bench may not import.
FESR_CPU = {"variant": "FESR_JL", "image_size": 48, "batch_size": 16, "lr": 3e-4, "identity": "auto",
            "identity_width": 0.5, "protocol": "auto", "gan_width": 0.25, "r_width": 0.25, "pretrain_iters": 2000,
            "joint_iters": 2000, "report_every": 200, "identity_epochs": 1, "judge_width": 0.25, "judge_epochs": 80,
            "n_folds": 10}
CLASSIFIER_STEPS = 8000
GOAL_RATIO = 1.5


def per_call_s(fn, n: int, first: int = 0) -> float:
    """Seconds a call of `fn(i)` takes, over i = first .. first + n - 1."""
    start = time.perf_counter()
    for i in range(first, first + n):
        fn(i)
    return (time.perf_counter() - start) / n


def interleaved(paths: dict, rounds: int) -> dict:
    """Each path's median over `rounds` rounds of `paths[name](round)` (a dict of seconds),
    the paths taking turns within a round: on a shared machine a burst of load then slows
    every path alike instead of whichever ran during it."""
    seen: dict = {name: [] for name in paths}
    for r in range(rounds):
        for name, measure in paths.items():
            seen[name].append(measure(r))
    return {name: {key: statistics.median(m[key] for m in runs) for key in runs[0]} for name, runs in seen.items()}


def matmul_path(size: int = 1024, n: int = 5):
    """A path measuring this thread's rate on a large fp32 matrix product (the CPU's
    practical ceiling) in GFLOP/s. It takes its turns among the FESR paths, so the share
    compares a step and the ceiling measured under the same load."""
    import torch

    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    return lambda r: {"gflops": 2 * size ** 3 / per_call_s(lambda _: a @ b, n) / 1e9}


def step_flops(trainer, t: int) -> float:
    """FLOPs torch counts in iteration t (matrix products and convolutions, backward too)."""
    from torch.utils.flop_counter import FlopCounterMode

    class NoModules:  # the counter's per-module tracker cannot follow torch.func.grad (the gradient penalty)
        parents, is_bw = {"Global"}, False

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    counter = FlopCounterMode(display=False)
    counter.mod_tracker = NoModules()
    with counter:
        trainer.step(t)
    return float(counter.get_total_flops())


def fesr_paths(steps: int, config: dict | None = None, rounds: int = 3) -> dict:
    """Seconds per iteration of each stage on each path (medians of `rounds` interleaved
    rounds of `steps` iterations), the matrix-product rate taking its turn among them, and
    a stage-2 iteration's FLOPs."""
    import torch

    from trainables.fused.fesr import FusedFESRTrainer
    from trainables.trials.fesr import build_trainer, parse_config

    with tempfile.TemporaryDirectory() as cache:  # the second build finds the first's identity net
        setups = {k: build_trainer(parse_config({**(config or FESR_CPU), "cache_dir": cache, "kernels": k}),
                                   torch.device("cpu")) for k in ("plain", "fast")}
    plain, fast = setups["plain"].trainer, setups["fast"].trainer
    stage2 = plain.pretrain_iters
    fused = FusedFESRTrainer(fast.variant, [dataclasses.replace(fast.opts, seed=s) for s in (0, 1)], fast.k,
                             [(fast.images, fast.labels)] * 2, fast.device,
                             [copy.deepcopy(setups["fast"].identity.__self__).features for _ in range(2)])

    def path(trainer, members):
        trainer.step(0), trainer.step(stage2)  # warm-up
        return lambda r: {"stage1_s": per_call_s(trainer.step, steps, 1 + r * steps) / members,
                          "stage2_s": per_call_s(trainer.step, steps, stage2 + 1 + r * steps) / members}

    found = interleaved({"plain": path(plain, 1), "fast": path(fast, 1), "fused×2": path(fused, 2),
                         "matmul": matmul_path()}, rounds)
    found["stage2_flops"] = step_flops(plain, stage2 + rounds * steps + 1)
    return found


def classifier_paths(steps: int, width: float = 0.375, rounds: int = 3) -> dict:
    """Seconds per optimizer step of the cpu-scale `simple` classifier on each path (medians
    of `rounds` interleaved rounds of `steps` steps)."""
    import torch

    from trainables.core.fit import FitOptions, TensorSplit, _train_epoch, make_optimizer
    from trainables.fused.classifier import FusedClassifier
    from trainables.nets.classifiers import SimpleClassifier
    from trainables.nets.kernels import placed

    # round r is report round 1 + r of a budget of `steps` a round (round 0: the warm-up)
    opts = FitOptions(epochs=rounds + 1, batch_size=64, lr=1e-3, optimizer="adam", weight_decay=0.0,
                      schedule="onecycle", augment=True, label_smoothing=0.0, seed=0, steps=steps * (rounds + 1))
    split = TensorSplit(torch.randint(0, 256, (2000, 1, 48, 48), dtype=torch.uint8), torch.arange(2000) % 7)

    def net(seed, kernels):
        torch.manual_seed(seed)
        return placed(SimpleClassifier(7, width=width), torch.device("cpu"), kernels)

    def single(kernels):
        model = net(0, kernels)
        optimizer = make_optimizer(model, opts)
        _train_epoch(model, optimizer, split, opts, 0, torch.device("cpu"))  # warm-up

        def measure(r):
            start = time.perf_counter()
            _train_epoch(model, optimizer, split, opts, 1 + r, torch.device("cpu"))
            return {"step_s": (time.perf_counter() - start) / steps}
        return measure

    fused = FusedClassifier([net(0, "fast"), net(1, "fast")], [opts, dataclasses.replace(opts, seed=1)], torch.device("cpu"))
    fused.train_round([split, split], 0)  # warm-up, a whole round: the fused step has its own first-call costs

    def fused_round(r):
        start = time.perf_counter()
        fused.train_round([split, split], 1 + r)
        return {"step_s": (time.perf_counter() - start) / steps / 2}

    return interleaved({"plain": single("plain"), "fast": single("fast"), "fused×2": fused_round}, rounds)


def bench_trial_throughput(quick: bool) -> list[Row]:
    import torch

    torch.set_num_threads(1)
    return rows_of(fesr_paths(4 if quick else 12, rounds=5), classifier_paths(8 if quick else 24, rounds=5))


def rows_of(fesr: dict, classifier: dict) -> list[Row]:
    rows = []
    ceiling = fesr["matmul"]["gflops"]
    per_hour = {name: 3600 / (FESR_CPU["pretrain_iters"] * r["stage1_s"] + FESR_CPU["joint_iters"] * r["stage2_s"])
                for name, r in fesr.items() if name not in ("stage2_flops", "matmul")}
    best = max((n for n in per_hour if n != "plain"), key=per_hour.get)
    ratio = per_hour[best] / per_hour["plain"]
    rows.append(Row(figure="trial_throughput: FESR_JL cpu-scale trials/hour, fastest new path vs today's (1 thread)",
                    ours=f"{per_hour[best]:.2f} ({best})", comparison=f"{per_hour['plain']:.2f} (plain)", ratio=ratio,
                    goal=f"≥ {GOAL_RATIO}×", passed=ratio >= GOAL_RATIO,
                    note=", ".join(f"{n} {v:.2f}/h" for n, v in per_hour.items()), measured=fesr))
    fastest = max(per_hour, key=per_hour.get)
    achieved = fesr["stage2_flops"] / fesr[fastest]["stage2_s"] * (2 if fastest == "fused×2" else 1) / 1e9
    share = achieved / ceiling
    rows.append(Row(figure="trial_throughput: FESR_JL stage-2 iteration, achieved GFLOP/s vs large matrix product",
                    ours=f"{achieved:.1f} GFLOP/s ({fastest})", comparison=f"{ceiling:.1f} GFLOP/s", ratio=share,
                    goal="—", passed=None,
                    note=(f"{fesr['stage2_flops'] / 1e9:.2f} GFLOP an iteration a trial; no goal: convolutions of "
                          "4-48 channels at 48 px are bound by per-op overhead, not by the FLOP rate (ferlab-18)"),
                    measured={"stage2_flops": fesr["stage2_flops"], "matmul_gflops": ceiling}))
    steps_h = {name: 3600 / (CLASSIFIER_STEPS * r["step_s"]) for name, r in classifier.items()}
    best_c = max((n for n in steps_h if n != "plain"), key=steps_h.get)
    rows.append(Row(figure="trial_throughput: simple classifier cpu-scale trials/hour, fastest new path vs today's "
                           "(1 thread)", ours=f"{steps_h[best_c]:.2f} ({best_c})",
                    comparison=f"{steps_h['plain']:.2f} (plain)", ratio=steps_h[best_c] / steps_h["plain"], goal="—",
                    passed=None,
                    note=", ".join(f"{n} {v:.2f}/h" for n, v in steps_h.items()), measured=classifier))
    return rows

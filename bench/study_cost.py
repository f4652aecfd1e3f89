"""study_cost: what a user's study costs on this machine's cores, against the ceiling of
the work it does (ferlab-18).

The iteration row times a FESR_JL trial's iterations at `fesr_ablation --scale cpu` (the
ferlab-17 evidence scale, on synthfaces here: the same shapes as CK+48's 48 px faces) on
one thread, stage 1 and stage 2 taking turns, against the same iterations' layers and
optimizer updates timed alone: every leaf layer the iteration calls, run again by itself
on an input of the shape it saw (forward and backward), and every optimizer's update by
itself. The ratio is the share of an iteration that is neither: losses, the gradient
penalty's second backward, batch drawing, autograd's and Python's glue. It has no goal:
it says how far today's iteration is from the sum of its parts on this core."""

import statistics
import tempfile
import time

from bench.rows import Row
from bench.trial_throughput import FESR_CPU


def _median_s(fn, n: int) -> float:
    seen = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        seen.append(time.perf_counter() - start)
    return statistics.median(seen)


def layer_calls(trainer, t: int) -> list[tuple]:
    """(module, input shape, channels-last, input needs grad, grad enabled) of every
    leaf-layer call iteration t makes, in call order (a layer called twice, e.g. a
    discriminator on real and fake faces, twice)."""
    import torch

    calls = []

    def seen(module, inputs, output):
        x = inputs[0] if inputs else None
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
                and not x.is_contiguous()
            calls.append((module, tuple(x.shape), channels_last, x.requires_grad, torch.is_grad_enabled()))

    nets = list(trainer.nets.values())
    if trainer.identity is not None:  # frozen, but L_id's gradient flows back through it to G
        nets.append(getattr(trainer.identity, "__self__", trainer.identity))
    hooks = [m.register_forward_hook(seen) for net in nets for m in net.modules() if not any(True for _ in m.children())]
    try:
        trainer.step(t)
    finally:
        for hook in hooks:
            hook.remove()
    return calls


def alone_s(calls: list[tuple], optimizers, repeats: int) -> dict:
    """Seconds of `calls` each run alone (forward, then, where the iteration's call built a
    graph, backward from its summed output) and of every optimizer's update alone,
    medians of `repeats`."""
    import torch

    def one(module, shape, channels_last, needs_grad, grad_enabled):
        x = torch.randn(shape)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_(needs_grad)
        in_place = getattr(module, "inplace", False)  # its input is its output: give it a copy

        def run():
            with torch.set_grad_enabled(grad_enabled):
                out = module(x.clone() if in_place else x)
            if out.requires_grad:
                out.sum().backward()

        run()  # warm-up
        return _median_s(run, repeats)

    layers = sum(one(*call) for call in calls)
    updates = sum(_median_s(opt.step, repeats) for opt in optimizers)
    return {"layers_s": layers, "updates_s": updates}


def fesr_iteration_vs_alone(rounds: int, steps: int, repeats: int, config: dict | None = None) -> dict:
    """Stage-1 and stage-2 iterations (medians over `rounds` of `steps`) beside the sums of
    their layers and updates alone."""
    import torch

    from trainables.trials.fesr import build_trainer, parse_config

    with tempfile.TemporaryDirectory() as cache:
        trainer = build_trainer(parse_config({**(config or FESR_CPU), "cache_dir": cache}), torch.device("cpu")).trainer
    stage2 = trainer.pretrain_iters
    starts = {"stage1": 0, "stage2": stage2}
    for t in starts.values():
        trainer.step(t)  # warm-up
    found = {name: {"iteration_s": []} for name in starts}
    for r in range(rounds):
        for name, first in starts.items():
            start = time.perf_counter()
            for i in range(steps):
                trainer.step(first + 1 + r * steps + i)
            found[name]["iteration_s"].append((time.perf_counter() - start) / steps)
    for name, first in starts.items():
        found[name]["iteration_s"] = statistics.median(found[name]["iteration_s"])
        calls = layer_calls(trainer, first + 1 + rounds * steps)
        used = [trainer.optims[k] for k in trainer.optims
                if any(p.grad is not None for group in trainer.optims[k].param_groups for p in group["params"])]
        found[name].update(alone_s(calls, used, repeats), layer_calls=len(calls), optimizers=len(used))
    found["iters"] = {"stage1": trainer.opts.pretrain_iters, "stage2": trainer.opts.joint_iters}
    return found


def iteration_row(found: dict) -> Row:
    iters = found["iters"]
    trial = sum(iters[s] * found[s]["iteration_s"] for s in iters)
    alone = sum(iters[s] * (found[s]["layers_s"] + found[s]["updates_s"]) for s in iters)
    parts = "; ".join(f"{s}: {found[s]['iteration_s'] * 1e3:.1f} ms an iteration, its {found[s]['layer_calls']} layer "
                      f"calls alone {found[s]['layers_s'] * 1e3:.1f} ms and {found[s]['optimizers']} updates alone "
                      f"{found[s]['updates_s'] * 1e3:.1f} ms" for s in iters)
    return Row(figure="study_cost: a FESR_JL `fesr_ablation --scale cpu` trial's iterations vs their layers and "
                      "optimizer updates timed alone (1 thread)",
               ours=f"{trial / 60:.1f} min", comparison=f"{alone / 60:.1f} min alone", ratio=trial / alone,
               goal="—", passed=None,
               note=(f"{iters['stage1']:,} + {iters['stage2']:,} iterations; {parts}; no goal: the ceiling for this "
                     "work on this core (ferlab-18)"),
               measured=found)


def bench_study_cost(quick: bool) -> list[Row]:
    import torch

    torch.set_num_threads(1)
    return [iteration_row(fesr_iteration_vs_alone(rounds=3 if quick else 5, steps=3 if quick else 10,
                                                  repeats=5 if quick else 15))]

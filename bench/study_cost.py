"""study_cost: what a user's study costs on this machine's cores, against the ceiling of
the work it does (ferlab-18).

The iteration row times a FESR_JL trial's iterations at `fesr_ablation --scale cpu` (the
ferlab-17 evidence scale, on synthfaces here: the same shapes as CK+48's 48 px faces) on
one thread, stage 1 and stage 2 taking turns, against the time the same iterations spend
inside torch's operators (the profiler's self CPU time of every `aten::` call: kernels and
their own dispatch). The rest, the ratio's excess over 1, is autograd's engine and Python's
glue between the operators: what no faster kernel would remove. Timing each layer alone
instead, by itself on an input of its shape, overstates the work (each call then pays
autograd's start-up, which an iteration's one backward shares): it summed to more than
the iteration. The row has no goal: it says how far an iteration is from its operators on
this core."""

import tempfile

from bench.rows import Row
from bench.trial_throughput import FESR_CPU, interleaved, per_call_s


def op_seconds(trainer, first: int, steps: int) -> dict:
    """Iterations `first`.. `first + steps - 1` under torch's profiler: per iteration, the
    seconds its aten operators spend in themselves (self CPU time, so an operator that
    calls others is not counted twice) and how many operator calls it makes."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for t in range(first, first + steps):
            trainer.step(t)
    ops = [event for event in prof.key_averages() if event.key.startswith("aten::")]
    return {"ops_s": sum(event.self_cpu_time_total for event in ops) / 1e6 / steps,
            "op_calls": sum(event.count for event in ops) // steps}


def fesr_iteration_vs_ops(rounds: int, steps: int, config: dict | None = None) -> dict:
    """Stage-1 and stage-2 iterations (medians over `rounds` of `steps`, the stages taking
    turns) beside their operators' own time, profiled over `steps` further iterations."""
    import torch

    from trainables.trials.fesr import build_trainer, parse_config

    with tempfile.TemporaryDirectory() as cache:
        trainer = build_trainer(parse_config({**(config or FESR_CPU), "cache_dir": cache}), torch.device("cpu")).trainer
    starts = {"stage1": 0, "stage2": trainer.pretrain_iters}
    for t in starts.values():
        trainer.step(t)  # warm-up

    def stage(first):
        return lambda r: {"iteration_s": per_call_s(trainer.step, steps, first + 1 + r * steps)}

    found = interleaved({name: stage(first) for name, first in starts.items()}, rounds)
    for name, first in starts.items():
        found[name].update(op_seconds(trainer, first + 1 + rounds * steps, steps))
    found["iters"] = {"stage1": trainer.opts.pretrain_iters, "stage2": trainer.opts.joint_iters}
    return found


def iteration_row(found: dict) -> Row:
    iters = found["iters"]
    trial = sum(iters[s] * found[s]["iteration_s"] for s in iters)
    ops = sum(iters[s] * found[s]["ops_s"] for s in iters)
    parts = "; ".join(f"{s}: {found[s]['iteration_s'] * 1e3:.1f} ms an iteration, {found[s]['ops_s'] * 1e3:.1f} ms "
                      f"in its {found[s]['op_calls']:,} operator calls" for s in iters)
    return Row(figure="study_cost: a FESR_JL `fesr_ablation --scale cpu` trial's iterations vs their operators' own "
                      "time (1 thread)",
               ours=f"{trial / 60:.1f} min", comparison=f"{ops / 60:.1f} min in operators", ratio=trial / ops,
               goal="—", passed=None,
               note=(f"{iters['stage1']:,} + {iters['stage2']:,} iterations; {parts}; no goal: the ceiling for this "
                     "work on this core (ferlab-18)"),
               measured=found)


def bench_study_cost(quick: bool) -> list[Row]:
    import torch

    torch.set_num_threads(1)
    return [iteration_row(fesr_iteration_vs_ops(rounds=3 if quick else 5, steps=3 if quick else 10))]

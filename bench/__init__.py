"""`python -m bench`: the platform's performance figures, each measured side by side
with what it is compared against in the same run, as a ratio against a goal.

    python -m bench [--quick] [--only NAME ...] [--json bench.json]

Prints a Markdown table (figure, ours, the comparison, ratio, goal, pass/fail) and writes
every raw measurement to JSON. A figure that cannot be measured here (no GPU, no FER2013
files) says "not measured" and why; it never gets a number."""

import argparse
import json
import time
from dataclasses import asdict, replace

from bench.data import bench_dataset_load, bench_trial_memory
from bench.gpu import bench_gpu_packing
from bench.gpu_fused import bench_gpu_throughput
from bench.rows import Row, machine, to_markdown
from bench.synthetic_cache import bench_synthetic_cache
from bench.overhead import bench_platform_overhead
from bench.training import bench_concurrency, bench_input_pipeline
from bench.study_cost import bench_study_cost
from bench.trial_throughput import bench_trial_throughput

from atomic import write_text

BENCHMARKS = {  # name → a function of `quick` returning a Row or a list of Rows
    "dataset_load": bench_dataset_load,
    "trial_memory": bench_trial_memory,
    "concurrency": bench_concurrency,
    "platform_overhead": bench_platform_overhead,
    "trial_throughput": bench_trial_throughput,
    "study_cost": bench_study_cost,
    "input_pipeline": bench_input_pipeline,
    "synthetic_cache": bench_synthetic_cache,
    "gpu_packing": bench_gpu_packing,
    "gpu_throughput": bench_gpu_throughput,
}


def run(names: list[str], quick: bool) -> list[Row]:
    rows = []
    for name in names:
        found = BENCHMARKS[name](quick)
        rows.extend(replace(row, name=name) for row in (found if isinstance(found, list) else [found]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short CPU runs (minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--json", default="bench.json", help="where to write the measurements (default bench.json)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.only or list(BENCHMARKS), args.quick)
    report = {"machine": machine(), "quick": args.quick, "wall_s": time.perf_counter() - started,
              "rows": [asdict(row) for row in rows]}
    write_text(args.json, json.dumps(report, indent=2))
    print(to_markdown(rows))
    print(f"\n{report['machine']['cpus']} CPUs, GPU: {report['machine']['gpu'] or 'none'}; "
          f"{report['wall_s']:.0f} s; measurements in {args.json}")
    return 0

"""One row of the benchmark report: a figure measured side by side with what it is
compared against, as a ratio against a goal; the report's Markdown table and machine."""

import os
import platform
import time
from dataclasses import dataclass, field


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
    name: str = ""  # the benchmark that measured it (`--only NAME`); `bench.run` sets it


def not_measured(figure: str, goal: str, why: str) -> Row:
    return Row(figure=figure, goal=goal, note=f"not measured: {why}")


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

"""study_cost's launch row: a whole launch's wall time against the same launch's at
another commit, both read from their exports (`python -m analysis.export`): the time
from each launch's parent run's start to its end. E.g. a FESR CK+48 fold's launch at a
commit before ferlab-18 against the same launch now, fused, run side by side on one
machine. It needs the launches run first, so it is not part of `python -m bench`:

    python -m bench.launch_cost BEFORE.json.gz AFTER.json.gz"""

import argparse
import gzip
import json
from pathlib import Path

from bench.rows import Row, to_markdown

EXPORT_FORMAT = "ferlab-runs"  # what analysis.export writes (bench may not import analysis)


def read_export(path: str | Path) -> dict:
    """An export's document; a file that is none says so."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise ValueError(f"no export file {path}") from None
    except (OSError, json.JSONDecodeError, EOFError) as err:
        raise ValueError(f"{path} is not a gzipped JSON export ({err})") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{path} is not a {EXPORT_FORMAT} export (python -m analysis.export writes them)")
    return document


def launch_cost(path: str | Path) -> dict:
    """One exported launch: its wall time (the parent run's start to end), its trials (runs)
    and the Tune trials they ran in (fewer where members fused), the fusing asked for, the
    commit it ran and the options it was launched with."""
    document = read_export(path)
    if len(document["launches"]) != 1:
        raise ValueError(f"{path} holds {len(document['launches'])} launches; the launch row compares one with one")
    launch = document["launches"][0]
    parent, tags = launch["parent"], launch["parent"]["tags"]
    if parent["status"] != "FINISHED" or not parent.get("end_time"):
        raise ValueError(f"{path}: its launch did not finish (parent run {parent['status']}), so it has no wall time")
    options = json.loads(tags.get("ferlab.launch_options", "{}"))
    # a fused Tune trial tags each member's run with its id; --fuse K fuses only members of one
    # recipe (seeds, folds), so a launch of one seed and fold fuses nothing whatever K says
    fused_ids = [r["tags"].get("ferlab.fused_trial_id") for r in launch["runs"]]
    tune_trials = len(set(fused_ids)) if all(fused_ids) else len(fused_ids)
    return {"path": str(path), "study": document["study"], "commit": tags.get("ferlab.git_sha", "")[:7],
            "dirty": tags.get("ferlab.git_dirty") == "true", "fuse": int(tags.get("ferlab.fuse", "1")),
            "trials": len(launch["runs"]), "tune_trials": tune_trials,
            "finished": sum(r["status"] == "FINISHED" for r in launch["runs"]),
            "wall_s": (parent["end_time"] - parent["start_time"]) / 1000,
            "launch": {k: options.get(k) for k in ("scale", "dataset", "overrides", "num_samples")}}


def launch_row(before: dict, after: dict) -> Row:
    """`after`'s wall time against `before`'s, for the same launch: the same study, scale,
    dataset, overrides and trials, each trial finished."""
    for key in ("study", "launch", "trials"):
        if before[key] != after[key]:
            raise ValueError(f"the launches differ in {key}: {before[key]} vs {after[key]}; "
                             "the launch row compares the same launch at two commits")
    for found in (before, after):
        if found["finished"] != found["trials"]:
            raise ValueError(f"{found['path']}: {found['trials'] - found['finished']} of its {found['trials']} "
                             "trials did not finish")

    def how(found):
        fused = ""
        if found["fuse"] > 1:
            members = found["trials"] / found["tune_trials"]
            fused = f", --fuse {found['fuse']} " + ("(nothing fused: one member a trial)" if members == 1
                                                    else f"({members:.3g} members a trial)")
        return f"{found['commit']}{' + changes' if found['dirty'] else ''}{fused}"

    return Row(figure=(f"study_cost: a whole `{before['study']}` launch ({before['launch']['dataset']}, scale "
                       f"{before['launch']['scale']}, {before['trials']} trials), {how(after)} vs {how(before)}"),
               ours=f"{after['wall_s'] / 60:.1f} min", comparison=f"{before['wall_s'] / 60:.1f} min",
               ratio=before["wall_s"] / after["wall_s"], goal="—", passed=None,
               note="the ratio is the speed-up; no goal (ferlab-18: what a user pays)",
               measured={"before": before, "after": after})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.launch_cost",
                                     description="A whole launch's wall time against the same launch's at another "
                                                 "commit, read from their exports.")
    parser.add_argument("launches", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="two exports (python -m analysis.export) of the same launch")
    args = parser.parse_args(argv)
    try:
        row = launch_row(*(launch_cost(p) for p in args.launches))
    except ValueError as err:
        parser.error(str(err))
    print(to_markdown([row]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

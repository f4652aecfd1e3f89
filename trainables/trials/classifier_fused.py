"""K classifier trials of one recipe that differ only in seed and fold, trained as one
stacked net (trainables.fused.classifier) and reported as K trials (trainables.core.members).

Each member reports what its unfused trial (trainables.trials.classifier) reports, round for
round: the same selection on its own validation split, the same test metrics and artifacts.
Its checkpoint (`members/<i>/state.pt`) is its unfused trial's. A member whose training
loss stops being finite, or whose own evaluation raises, fails alone; the others go on."""

import dataclasses
import tempfile
from pathlib import Path

import torch

from trainables.configs.classifier import parse_members, step_budget
from trainables.core.config import ConfigError
from trainables.core.fit import Selection
from trainables.core.members import MemberGroup
from trainables.core.real_data import device_for, load_real_data
from trainables.fused.classifier import FusedClassifier
from trainables.trials.classifier import (ClassifierConfig, build_net, finisher, fit_options,
                                          real_splits)


@dataclasses.dataclass
class Member:
    cfg: ClassifierConfig
    train: object
    val: object
    on_finish: object
    selection: Selection


def train_classifiers(configs: list[dict], group: MemberGroup) -> None:
    """Run the members of `group` (member i's config is `configs[i]`) to their end."""
    cfgs = parse_members(configs)
    if cfgs[0].threads:
        torch.set_num_threads(cfgs[0].threads)
    device = device_for(cfgs[0].device)
    members, nets = [], []
    for k, reporter in enumerate(group.members):
        real = load_real_data(cfgs[k].data, cfgs[k].seed)
        cfg = cfgs[k] = step_budget(cfgs[k], len(real.splits.train))
        train, val, test = real_splits(cfg, real)
        members.append(Member(cfg, train, val, finisher(cfg, real, reporter, test, len(train.y), 0), Selection()))
        nets.append(build_net(cfg, len(real.class_names), device))
    if len({cfg.steps for cfg in cfgs}) > 1:
        raise ConfigError(f"fused classifier members step in lockstep, but max_passes={cfgs[0].max_passes} gives them "
                          f"budgets of {sorted({cfg.steps for cfg in cfgs})} steps (each counts its own fold's "
                          "training images): launch without fusing (fuse=1), or without max_passes")
    opts = [fit_options(cfg) for cfg in cfgs]
    fused = FusedClassifier(nets, opts, device)
    start = 0
    for i in group.alive():
        restored = group.members[i].restore()
        if restored:
            state = torch.load(Path(restored) / "state.pt", map_location=device, weights_only=False)
            fused.load_member_state(i, state)
            start, members[i].selection = state["epoch"] + 1, Selection.of(state)
    for epoch in range(start, cfgs[0].epochs):
        if not group.alive():
            return
        rounds = fused.train_round([m.train for m in members], epoch)
        for i in group.alive():
            try:
                metrics = member_round(members[i], fused.member_net(i), opts[i], epoch, device, *rounds[i])
                with tempfile.TemporaryDirectory(prefix="ferlab-fused-") as tmp:
                    torch.save({**fused.member_state(i), "epoch": epoch, **members[i].selection.state()},
                               Path(tmp) / "state.pt")
                    group.members[i].report(metrics, checkpoint_dir=tmp)
            except Exception as err:  # noqa: BLE001 — the member's own failure: it fails alone
                group.fail(i, err)
        group.end_round()


def member_round(member: Member, net, opts, epoch: int, device, train_loss: float, train_acc: float) -> dict:
    metrics = member.selection.round_report(net, member.val, opts, epoch, len(member.train.x), device,
                                            train_loss, train_acc)
    if epoch == opts.epochs - 1:
        metrics.update(member.on_finish(net, member.selection.best_net(net)))
    return metrics

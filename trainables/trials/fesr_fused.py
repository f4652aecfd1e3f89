"""K FESR trials of one variant and recipe that differ only in seed and fold, trained as one
stacked model (trainables.fused.fesr) and reported as K trials (trainables.core.members).

Each member is a TrialRun (trainables.trials.fesr) whose trainer is an unfused FESRTrainer
holding the member's state at each report: its validation, chosen R, stage-1 cache, final
metrics, artifacts and checkpoint are its unfused trial's. A member whose losses stop being
finite, or whose own report raises, fails alone; the others go on."""

import math

import torch

from trainables.configs.fesr import parse_members
from trainables.core.members import MemberGroup
from trainables.core.real_data import device_for
from trainables.fused.fesr import FusedFESRTrainer
from trainables.configs.fesr_variants import get_variant
from trainables.synthetic.identity import load_module
from trainables.trials.fesr import TrialRun, build_trainer


def train_fesr_members(configs: list[dict], group: MemberGroup) -> None:
    """Run the members of `group` (member i's config is `configs[i]`) to their end."""
    cfgs = parse_members(configs)
    if cfgs[0].threads:
        torch.set_num_threads(cfgs[0].threads)
    device = device_for(cfgs[0].device)
    setups = [build_trainer(cfg, device) for cfg in cfgs]
    runs = [TrialRun(cfg, setup, reporter, device) for cfg, setup, reporter in zip(cfgs, setups, group.members)]
    trunk = load_module(cfgs[0].trunk_weights, device) if cfgs[0].trunk_weights else None
    fused = FusedFESRTrainer(get_variant(cfgs[0].variant), [c.fesr for c in cfgs], len(setups[0].real.class_names),
                             [(s.trainer.images, s.trainer.labels) for s in setups], device,
                             [s.trainer.identity for s in setups], trunk)
    restore(group, runs, fused, device)
    t = runs[group.alive()[0]].t if group.alive() else 0
    total = setups[0].trainer.total_iters
    while t < total and group.alive():
        logs = fused.step(t)
        due = [runs[i].add({name: float(value[i]) for name, value in logs.items()}) for i in group.alive()]
        t += 1
        if not any(due):
            continue
        for i in group.alive():
            try:
                losses = {k: v for k, v in runs[i].sums.items() if not math.isfinite(v)}
                if losses:
                    raise FloatingPointError(f"losses {sorted(losses)} are not finite by iteration {t}: it diverged")
                setups[i].trainer.load_state_dict(fused.member_state(i))
                runs[i].report()
            except Exception as err:  # noqa: BLE001 — the member's own failure: it fails alone
                group.fail(i, err)
        group.end_round()


def restore(group: MemberGroup, runs: list[TrialRun], fused: FusedFESRTrainer, device) -> None:
    """Each member from the group's checkpoint; else, when every member's stage 1 is cached,
    from those caches (stages run in lockstep: one member without its cache trains them all)."""
    alive = group.alive()
    restored = [group.members[i].restore() for i in alive]
    if any(restored):
        for i, path in zip(alive, restored):
            runs[i].restore(path)
            fused.load_member_state(i, runs[i].setup.trainer.state_dict())
        return
    caches = [runs[i].stage1_cache for i in alive]
    if caches and all(c is not None and c.exists() for c in caches):
        for i, cache in zip(alive, caches):
            runs[i].setup.trainer.load_state_dict(torch.load(cache, map_location=device, weights_only=True))
            fused.load_member_state(i, runs[i].setup.trainer.state_dict())
            runs[i].stage1_loaded()

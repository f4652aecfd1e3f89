"""The cycle_gamma study's tables: Birenbaum's weighted cycle loss, its γ ablation paired
with the shared baseline arm, each setting against the shared oversampling arm, and
per-class accuracy beside his slide."""

from __future__ import annotations

import pandas as pd

from analysis import paper_claims, references
from analysis.cells import metric_table
from analysis.columns import Column, class_columns, overall_columns
from analysis.pairing import Paired
from analysis.layouts.registry import register_layout
from analysis.layouts.shared import CYCLEGAN_GATES, dropped_note, require_columns
from analysis.tables import Table
from analysis.gates import Gate


BASELINE = "baseline"
OVERSAMPLE = "oversample+disgust"  # the real disgust images repeated to the count the GAN adds
CONTROLS = (BASELINE, OVERSAMPLE)  # StudySpec.shared_control: once per seed and fold


def _gamma_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """γ does not enter the plain L1 loss: its γ settings are one configuration, so keep
    one run per (seed, fold, adversarial loss, soft labels) and show γ as '—'."""
    runs = runs.copy()
    l1 = runs["param.cycle_loss"].astype(str) == "l1"
    runs.loc[l1, "param.gamma_max"] = "—"
    runs.loc[l1, "param.gamma_schedule"] = "—"
    keys = [c for c in ("parent_run_id", "seed", "fold", "param.arm", "param.cycle_loss", "param.gamma_max",
                        "param.gamma_schedule", "param.adv_loss", "param.soft_labels") if c in runs.columns]
    return runs.drop_duplicates(subset=keys)


@register_layout("cycle_gamma", "Birenbaum's weighted cycle loss: γ ablation, and baseline vs + synthetic "
                                "per class beside his slide")
def cycle_gamma(runs: pd.DataFrame) -> list[Table]:
    axes = ["param.cycle_loss", "param.gamma_max", "param.gamma_schedule", "param.adv_loss", "param.soft_labels"]
    require_columns(runs, axes, "cycle_gamma")
    if "param.arm" not in runs:  # launches from before the baseline arm: all GAN arms
        runs = runs.assign(**{"param.arm": "+disgust"})
    runs = _gamma_rows(runs)
    axes = ["param.arm"] + axes
    if "param.net" in runs and runs["param.net"].nunique() > 1:
        axes = ["param.net"] + axes
    # The baseline arm runs once per seed and fold (StudySpec.shared_control): every
    # cycle-loss row is paired with it.
    paired = Paired(arm="param.arm", control=BASELINE, shared_control=True)
    target = "disgust"
    columns = [Column("overall acc", "test/acc_at_best_val", "acc"),
               Column(f"{target} acc", f"test/acc_{target}_at_best_val", f"acc_{target}"),
               Column(f"FID (FER-classifier features), {target}", f"synth/{target}/fid_fer", scale=1.0),
               Column(f"KID ×10³ (FER-classifier features), {target}", f"synth/{target}/kid_fer", scale=1000.0),
               Column("cycle SSIM", f"synth/{target}/ssim_cycle", rate=False),
               Column(f"judged {target}", f"synth/{target}/agreement")]
    if f"synth/{target}/artifact_rate" in runs.columns:  # the gate's floor (analysis.gates)
        columns.append(Column(f"reconstructions F(G(neutral)) judged {target}", f"synth/{target}/artifact_rate"))
    ablation = metric_table(
        runs, name="cycle_gamma_ablation",
        title="Weighted cycle loss ablation (neutral → disgust): downstream test accuracy at the "
              "best-validation epoch (%), FID (raw), KID (×10³; cycle_gamma_search's metric) and cycle SSIM "
              "(×100), each setting paired with the baseline arm (same recipe and step budget, no synthetic "
              "images)",
        group_by=axes, columns=columns, paired=paired, claims=paper_claims.claims(paper="birenbaum"),
        gates=CYCLEGAN_GATES)
    per_class = metric_table(
        runs, name="cycle_gamma_per_class",
        title="Baseline + synthetic data (Birenbaum's slide 'Simple Classifier - Results'): per-class "
              "accuracy by cycle-loss setting (%)",
        group_by=axes, columns=overall_columns() + class_columns(runs), paired=paired,
        references={key: references.select(
                        paper="birenbaum", row="baseline" if key[axes.index("param.arm")] == BASELINE
                        else "baseline + synthetic data")
                    for key in runs[axes].astype(str).drop_duplicates().itertuples(index=False, name=None)
                    if key[axes.index("param.arm")] != OVERSAMPLE})
    per_class.footnotes.append("Birenbaum's slide gives one 'baseline + synthetic data' result, without saying "
                               "which cycle-loss setting made it; it is shown beside every synthetic row, and "
                               "his baseline beside our baseline arm.")
    tables = [ablation, per_class] + _against_oversampling(runs, axes, columns[:2]) + _weighted_vs_plain(runs)
    dropped = dropped_note(runs)
    for table in tables if dropped else []:
        table.footnotes.append(dropped)
    return tables


def _against_oversampling(runs: pd.DataFrame, axes: list[str], columns: list[Column]) -> list[Table]:
    """Every cycle-loss setting paired with the shared oversampling arm (the real disgust
    images repeated to the count the GAN adds): what the generated images add over
    rebalancing the classes with copies. Beside the ablation table's Δ vs baseline."""
    arms = runs["param.arm"].astype(str)
    if not (arms == OVERSAMPLE).any():
        return []
    table = metric_table(
        runs[arms != BASELINE], name="cycle_gamma_vs_oversampling",
        title="Weighted cycle loss ablation against the cheap alternative: each setting's generated disgust images "
              "against the same number of real disgust images repeated (oversampling, same recipe and step "
              "budget); downstream test accuracy at the best-validation epoch (%)",
        group_by=axes, columns=columns, paired=Paired(arm="param.arm", control=OVERSAMPLE, shared_control=True),
        gates=CYCLEGAN_GATES)
    table.footnotes.append("The oversampling arm trains no GAN: its cycle-loss columns show the grid's first "
                           "values and mean nothing; it runs once per seed and fold and pairs with every row.")
    return [table]


def _weighted_vs_plain(runs: pd.DataFrame) -> list[Table]:
    """Birenbaum's weighted cycle loss against the plain L1 cycle loss, both GAN arms gated,
    paired on seed and fold within each adversarial loss and label setting."""
    gan = runs[~runs["param.arm"].astype(str).isin(CONTROLS)]
    l1 = gan["param.cycle_loss"].astype(str) == "l1"
    if not l1.any() or l1.all():
        return []
    setting = [paper_claims.PLAIN_CYCLE if plain else paper_claims.weighted_setting(g, s)
               for plain, g, s in zip(l1, gan["param.gamma_max"].astype(str), gan["param.gamma_schedule"].astype(str))]
    gan = gan.assign(**{"cycle loss": setting})
    group_by = [c for c in ("param.net", "param.adv_loss", "param.soft_labels") if c in gan and
                (c != "param.net" or gan[c].nunique() > 1)] + ["cycle loss"]
    return [metric_table(
        gan, name="cycle_gamma_weighted_vs_plain",
        title="Weighted against plain cycle loss (Birenbaum's 'Solution – Weighted Cycle Loss'): downstream test "
              "accuracy at the best-validation epoch, each weighted setting paired with the plain L1 loss (%)",
        group_by=group_by, columns=[Column("overall acc", "test/acc_at_best_val"),
                                    Column("disgust acc", "test/acc_disgust_at_best_val")],
        paired=Paired(arm="cycle loss", control=paper_claims.PLAIN_CYCLE),
        claims=paper_claims.claims(paper="birenbaum"), gates={s: Gate(("disgust",)) for s in set(setting)})]

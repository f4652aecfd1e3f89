"""The cyclegan_augmentation study's tables (Zhu et al. Tables 1-2): one-vs-rest and 7-way
accuracy by arm beside theirs, each GAN arm against oversampling, DAG, the fine-tuned
'FER+X' rows, and the generated images' quality."""

from __future__ import annotations

import dataclasses

import pandas as pd

from analysis import paper_claims, references
from analysis.cells import metric_table
from analysis.columns import Column, class_columns, overall_columns
from analysis.pairing import Paired
from analysis.layouts.registry import register_layout
from analysis.layouts.shared import CYCLEGAN_GATES, dropped_note, require_columns
from analysis.tables import Table
from analysis.gates import Gate


def _zhu_rows(source: str, rows: dict[str, str], nets: list[str] | None) -> dict[tuple, list]:
    """Our row key → Zhu et al.'s records of that arm on both of their test splits. Row keys
    are (arm,), or (net, arm) when the runs hold several nets (never averaged together)."""
    out = {}
    for arm, row in rows.items():
        refs = [r for split in ("7%", "14%")
                for r in references.select(paper="zhu2017", source=source, row=f"{row} ({split} test)")]
        for key in ([(net, arm) for net in nets] if nets else [(arm,)]):
            out[key] = refs
    return out


def _arm_rows(runs: pd.DataFrame) -> tuple[list[str], list[str] | None]:
    nets = sorted(runs["param.net"].astype(str).unique()) if "param.net" in runs else []
    return (["param.net", "param.arm"], nets) if len(nets) > 1 else (["param.arm"], None)


def _synthetic_columns(runs: pd.DataFrame) -> list[Column]:
    """Quality of the generated images of each target class present in the runs."""
    targets = sorted({c.split("/")[1] for c in runs.columns if c.startswith("synth/") and c.endswith("/fid_fer")})
    cols = []
    for t in targets:
        cols += [Column(f"{t}: FID (FER-classifier features)", f"synth/{t}/fid_fer", scale=1.0),
                 Column(f"{t}: judged {t}", f"synth/{t}/agreement"),
                 Column(f"{t}: real neutral judged {t}", f"synth/{t}/real_confusion")]
        if f"synth/{t}/artifact_rate" in runs.columns:  # the gate's floor (analysis.gates)
            cols.append(Column(f"{t}: reconstructions F(G(neutral)) judged {t}", f"synth/{t}/artifact_rate"))
    return cols


@register_layout("cyclegan_augmentation", "Zhu et al. Tables 1-2: arms baseline / +class / +all / DAG, "
                                          "one-vs-rest and 7-way accuracy, paired on seed")
def cyclegan_augmentation(runs: pd.DataFrame) -> list[Table]:
    require_columns(runs, ["param.arm"], "cyclegan_augmentation")
    finetuned = _finetuned(runs)
    tables = [_transfer_table(runs[finetuned])] if finetuned.any() else []
    if (~finetuned).any():
        tables = _source_tables(runs[~finetuned]) + tables
    return tables


def _finetuned(runs: pd.DataFrame) -> pd.Series:
    """Runs fine-tuned (and tested) on another dataset: their test metrics are that dataset's."""
    if "param.finetune_dataset" not in runs:
        return pd.Series(False, index=runs.index)
    return runs["param.finetune_dataset"].notna() & (runs["param.finetune_dataset"].astype(str) != "None")


def _transfer_table(runs: pd.DataFrame) -> Table:
    group_by, nets = _arm_rows(runs)
    group_by = ["param.finetune_dataset"] + group_by
    refs = {}
    for target in runs["param.finetune_dataset"].astype(str).unique():
        for arm, row in (("baseline", "baseline"), ("dag", "DAG: pre-train+fine-tune")):
            found = [dataclasses.replace(r, row=f"{r.row}, {r.dataset.split(' (')[0]}",
                                         notes=f"their fine-tuning data is {r.dataset.split(' (')[0]}, ours "
                                                  f"{target}: a different dataset, beside ours for the direction "
                                                  "of the effect only")
                     for r in references.select(paper="zhu2017", source="Table 2", row=row)
                     if not r.dataset.startswith("FER2013")]
            for key in ([(target, net, arm) for net in nets] if nets else [(target, arm)]):
                refs[key] = found
    table = metric_table(
        runs, name="cyclegan_augmentation_table2_finetuned",
        title="Zhu et al. Table 2, 'FER+X' rows: the FER-trained model of each arm fine-tuned on another "
              "dataset and tested on that dataset's test split; 7-way accuracy at the best-validation epoch (%)",
        group_by=group_by,
        columns=[Column("acc on fine-tuning dataset", "test/acc_at_best_val", "acc"),
                 Column("macro-F1 on fine-tuning dataset", "test/macro_f1_at_best_val"),
                 Column("source-dataset acc before fine-tuning", "source/test/acc_at_best_val")],
        references=refs, paired=Paired(arm="param.arm", control="baseline"))
    folds = sorted(runs["param.finetune_fold"].astype(str).unique()) if "param.finetune_fold" in runs else ["0"]
    table.footnotes.append(
        "Each trial trains the arm's classifier on the source dataset named in the line above (FER2013 in "
        "the paper), takes its best-validation epoch, gives it a new last layer for the fine-tuning "
        "dataset's classes and fine-tunes all of it on that dataset's training split; the fine-tuning "
        f"dataset's own protocol splits it (CK+48: subject-independent folds; fold(s) {', '.join(folds)}).")
    return table


OVERSAMPLE = "oversample"  # the arm prefix of trainables.trials.cyclegan's oversampling controls


def _against_oversampling(runs: pd.DataFrame, group_by: list[str]) -> list[Table]:
    """Each GAN arm `+X` beside its cheap alternative `oversample+X` (the real X images
    repeated to the count the GAN adds), paired on seed: what the GAN adds over copies."""
    arms = runs["param.arm"].astype(str)
    gan_arms = [a for a in arms.unique() if a.startswith("+") and f"{OVERSAMPLE}{a}" in set(arms)]
    if not gan_arms:
        return []
    frames = [runs[arms.isin([a, f"{OVERSAMPLE}{a}"])].assign(
        **{"added images": a[1:], "source": lambda d, a=a: d["param.arm"].astype(str).map(
            {a: "CycleGAN", f"{OVERSAMPLE}{a}": "real, oversampled"})}) for a in gan_arms]
    both = pd.concat(frames, ignore_index=True)
    return [metric_table(
        both, name="cyclegan_augmentation_vs_oversampling",
        title="CycleGAN images against the cheap alternative: the same number of real images of the class "
              "repeated (oversampling); 7-way accuracy per class at the best-validation epoch (%)",
        group_by=group_by + ["added images", "source"], columns=overall_columns() + class_columns(both),
        paired=Paired(arm="source", control="real, oversampled"), gates={"CycleGAN": Gate()})]


DAG_REAL = "dag_real"  # trainables.trials.cyclegan's real-only arm with DAG's two stages


def _dag_tables(runs: pd.DataFrame, group_by: list[str], nets: list[str] | None) -> list[Table]:
    """DAG beside baseline (Zhu et al. Table 2) and, where it ran, beside `dag_real`: the
    same two-stage schedule and second validation choice pre-trained on real images, so
    DAG's Δ against it is the generated images' and not the restarted schedule's."""
    arms = runs["param.arm"].astype(str)
    if not (arms == "dag").any():
        return []
    columns = [Column("overall acc", "test/acc_at_best_val"),
               Column("mean one-vs-rest acc", paper_claims.MEAN_OVR, "ovr_acc_mean")]
    tables = [metric_table(
        runs[arms.isin(["baseline", DAG_REAL, "dag"])], name="cyclegan_augmentation_table2",
        title="DAG (Zhu et al. Table 2, FER2013 row): pre-train on generated images, fine-tune on real; dag_real: "
              "the same two stages pre-trained on real images (%)",
        group_by=group_by, columns=columns,
        references=_zhu_rows("Table 2", {"baseline": "baseline", "dag": "DAG: pre-train+fine-tune"}, nets),
        paired=Paired(arm="param.arm", control="baseline"), gates=CYCLEGAN_GATES)]
    if (arms == DAG_REAL).any():
        tables.append(metric_table(
            runs[arms.isin([DAG_REAL, "dag"])], name="cyclegan_augmentation_table2_vs_two_stage_real",
            title="DAG against its two-stage control: pre-training on generated images against pre-training on "
                  "the real training images, each then fine-tuned on real with a restarted schedule and chosen "
                  "again on validation, on the same step budget split (%)",
            group_by=group_by, columns=columns, paired=Paired(arm="param.arm", control=DAG_REAL),
            gates=CYCLEGAN_GATES))
    return tables


def with_mean_ovr(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with ``paper_claims.MEAN_OVR``: the mean of their per-class one-vs-rest accuracies,
    what Zhu et al.'s 'All' column reports (papers/README.md)."""
    ovr = [c.metric for c in class_columns(runs, one_vs_rest=True)]
    if not ovr:
        return runs
    return runs.assign(**{paper_claims.MEAN_OVR: runs[ovr].astype(float).mean(axis=1, skipna=False)})


def _source_tables(runs: pd.DataFrame) -> list[Table]:
    paired = Paired(arm="param.arm", control="baseline")
    group_by, nets = _arm_rows(runs)
    runs = with_mean_ovr(runs)
    ovr = metric_table(
        runs, name="cyclegan_augmentation_table1",
        title="CycleGAN augmentation (Zhu et al. Table 1): one-vs-rest accuracy per class, their mean and 7-way "
              "overall accuracy at the best-validation epoch, by arm (%)",
        group_by=group_by, columns=[Column("overall acc", "test/acc_at_best_val"),
                                    Column("mean one-vs-rest acc", paper_claims.MEAN_OVR, "ovr_acc_mean")]
        + class_columns(runs, one_vs_rest=True),
        references=_zhu_rows("Table 1", {"baseline": "baseline", "+disgust": "+disgust", "+sad": "+sad"}, nets),
        paired=paired, claims=paper_claims.claims(paper="zhu2017"), gates=CYCLEGAN_GATES)
    ovr.footnotes.append("Zhu et al.'s 'All' column is, at 91-95 %, most likely a mean of one-vs-rest accuracies "
                         "(papers/README.md): it is set beside, and their claims judged on, our mean one-vs-rest "
                         "accuracy, not our 7-way accuracy.")
    seven_way = metric_table(
        runs, name="cyclegan_augmentation_7way",
        title="CycleGAN augmentation: 7-way accuracy per class (recall) at the best-validation epoch, by arm (%)",
        group_by=group_by, columns=overall_columns() + class_columns(runs), paired=paired,
        claims=paper_claims.claims(paper="birenbaum"), gates=CYCLEGAN_GATES)
    tables = [ovr, seven_way] + _against_oversampling(runs, group_by[:-1]) + _dag_tables(runs, group_by, nets)
    dropped = dropped_note(runs)
    for table in tables if dropped else []:
        table.footnotes.append(dropped)
    synthetic = runs[runs["param.arm"].astype(str) != "baseline"]
    if not synthetic.empty and _synthetic_columns(synthetic):
        tables.append(metric_table(
            synthetic, name="cyclegan_augmentation_samples",
            title="Generated images (validation reference images translated): FID on the real-data judge's "
                  "features, and the share the judge assigns to the intended class (%; FID raw)",
            group_by=group_by, columns=_synthetic_columns(synthetic)))
    return tables

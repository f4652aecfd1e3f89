"""The dcgan_svm study's tables (Alharbawee & Pugeault): accuracy and mean AUC per
(pre-training, SVM training, test) datasets and feature kind, each kind paired against
raw pixels; the DCGAN's sample quality; and their experiments, which use none of our
datasets, listed apart for scale."""

from __future__ import annotations

import pandas as pd

from analysis import ReportError, paper_claims, references
from analysis.cells import metric_table
from analysis.columns import Column
from analysis.pairing import Paired
from analysis.layouts.registry import register_layout
from analysis.tables import Table

FEATURES = "param.features"


def _sides(runs: pd.DataFrame) -> pd.DataFrame:
    """Columns naming each side: `pretrain` and `test` default to the training dataset."""
    def column(name: str) -> pd.Series:
        values = runs[name] if name in runs else pd.Series(None, index=runs.index, dtype=object)
        return values.where(values.notna() & (values.astype(str) != "None"), runs["dataset"]).astype(str)

    return runs.assign(pretrain=column("param.pretrain_dataset"), train=runs["dataset"].astype(str),
                       test=column("param.test_dataset"))


def svm_table(runs: pd.DataFrame) -> Table:
    runs = _sides(runs)
    control = "pixels" if (runs[FEATURES].astype(str) == "pixels").any() else None
    table = metric_table(
        runs, name="dcgan_svm",
        title="DCGAN features + SVM (their Tables II-III): test accuracy and mean one-vs-rest AUC by pre-training / "
              "SVM training / test dataset and features (%)",
        group_by=["pretrain", "train", "test", FEATURES],
        columns=[Column("accuracy", "test/acc", "acc"), Column("mean AUC (×100)", "test/mean_auc", "mean_auc"),
                 Column("inner-CV accuracy of the chosen C, γ", "svm/cv_acc_best")],
        paired=None if control is None else Paired(
            arm=FEATURES, control=control,
            unequal_budget="their design: the budget is the optimizer steps of the network whose features the "
                           "SVM reads (the DCGAN's, the CNN's, none for pixels); the SVM and its search are the "
                           "same for all"),
        claims=paper_claims.claims(paper="alharbawee"))
    table.footnotes[:0] = [
        "features: dcgan = the DCGAN discriminator's penultimate layer (DCGAN trained on the pre-training images "
        "without labels); cnn = the baseline CNN's penultimate layer (trained with labels on the pre-training "
        "dataset); pixels = the raw image at 32×32. Same SVM, same Optuna search, same folds for all three.",
        "Test = the training dataset's held-out fold (subject-independent where subjects are known) when test = "
        "train; otherwise the other dataset's official test split (or all of it), classes both share.",
        "Their experiments use other datasets (Radboud, CelebA, RAF-DB, KDEF, SFEW; see the next table): no row of "
        "ours is the same experiment."]
    return table


def quality_table(runs: pd.DataFrame) -> Table:
    runs = _sides(runs)
    dcgan = runs[runs[FEATURES].astype(str) == "dcgan"]
    with_inception = "dcgan/is" in dcgan and dcgan["dcgan/is"].notna().any()
    columns = [Column("FID (FER-CNN features)", "dcgan/fid_fer", scale=1.0),
               Column("KID (FER-CNN features)", "dcgan/kid_fer", scale=1.0)]
    if with_inception:
        columns += [Column("IS", "dcgan/is", scale=1.0), Column("FID (Inception)", "dcgan/fid_inception", scale=1.0)]
    columns += [Column("SSIM of sample pairs", "dcgan/ssim_samples", rate=False),
                Column("SSIM of real pairs", "dcgan/ssim_real", rate=False)]
    table = metric_table(
        dcgan, name="dcgan_svm_quality",
        title="DCGAN sample quality at the last epoch (their Table VII): FID and KID on the baseline CNN's "
              "features, mean SSIM of random sample pairs beside real pairs (×100)", group_by=["pretrain"],
        columns=columns)
    paper = {r.metric: r.value for r in references.select(paper="alharbawee", source="Table VII")}
    theirs = {"pretrain": "Alharbawee & Pugeault, Table VII (RaFD: another dataset)",
              "FID (FER-CNN features)": "—", "KID (FER-CNN features)": "—",
              "IS": f"{paper['is']:g}", "FID (Inception)": f"{paper['fid']:g}",
              "SSIM of sample pairs": f"(generated vs real: {paper['ssim']:g})", "SSIM of real pairs": "—"}
    if not with_inception:
        theirs["FID (FER-CNN features)"] = f"(Inception FID {paper['fid']:g}; IS {paper['is']:g})"
        theirs = {k: v for k, v in theirs.items() if k not in ("IS", "FID (Inception)")}
    table.cells = pd.concat([table.cells, pd.DataFrame([theirs])], ignore_index=True).fillna("")
    table.footnotes[:0] = [
        ("IS and the Inception FID: from the local Inception weights given (`inception_weights`)." if with_inception
         else "IS: not measured — it needs Inception weights, which cannot be downloaded here (give a local file as "
              "`inception_weights`)."),
        "FID (FER-CNN) is on our FER classifier's features, not Inception's, so it is not comparable with published "
        "FIDs; their SSIM compares generated with real images, ours measures the samples' diversity. Their row "
        "is shown for scale only.",
        "A DCGAN whose sample pairs are far more alike than real pairs (SSIM of sample pairs ≫ real pairs) is "
        "collapsing onto few modes."]
    return table


def paper_table() -> Table:
    rows = {}
    for r in references.select(paper="alharbawee"):
        if r.source == "Table VII":
            continue
        row = rows.setdefault(r.row, {"experiment": r.row, "accuracy": "", "mean AUC (×100)": ""})
        row["accuracy" if r.metric == "acc" else "mean AUC (×100)"] = f"{r.value:.2f} ({r.source})"
    return Table(name="dcgan_svm_paper", title="Alharbawee & Pugeault's emotion experiments, for scale: none uses our "
                                              "datasets", context="", cells=pd.DataFrame(list(rows.values())),
                 footnotes=[references.PAPERS["alharbawee"].citation])


@register_layout("dcgan_svm", "Alharbawee & Pugeault: DCGAN / pixel / CNN features into a tuned SVM, the "
                             "cross-dataset matrix, and the DCGAN's sample quality")
def dcgan_svm_tables(runs: pd.DataFrame) -> list[Table]:
    if FEATURES not in runs:
        raise ReportError("dcgan_svm runs need the param 'features'")
    tables = [svm_table(runs)]
    if "dcgan/fid_fer" in runs and (runs[FEATURES].astype(str) == "dcgan").any():
        tables.append(quality_table(runs))
    return tables + [paper_table()]

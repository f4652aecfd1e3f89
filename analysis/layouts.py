"""Which tables a study gets: a registry of report layouts by study name.

A layout is a function ``runs -> list[Table]`` registered under the study's name.
It is called once per (dataset, scale, procedural) setting found in the runs, so a
cell never averages FER2013 with CK+ or a smoke run with a paper-scale one. Most
layouts are one ``metric_table`` call: which run columns make the rows, which
metrics make the columns, which paper records sit beside which row, and optionally
which arm is paired against its control. Adding a study is a few lines::

    @register_layout("synthetic_ratio", "accuracy by ratio of synthetic images")
    def synthetic_ratio(runs):
        return [metric_table(runs, name="synthetic_ratio", title="...",
                             group_by=["param.ratio"], columns=overall_columns())]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from analysis import ReportError, references
from analysis.cells import (Column, Paired, class_columns, metric_table,  # noqa: F401
                           overall_columns)
from analysis.dcgan_tables import dcgan_svm_tables
from analysis.ratio_tables import synthetic_ratio_tables
from analysis.tables import Table, describe_runs
from analysis.verdicts import Gate

SETTING = ["dataset", "scale", "procedural"]


@dataclass(frozen=True)
class Layout:
    study: str
    description: str
    build: Callable[[pd.DataFrame], list[Table]]


LAYOUTS: dict[str, Layout] = {}


def register_layout(study: str, description: str):
    """Decorator: register ``fn(runs) -> list[Table]`` as the layout of ``study``."""
    def wrap(fn: Callable[[pd.DataFrame], list[Table]]):
        if study in LAYOUTS:
            raise ValueError(f"layout {study!r} registered twice")
        LAYOUTS[study] = Layout(study, description, fn)
        return fn
    return wrap


def list_layouts() -> list[str]:
    return sorted(LAYOUTS)


def get_layout(study: str) -> Layout:
    try:
        return LAYOUTS[study]
    except KeyError:
        raise ReportError(f"no report layout for study {study!r}; known studies: "
                          f"{', '.join(list_layouts())}") from None


def build_tables(study: str, runs: pd.DataFrame) -> list[Table]:
    """The study's tables from runs of any status (only FINISHED ones count; the
    others are counted in the context line). One set of tables per setting; table
    names get a ``-<dataset>-<scale>`` suffix only when there are several settings."""
    layout = get_layout(study)
    finished = runs[runs["status"] == "FINISHED"]
    if finished.empty:
        counts = runs["status"].value_counts().to_dict()
        raise ReportError(f"no FINISHED trial runs for study {study!r} under the chosen "
                          f"parent(s); trial runs by status: {counts or 'none'}")
    keyed = runs.assign(**{c: runs[c].astype(str) for c in SETTING})
    settings = keyed.loc[finished.index, SETTING].drop_duplicates().values.tolist()
    tables = []
    for setting in settings:
        mask = (keyed[SETTING] == setting).all(axis=1)
        sub_all, sub = runs[mask], finished[mask.loc[finished.index]]
        for table in layout.build(sub):
            if len(settings) > 1:
                table.name = f"{table.name}-{setting[0]}-{setting[1]}"
            table.context = describe_runs(sub, excluded=len(sub_all) - len(sub))
            tables.append(table)
    return tables


# --- study layouts ---------------------------------------------------------------------

@register_layout("baseline", "test accuracy, macro-F1 and per-class accuracy by net, "
                             "beside Birenbaum's simple classifier")
def baseline(runs: pd.DataFrame) -> list[Table]:
    refs = {("simple",): references.select(paper="birenbaum", row="baseline")}
    return [metric_table(
        runs, name="baseline",
        title="Baseline: test accuracy at the best-validation epoch, by net (%)",
        group_by=["param.net"], columns=overall_columns() + class_columns(runs),
        references=refs)]


@register_layout("classical_augmentation", "none vs classical augmentation by net, with "
                                           "the paired difference classical − none")
def classical_augmentation(runs: pd.DataFrame) -> list[Table]:
    return [metric_table(
        runs, name="classical_augmentation",
        title="Classical augmentation: test accuracy at the best-validation epoch (%)",
        group_by=["param.net", "param.augment"], columns=overall_columns(),
        paired=Paired(arm="param.augment", control="none"))]


TOY_REAL = "linear SVM, real only"
TOY_OVERSAMPLE = "+ repeated minority points"
TOY_COLUMNS = (Column("overall acc", "test/acc", "acc"), Column("minority acc", "test/acc_minor"))


@register_layout("cyclegan_toy", "Zhu et al. §4.1 toy: linear SVM accuracy, overall and on the "
                                 "minority class, real only vs + CycleGAN points vs oversampling")
def cyclegan_toy(runs: pd.DataFrame) -> list[Table]:
    # One run holds all three arms: a row per arm, paired on the run's seed.
    n_generated = runs.get("param.n_generated", "900")  # the trainable's default
    arms = [runs.rename(columns={f"test/acc_{arm}": "test/acc", f"test/acc_minor_{arm}": "test/acc_minor"})
            .assign(**{"training set": label}) for arm, label in
            (("real_only", TOY_REAL), ("augmented", "+ " + n_generated + " CycleGAN points"),
             ("oversample", TOY_OVERSAMPLE))]
    # The launch tags synthfaces, but the toy draws the paper's own Gaussians.
    long = pd.concat(arms, ignore_index=True).assign(procedural=False)
    refs = {(TOY_REAL,): references.select(paper="zhu2017", row="imbalanced (1000/1000/100 points)"),
            ("+ 900 CycleGAN points",): references.select(
                paper="zhu2017", row="+ 900 CycleGAN-generated minority points")}
    table = metric_table(
        long, name="cyclegan_toy",
        title="CycleGAN toy (Zhu et al. §4.1): linear SVM test accuracy on three 2-D Gaussians (%)",
        group_by=["training set"], columns=TOY_COLUMNS, references=refs,
        paired=Paired(arm="training set", control=TOY_REAL))
    table.footnotes.append("Data: the paper's three 2-D Gaussians (1000/1000/100 training, 100 test "
                           "points per class) drawn by the trainable from the seed; the launch's "
                           "dataset tag is unused, so a procedural-data warning in the line above "
                           "does not apply. The generator is chosen on a separate validation draw.")
    # A GAN earns its cost only by beating duplication of the real minority points.
    cheap = metric_table(
        long[long["training set"] != TOY_REAL], name="cyclegan_toy_vs_oversample",
        title="CycleGAN toy: CycleGAN points against oversampling (the cheap alternative), "
              "linear SVM test accuracy (%)",
        group_by=["training set"], columns=TOY_COLUMNS,
        paired=Paired(arm="training set", control=TOY_OVERSAMPLE))
    cheap.footnotes.append(f"'{TOY_OVERSAMPLE}': the real training set plus its minority points, each "
                           "repeated equally, up to as many extra points as the CycleGAN adds; no GAN, "
                           "same run, same test draw.")
    return [table, cheap]


def _require(runs: pd.DataFrame, columns: list[str], study: str) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ReportError(f"the {study} tables need run column(s) {missing}, which these runs lack: "
                          f"are they runs of a {study} launch?")


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
    return cols


@register_layout("cyclegan_augmentation", "Zhu et al. Tables 1-2: arms baseline / +class / +all / DAG, "
                                          "one-vs-rest and 7-way accuracy, paired on seed")
def cyclegan_augmentation(runs: pd.DataFrame) -> list[Table]:
    _require(runs, ["param.arm"], "cyclegan_augmentation")
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
        paired=Paired(arm="source", control="real, oversampled"))]


def _source_tables(runs: pd.DataFrame) -> list[Table]:
    paired = Paired(arm="param.arm", control="baseline")
    group_by, nets = _arm_rows(runs)
    ovr = metric_table(
        runs, name="cyclegan_augmentation_table1",
        title="CycleGAN augmentation (Zhu et al. Table 1): one-vs-rest accuracy per class and 7-way overall "
              "accuracy at the best-validation epoch, by arm (%)",
        group_by=group_by, columns=[Column("overall acc", "test/acc_at_best_val", "acc")]
        + class_columns(runs, one_vs_rest=True),
        references=_zhu_rows("Table 1", {"baseline": "baseline", "+disgust": "+disgust", "+sad": "+sad"}, nets),
        paired=paired)
    ovr.footnotes.append("Zhu et al.'s 'All' column is entered as overall accuracy; at 91-95 % it is most "
                         "likely a mean of one-vs-rest accuracies (papers/README.md), so compare it with "
                         "our one-vs-rest columns, not our 7-way accuracy.")
    seven_way = metric_table(
        runs, name="cyclegan_augmentation_7way",
        title="CycleGAN augmentation: 7-way accuracy per class (recall) at the best-validation epoch, by arm (%)",
        group_by=group_by, columns=overall_columns() + class_columns(runs), paired=paired,
        claims=references.claims(paper="zhu2017"), gates=CYCLEGAN_GATES)
    dag = runs[runs["param.arm"].astype(str).isin(["baseline", "dag"])]
    tables = [ovr, seven_way] + _against_oversampling(runs, group_by[:-1])
    if (dag["param.arm"].astype(str) == "dag").any():
        tables.append(metric_table(
            dag, name="cyclegan_augmentation_table2",
            title="DAG (Zhu et al. Table 2, FER2013 row): pre-train on generated images, fine-tune on real (%)",
            group_by=group_by, columns=[Column("overall acc", "test/acc_at_best_val", "acc")],
            references=_zhu_rows("Table 2", {"baseline": "baseline", "dag": "DAG: pre-train+fine-tune"}, nets),
            paired=paired))
    synthetic = runs[runs["param.arm"].astype(str) != "baseline"]
    if not synthetic.empty and _synthetic_columns(synthetic):
        tables.append(metric_table(
            synthetic, name="cyclegan_augmentation_samples",
            title="Generated images (validation reference images translated): FID on the real-data judge's "
                  "features, and the share the judge assigns to the intended class (%; FID raw)",
            group_by=group_by, columns=_synthetic_columns(synthetic)))
    return tables


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
    _require(runs, axes, "cycle_gamma")
    if "param.arm" not in runs:  # launches from before the baseline arm: all GAN arms
        runs = runs.assign(**{"param.arm": "+disgust"})
    runs = _gamma_rows(runs)
    axes = ["param.arm"] + axes
    if "param.net" in runs and runs["param.net"].nunique() > 1:
        axes = ["param.net"] + axes
    # The baseline arm runs once per seed and fold (StudySpec.shared_control): every
    # cycle-loss row is paired with it.
    paired = Paired(arm="param.arm", control="baseline", shared_control=True)
    target = "disgust"
    columns = [Column("overall acc", "test/acc_at_best_val", "acc"),
               Column(f"{target} acc", f"test/acc_{target}_at_best_val", f"acc_{target}"),
               Column(f"FID (FER-classifier features), {target}", f"synth/{target}/fid_fer", scale=1.0),
               Column(f"KID ×10³ (FER-classifier features), {target}", f"synth/{target}/kid_fer", scale=1000.0),
               Column("cycle SSIM", f"synth/{target}/ssim_cycle", rate=False),
               Column(f"judged {target}", f"synth/{target}/agreement")]
    ablation = metric_table(
        runs, name="cycle_gamma_ablation",
        title="Weighted cycle loss ablation (neutral → disgust): downstream test accuracy at the "
              "best-validation epoch (%), FID (raw), KID (×10³; cycle_gamma_search's metric) and cycle SSIM "
              "(×100), each setting paired with the baseline arm (same recipe and step budget, no synthetic "
              "images)",
        group_by=axes, columns=columns, paired=paired, claims=references.claims(paper="birenbaum"),
        gates=CYCLEGAN_GATES)
    per_class = metric_table(
        runs, name="cycle_gamma_per_class",
        title="Baseline + synthetic data (Birenbaum's slide 'Simple Classifier - Results'): per-class "
              "accuracy by cycle-loss setting (%)",
        group_by=axes, columns=overall_columns() + class_columns(runs), paired=paired,
        references={key: references.select(
                        paper="birenbaum", row="baseline" if key[axes.index("param.arm")] == "baseline"
                        else "baseline + synthetic data")
                    for key in runs[axes].astype(str).drop_duplicates().itertuples(index=False, name=None)})
    per_class.footnotes.append("Birenbaum's slide gives one 'baseline + synthetic data' result, without saying "
                               "which cycle-loss setting made it; it is shown beside every synthetic row, and "
                               "his baseline beside our baseline arm.")
    return [ablation, per_class]


register_layout("cycle_gamma_search", "the cycle_gamma tables for the Optuna + ASHA search's finished "
                                      "trials")(cycle_gamma)


# --- FESR -------------------------------------------------------------------------------

def _fesr_refs(runs: pd.DataFrame, group_by: list[str], database: str = "CK+") -> dict[tuple, list]:
    """Their Fig. 8 number for the variant of each row (CK+ column)."""
    out = {}
    for key in runs[group_by].astype(str).drop_duplicates().itertuples(index=False, name=None):
        variant = key[group_by.index("param.variant")]
        out[key] = references.select(paper="fesr", source="Fig. 8", row=variant, dataset=database)
    return out


_FESR_DATA_NOTE = ("FESR's CK+ numbers are on 128×128 Dlib-aligned faces with a frozen Light CNN-29 trunk; "
                   "ours on the dataset and size in the line above, with R's first layers trained from scratch "
                   "(Light CNN cannot be downloaded here).")


# The synthesis gate of a FESR variant whose R learns from synthesised faces: the share the
# real-data judge calls the intended expression (trainables.trials.fesr logs it).
FESR_GATES = {v: Gate("synth/agreement", "synth/real_recall", "synth/chance")
              for v in ("FESR_OneSt", "FESR_SL", "FESR_JL-IL", "FESR_JL-RDBP", "FESR_JL", "FESR_Real")}
# A CycleGAN arm's gate: its targets' judged share against the judge's recall on real images.
CYCLEGAN_GATES = {"+disgust": Gate("synth/disgust/agreement", "synth/disgust/real_target_agreement"),
                  "+sad": Gate("synth/sad/agreement", "synth/sad/real_target_agreement"),
                  "+all": Gate("synth/*/agreement", "synth/*/real_target_agreement"),
                  "dag": Gate("synth/*/agreement", "synth/*/real_target_agreement")}


@register_layout("fesr_ablation", "FESR Fig. 8 / Table V: the seven variants, paired against BASELINE and "
                                  "against FESR_JL over folds and seeds")
def fesr_ablation(runs: pd.DataFrame) -> list[Table]:
    _require(runs, ["param.variant"], "fesr_ablation")
    group_by = ["param.variant"]
    main = metric_table(
        runs, name="fesr_ablation",
        title="FESR ablation (their Fig. 8): test accuracy at the best-validation iteration, by variant, "
              "paired with BASELINE over folds and seeds (%)",
        group_by=group_by, columns=overall_columns(),
        references=_fesr_refs(runs, group_by), paired=Paired(arm="param.variant", control="BASELINE"),
        claims=references.claims(paper="fesr"), gates=FESR_GATES)
    main.footnotes.append(_FESR_DATA_NOTE)
    per_class = metric_table(
        runs, name="fesr_ablation_per_class",
        title="FESR ablation: per-class test accuracy (recall) at the best-validation iteration, by variant (%)",
        group_by=group_by, columns=class_columns(runs))
    tables = [main, per_class]
    if (runs["param.variant"].astype(str) == "FESR_JL").any():
        vs_jl = metric_table(
            runs, name="fesr_ablation_vs_jl",
            title="FESR ablation: every variant against the full method FESR_JL, paired over folds and seeds (%)",
            group_by=group_by, columns=overall_columns(),
            paired=Paired(arm="param.variant", control="FESR_JL"), claims=references.claims(paper="fesr"),
            gates=FESR_GATES)
        tables.append(vs_jl)
    return tables


@register_layout("fesgan_ablation", "FESR Tables III-IV: synthesis quality of FG and its variants")
def fesgan_ablation(runs: pd.DataFrame) -> list[Table]:
    _require(runs, ["param.variant"], "fesgan_ablation")
    group_by = ["param.variant"]
    refs = {}
    for key in runs[group_by].astype(str).drop_duplicates().itertuples(index=False, name=None):
        refs[key] = [r for r in references.select(paper="fesr", dataset="CK+", row=key[0])
                     if r.source in ("Table III", "Table IV")]
    table = metric_table(
        runs, name="fesgan_ablation",
        title="FESGAN variants (their Fig. 4, Tables III-IV): synthesis quality on the held-out fold "
              "(PSNR in dB, FID raw; SSIM, agreement and verification rate ×100)",
        group_by=group_by,
        columns=[Column("PSNR (same subject, target expression)", "synthesis/psnr", "psnr", scale=1.0),
                 Column("SSIM", "synthesis/ssim", "ssim", rate=False),
                 Column("FID (FER-classifier features)", "synthesis/fid_fer", scale=1.0),
                 Column("judged as intended expression", "synthesis/agreement"),
                 Column("identity verification rate", "synthesis/verification_rate", "verification_rate")],
        references=refs)
    table.footnotes.append(
        "PSNR/SSIM: each held-out image decoded with the expression of another held-out image of the same "
        "subject (full intensity) against that real image, as their Table III. Verification: each held-out "
        "image paired with a face decoded from its own code and one from another subject's code, per "
        "expression; accuracy at the best cosine threshold on our identity extractor (trained on the training "
        "subjects; theirs is Light CNN-29). FID and agreement: faces from the prior z with the training labels' "
        "expressions against the real training images, on the real-data judge's features. " + _FESR_DATA_NOTE)
    return [table]


def lambda_importances(runs: pd.DataFrame, value: str) -> pd.Series:
    """Optuna's parameter importances (fANOVA) of λ1..λ6 for `value`, from the runs:
    the study is rebuilt from MLflow, so the report needs no Optuna storage."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    values = {k: runs[f"param.{k}"].astype(float) for k in references.FESR_LAMBDAS}
    # The range the runs span (whatever space the launch searched); a λ that never varied has no importance.
    dists = {k: optuna.distributions.FloatDistribution(v.min(), v.max(), log=True)
             for k, v in values.items() if v.max() > v.min()}
    for i, (_, run) in enumerate(runs.iterrows()):
        params = {k: float(values[k].iloc[i]) for k in dists}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=float(run[value])))
    return pd.Series(optuna.importance.get_param_importances(study, normalize=True))


@register_layout("loss_weights", "FESR λ1..λ6 searched by Optuna + ASHA: the best λ beside the paper's, and "
                                 "each λ's importance")
def loss_weights(runs: pd.DataFrame) -> list[Table]:
    lambdas = list(references.FESR_LAMBDAS)
    _require(runs, [f"param.{k}" for k in lambdas] + ["val/acc_best"], "loss_weights")
    runs = runs.dropna(subset=["val/acc_best"]).sort_values("val/acc_best", ascending=False)
    shown = runs.head(5)
    rows = [{"trial": "paper (Section IV-B)", **{k: f"{v:g}" for k, v in references.FESR_LAMBDAS.items()},
             "val acc (best)": "", "test acc at best val": "", "reports": ""}]
    for rank, (_, run) in enumerate(shown.iterrows(), 1):
        test = run.get("test/acc_at_best_val")
        rows.append({"trial": f"#{rank} ({run['run_id'][:8]})",
                     **{k: f"{float(run[f'param.{k}']):.3g}" for k in lambdas},
                     "val acc (best)": f"{100 * run['val/acc_best']:.2f}",
                     "test acc at best val": "—" if pd.isna(test) else f"{100 * test:.2f}",
                     "reports": str(int(run["iteration"])) if "iteration" in run and not pd.isna(run["iteration"])
                     else "?"})
    best = Table(name="loss_weights_best", title="FESR loss weights: the paper's λ and the best trials of the "
                 "Optuna (TPE) + ASHA search, by best validation accuracy (%)", context="",
                 cells=pd.DataFrame(rows),
                 footnotes=[f"{len(runs)} finished trials ranked by validation accuracy (inner subject split of the "
                            "training folds); ASHA-stopped trials keep the value they reached. Test accuracy is "
                            "shown, never used by the search.",
                            "'reports' is the iteration the trial reached (ASHA stops laggards early)."])
    tables = [best]
    if len(runs) >= 2 and runs["val/acc_best"].nunique() > 1:
        importance = lambda_importances(runs, "val/acc_best")
        tables.append(Table(
            name="loss_weights_importance",
            title="FESR loss weights: importance of each λ for validation accuracy (Optuna fANOVA, sums to 1)",
            context="", cells=pd.DataFrame({"λ": importance.index, "importance": [f"{v:.3f}" for v in importance]}),
            footnotes=[f"From {len(runs)} finished trials; with few trials the importances are rough."]))
    else:
        best.footnotes.append("Importances need ≥ 2 finished trials with different validation accuracies.")
    return tables


register_layout("synthetic_ratio", "Picha et al. Table 2 / Fig. 8: accuracy by synthetic ratio on held-out and blind "
                                   "cross-database faces, the best k, its per-class P/R/F1 and confusion "
                                   "matrix")(synthetic_ratio_tables)

register_layout("dcgan_svm", "Alharbawee & Pugeault: DCGAN / pixel / CNN features into a tuned SVM, the "
                             "cross-dataset matrix, and the DCGAN's sample quality")(dcgan_svm_tables)

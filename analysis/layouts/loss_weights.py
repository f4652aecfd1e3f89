"""The loss_weights study's tables: FESR's λ1..λ6 searched by Optuna + ASHA, the best trials
beside the paper's λ, and each λ's importance."""

from __future__ import annotations

import pandas as pd

from analysis import references
from analysis.layouts.registry import register_layout
from analysis.layouts.shared import require_columns
from analysis.tables import Table


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
    require_columns(runs, [f"param.{k}" for k in lambdas] + ["val/acc_best"], "loss_weights")
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

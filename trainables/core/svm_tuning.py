"""An SVM on fixed features, its C and γ tuned by Optuna (TPE, the Bayesian optimisation
of Alharbawee & Pugeault) on cross-validation folds of the training side only, then fitted
on the whole training side and evaluated once on the held-out side.

Features are standardised inside the pipeline, so each fold's scaler sees only that
fold's training rows. γ is searched as a multiple of scikit-learn's `"scale"` value
1 / (n_features · Var(X)), which keeps one search range right for features of any size."""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from trainables.core.metrics import classification_metrics, confusion_matrix
from trainables.core.roc import ovr_auc


@dataclass(frozen=True)
class SVMSearch:
    n_trials: int = 30
    inner_folds: int = 10
    kernel: str = "rbf"  # the paper's choice for emotions ("linear" for action units)
    c_range: tuple[float, float] = (1e-2, 1e3)
    gamma_scale_range: tuple[float, float] = (1e-3, 1e2)
    seed: int = 0


def cv_folds(labels: np.ndarray, groups: np.ndarray | None, n_folds: int, seed: int) -> list[tuple]:
    """(train, validation) index pairs: stratified, and subject-grouped where `groups`
    (subject ids) are given; fewer folds where the data cannot fill `n_folds`."""
    labels = np.asarray(labels)
    if groups is not None:
        n = min(n_folds, len(np.unique(groups)))
        splitter = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
    else:
        n = min(n_folds, int(np.bincount(labels).max()))
        splitter = StratifiedKFold(n_splits=n, shuffle=True, random_state=seed)
    if n < 2:
        raise ValueError(f"cannot make 2 cross-validation folds of {len(labels)} rows")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class")
        return list(splitter.split(np.zeros(len(labels)), labels, groups))


def make_svm(kernel: str, c: float, gamma_scale: float, n_features: int):
    gamma = gamma_scale / n_features  # "scale" on standardised features (variance 1)
    return make_pipeline(StandardScaler(), SVC(kernel=kernel, C=c, gamma=gamma, decision_function_shape="ovr"))


def tune_svm(features: np.ndarray, labels: np.ndarray, groups: np.ndarray | None,
             search: SVMSearch) -> tuple[dict, dict]:
    """(best parameters, summary): Optuna TPE seeded with `search.seed`, each trial's value
    the mean validation accuracy over the folds. Only the training side is given."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = cv_folds(labels, groups, search.inner_folds, search.seed)

    def objective(trial) -> float:
        c = trial.suggest_float("C", *search.c_range, log=True)
        g = trial.suggest_float("gamma_scale", *search.gamma_scale_range, log=True)
        accs = []
        for train, val in folds:
            svm = make_svm(search.kernel, c, g, features.shape[1]).fit(features[train], labels[train])
            accs.append(float((svm.predict(features[val]) == labels[val]).mean()))
        return float(np.mean(accs))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=search.seed))
    study.optimize(objective, n_trials=search.n_trials)
    summary = {"svm/cv_acc_best": study.best_value, "svm/cv_folds": len(folds), "svm/trials": len(study.trials),
               "svm/C": study.best_params["C"], "svm/gamma_scale": study.best_params["gamma_scale"]}
    return study.best_params, summary


def fit_and_test(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], params: dict,
                 kernel: str, class_names: list[str]) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fit on the whole training side, evaluate once on the test side: `test/...`
    metrics (accuracy, macro-F1, per-class, one-vs-rest AUC), the decision scores and
    the confusion matrix."""
    svm = make_svm(kernel, params["C"], params["gamma_scale"], train[0].shape[1]).fit(*train)
    scores = svm.decision_function(test[0])
    if scores.ndim == 1:  # two classes: one column of scores for the second
        scores = np.stack([-scores, scores], axis=1)
    # SVC's scores are over the classes it saw; place them in the full class order
    full = np.full((len(test[1]), len(class_names)), -np.inf)
    full[:, svm.classes_] = scores
    preds = full.argmax(1)
    found = {**classification_metrics(test[1], preds, class_names), **ovr_auc(test[1], full, class_names)}
    return {f"test/{k}": v for k, v in found.items()}, full, confusion_matrix(test[1], preds, len(class_names))

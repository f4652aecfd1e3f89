"""FESR's loss weights λ1..λ6 searched by Optuna (TPE), log-uniform over a decade either
side of the paper's values (1, 10, 5, 1, 1, 0.001), with ASHA stopping trials whose
validation accuracy lags. Validation is carved by subject from the training folds; the
test fold is never seen by the search (its accuracy is still reported per trial).

The report gives the best λ beside the paper's and each λ's importance (Optuna's fANOVA
importances, recomputed from the MLflow runs).

Scales: `smoke` (synthfaces, 1/8-width, 8 trials: plumbing only); `cpu` (CK+48, fold 0,
1/4-width, 30 trials); `paper` (128×128, 100 trials).
"""

import math

from ray import tune

from search_spaces.fesr_ablation import FESR_IMAGE_SIZE, lr_set_by_hand
from study.spec import Scale, StudySpec
from study.recipes import FESR
from trainables.configs.fesr import LAMBDA_KEYS as LAMBDAS, FESROptions

DEFAULTS = FESROptions()  # where FESR's defaults are declared, λ1..λ6 among them


def reports_per_trial(config: dict) -> int:
    every = int(config.get("report_every", DEFAULTS.report_every))
    return math.ceil(int(config.get("pretrain_iters", DEFAULTS.pretrain_iters)) / every) + math.ceil(
        int(config.get("joint_iters", DEFAULTS.joint_iters)) / every)


STUDY = StudySpec(
    name="loss_weights",
    description="FESR λ1..λ6 by Optuna (TPE) + ASHA on validation accuracy, vs the paper's λ",
    trainable="fesr",
    base_config={"variant": "FESR_JL", "image_size": 48, "batch_size": 16, "lr": 1e-4, "identity": "auto",
                 "protocol": "auto"},
    grid={"seed": [0]},
    variant_keys=LAMBDAS,
    scales={
        "smoke": Scale(config={"gan_width": 0.125, "r_width": 0.125, "pretrain_iters": 100, "joint_iters": 200,
                               "report_every": 50, "identity_epochs": 3, "lr": 3e-4},
                       synthfaces={"n_images": 700, "n_subjects": 24}, folds=1, n_folds=4,
                       deviations={"lr": lr_set_by_hand("1/8-width FESGAN and R", "100 + 200 iterations"),
                                   "image_size": FESR_IMAGE_SIZE}),
        "cpu": Scale(config={"gan_width": 0.125, "r_width": 0.25, "pretrain_iters": 300, "joint_iters": 400,
                             "report_every": 100, "identity_epochs": 15, "lr": 3e-4},
                     folds=1, n_folds=10,
                     deviations={"lr": lr_set_by_hand("a 1/8-width FESGAN and a 1/4-width R", "300 + 400 iterations"),
                                   "image_size": FESR_IMAGE_SIZE}),
        "paper": Scale(config={"image_size": 128, "gan_width": 1.0, "r_width": 1.0, "pretrain_iters": 20000,
                               "joint_iters": 20000, "report_every": 1000, "identity_epochs": 30},
                       folds=1, n_folds=10, cpus=4, gpus=0.25),
    },
    metric="val/acc",
    mode="max",
    search="optuna",
    optuna_space={key: tune.loguniform(value / 10, value * 10) for key, value in zip(LAMBDAS, DEFAULTS.lambdas)},
    early_stopping=True,
    reports_per_trial=reports_per_trial,
    recipes=(FESR,),
    tables=("loss_weights",),
)

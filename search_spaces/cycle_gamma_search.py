"""The `cycle_gamma` space searched by Optuna (TPE) instead of swept, with ASHA stopping
trials whose validation FID (on the real-data judge's features, reported after every
GAN epoch) lags. The metric is the FID, so the search optimises the generator; the
downstream accuracy of each finished trial is still measured and tabulated."""

from ray import tune

from search_spaces.cycle_gamma import BASE, GRID, SCALES
from study.spec import StudySpec

STUDY = StudySpec(
    name="cycle_gamma_search",
    description="Optuna + ASHA over the cycle_gamma space, on validation FID (FER-classifier features)",
    trainable="cyclegan",
    base_config={**BASE, "arm": "+disgust"},
    grid={"seed": [0]},
    variant_keys=("cycle_loss", "gamma_max", "gamma_schedule", "adv_loss", "soft_labels"),
    scales=SCALES,
    metric="val/fid_fer",
    mode="min",
    search="optuna",
    optuna_space={key: tune.choice(values) for key, values in GRID.items() if key not in ("seed", "arm")},
    early_stopping=True,
    budget_keys=("gan_epochs", "epochs"),
    tables=("cycle_gamma_search",),
)

"""Classical augmentation: no augmentation vs the classical label-preserving arm (flip,
small affine, brightness/contrast), for each classifier × seeds (× folds).

The control every GAN-augmentation study is measured against: a GAN arm has to beat
this arm, not only the unaugmented one. The report pairs classical − none by seed/fold.
"""

from study.spec import Scale, StudySpec
from study.recipes import CLASSIFIER_RECIPES

# Zhu et al.'s recipe is for zhu_cnn only; one recipe trains the three nets (study/recipes.py)
_ONE_RECIPE = ("the augmentation control trains the three nets on one recipe (Adam 1e-3, one-cycle, batch 64, β1 0.9), "
               "the one baseline uses: Zhu et al.'s own recipe for zhu_cnn (batch 32, a constant 1e-3, Adam β1 = 0.5, "
               "Appendix A) is followed by cyclegan_augmentation's paper scale; Birenbaum and Picha et al. state none "
               "for theirs")

STUDY = StudySpec(
    name="classical_augmentation",
    description="no augmentation vs classical augmentation, per classifier × seeds (× folds)",
    trainable="classifier",
    base_config={"optimizer": "adam", "lr": 1e-3, "schedule": "onecycle", "batch_size": 64},
    grid={"augment": ["none", "classical"], "net": ["simple", "zhu_cnn", "picha_cnn"], "seed": [0, 1, 2, 3, 4]},
    variant_keys=("augment", "net"),
    scales={
        "smoke": Scale(config={"epochs": 15, "steps": 210, "width": 0.25},
                       synthfaces={"n_images": 1200},
                       grid={"net": ["zhu_cnn"], "seed": [0]}, folds=1, n_folds=5),
        "cpu": Scale(config={"epochs": 10, "steps": 4000, "width": 0.5}, grid={"net": ["zhu_cnn"], "seed": [0, 1, 2]},
                     folds=3, cpus=1),
        "paper": Scale(config={"epochs": 60, "steps": 20000, "width": 1.0}, folds=10, cpus=4, gpus=1,
                       deviations={"batch_size": _ONE_RECIPE, "schedule": _ONE_RECIPE, "beta1": _ONE_RECIPE,
                                   "class_fraction": (
                                       "the whole training split, not Zhu et al.'s 20 % per class (§4.2): the control "
                                       "is measured on the dataset as given; Zhu et al.'s 20 % sample is "
                                       "cyclegan_augmentation's")}),
    },
    recipes=CLASSIFIER_RECIPES,
    tables=("classical_augmentation",),
)

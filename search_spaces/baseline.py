"""Baseline: the papers' three classifiers on one dataset × seeds (× folds where the
dataset has no official split, e.g. CK+'s subject-independent 10-fold CV).

Regenerates the reference cells of Birenbaum's slides ("Simple Classifier - Results":
65.09 % on the 3,589 FER2013 test images, per class) beside ours.

Scales (a step budget, validated in report rounds, "epochs"): `smoke` trains all three nets at
1/4 width for 210 optimizer steps in 15 rounds on 1,200 synthfaces images; `cpu` trains only
the simple classifier, at 3/8 of its width (1.2 M parameters), for 8,000 steps in 20 rounds —
what a 2-core laptop does in under an hour on FER2013 (52 min, docs/results.md) — with the
nets' own dropout and a plain prediction, as every scale; on a small dataset the 8,000 steps
are capped at 400 passes over the fold's real training images (`max_passes`: JAFFE's ~170
training images get ~1,060 steps, where 8,000 would be ~3,000 passes); `paper` trains all
three at full width for 20,000 steps in 60 rounds over 5 seeds.

Train on one dataset, test on another (Zhu et al.'s Table 2, "FER+JAFFE", "FER+SFEW"):
with `--cross-dataset NAME --cross-root DIR` every trial also tests on that dataset's
held-out images of the classes both share, blind (`blind/...`) and after fine-tuning on its
training split for `cross_steps` steps, the epoch chosen on its validation split
(`finetuned/test/...`; Zhu et al. fine-tune 10k steps). Its split: the official one, else
subject-independent 5-fold (20 % test, their JAFFE protocol; `--set cross_fold=...`).
"""

from study.spec import Scale, StudySpec
from study.recipes import CLASSIFIER_RECIPES

# Zhu et al.'s recipe is for zhu_cnn only; one recipe trains the three nets (study/recipes.py)
_ONE_RECIPE = ("baseline trains its three nets on one recipe (Adam 1e-3, one-cycle, batch 64, β1 0.9) so they stand "
               "beside each other on equal terms: Zhu et al.'s own recipe for zhu_cnn (batch 32, a constant 1e-3, Adam "
               "β1 = 0.5, Appendix A) is followed by cyclegan_augmentation's paper scale; Birenbaum and Picha et al. "
               "state none for theirs")

STUDY = StudySpec(
    name="baseline",
    description="the three classifiers (Zhu, Picha, Birenbaum's simple) × seeds (× folds)",
    trainable="classifier",
    base_config={"augment": "classical", "optimizer": "adam", "lr": 1e-3, "schedule": "onecycle",
                 "batch_size": 64},
    grid={"net": ["simple", "zhu_cnn", "picha_cnn"], "seed": [0, 1, 2, 3, 4]},
    variant_keys=("net",),
    scales={
        "smoke": Scale(config={"epochs": 15, "steps": 210, "width": 0.25, "cross_steps": 60},
                       synthfaces={"n_images": 1200},
                       grid={"seed": [0]}, folds=1, n_folds=5),
        "cpu": Scale(config={"epochs": 20, "steps": 8000, "max_passes": 400, "width": 0.375, "cross_steps": 1000},
                     grid={"net": ["simple"], "seed": [0]}, folds=5, cpus=2),
        "paper": Scale(config={"epochs": 60, "steps": 20000, "width": 1.0, "cross_steps": 10000}, folds=10, cpus=4, gpus=1,
                       deviations={"batch_size": _ONE_RECIPE, "schedule": _ONE_RECIPE, "beta1": _ONE_RECIPE,
                                   "class_fraction": (
                                       "the whole training split, not Zhu et al.'s 20 % per class (§4.2): baseline "
                                       "sets the nets beside Birenbaum's 65.09 % on all of FER2013; Zhu et al.'s 20 % "
                                       "sample is cyclegan_augmentation's")}),
    },
    recipes=CLASSIFIER_RECIPES,
    tables=("baseline",),
)

"""CycleGAN toy: does a CycleGAN that translates a majority class into a 10× smaller
minority class fix a linear SVM's margins? Zhu et al. 2017, §4.1: three 2-D Gaussians with
1000 / 1000 / 100 training points, 93.3 % test accuracy on real data, 98.0 % with 900
generated minority points (trainables/trials/toy.py says what the paper leaves open). Each run
also scores the cheap alternative, the minority points repeated to the same count, and
the tables pair the GAN with it as well as with real only. No arm is chosen on
validation: the GAN arm is tested with its last generator, as the controls with their
only SVM.

The toy draws its own data from the seed; the launch's dataset (default synthfaces) is
loaded for the run's tags only. Scales differ only in the number of seeds and GAN steps.
"""

from study.spec import Scale, StudySpec
from study.recipes import ZHU

STUDY = StudySpec(
    name="cyclegan_toy",
    description="Zhu et al. §4.1 toy: linear SVM on three 2-D Gaussians, real vs + 900 CycleGAN points vs "
                "oversampling (the 100 minority points repeated to 900)",
    trainable="cyclegan_toy",
    base_config={"n_major": 1000, "n_minor": 100, "n_generated": 900, "adv_loss": "lsgan", "lambda_cyc": 10.0},
    grid={"seed": list(range(10))},
    variant_keys=(),
    metric="val/acc",  # the augmented SVM's, watched each report; no arm is chosen on it
    scales={
        "smoke": Scale(config={"gan_steps": 500}, grid={"seed": [0, 1]}),
        "cpu": Scale(config={"gan_steps": 1000}, grid={"seed": [0, 1, 2, 3, 4]}),
        "paper": Scale(config={"gan_steps": 2000}),
    },
    recipes=(ZHU,),
    tables=("cyclegan_toy",),
)

"""FESGAN ablation (FESR Section IV-C, Fig. 4, Tables III–IV): FG and its variants FG-CO
(no content learning), FG-IP (no identity loss), FG-Dimg (no image discriminator),
FG-Dimg_cls (no auxiliary classifier) and FG-Dz (no latent discriminator), each trained
alone (stage 1 only) on the training folds and scored on the held-out fold: PSNR and SSIM
against the real image of the same subject with the target expression (Table III), FID on
FER-classifier features, the judge's agreement with the intended expression, and the
identity verification rate with our identity extractor (Table IV). Sample grids, an
expression-intensity sweep (Fig. 6) and faces from the prior (Fig. 7) are logged per run.

Scales: `smoke` (synthfaces, 1/8-width, a few hundred iterations: plumbing only); `cpu`
(CK+48 at 48×48, 1/4 width, 3 of 10 subject folds); `paper` (128×128, full width).
"""

from search_spaces.fesr_ablation import FESR_IMAGE_SIZE, lr_set_by_hand
from study.spec import Scale, StudySpec
from study.recipes import FESR
from trainables.configs.fesr_variants import FESGAN_VARIANTS

STUDY = StudySpec(
    name="fesgan_ablation",
    description="FESR Fig. 4 / Tables III-IV: FG, FG-CO, FG-IP, FG-Dimg, FG-Dimg_cls, FG-Dz synthesis quality",
    trainable="fesr",
    base_config={"image_size": 48, "batch_size": 16, "lr": 1e-4, "identity": "auto", "protocol": "auto"},
    grid={"variant": list(FESGAN_VARIANTS), "seed": [0, 1, 2]},
    variant_keys=("variant",),
    scales={
        "smoke": Scale(config={"gan_width": 0.125, "pretrain_iters": 200, "report_every": 50, "identity_epochs": 3,
                               "lr": 3e-4},
                       synthfaces={"n_images": 700, "n_subjects": 24}, grid={"seed": [0]}, folds=1, n_folds=4,
                       deviations={"lr": lr_set_by_hand("a 1/8-width FESGAN", "200 iterations"),
                                   "image_size": FESR_IMAGE_SIZE}),
        "cpu": Scale(config={"gan_width": 0.25, "pretrain_iters": 1500, "report_every": 250, "identity_epochs": 15,
                             "lr": 3e-4},
                     grid={"seed": [0]}, folds=3, n_folds=10,
                     deviations={"lr": lr_set_by_hand("a 1/4-width FESGAN", "1,500 iterations"),
                                   "image_size": FESR_IMAGE_SIZE}),
        "paper": Scale(config={"image_size": 128, "gan_width": 1.0, "pretrain_iters": 20000, "report_every": 1000,
                               "identity_epochs": 30},
                       folds=10, n_folds=10, cpus=4, gpus=0.25),
    },
    recipes=(FESR,),
    tables=("fesgan_ablation",),
)

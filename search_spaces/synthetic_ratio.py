"""Synthetic-to-real ratio (Gholipour Picha et al. 2023): their CNN (Table 1) trained on
real faces only, on synthetic faces only (as many new identities as the real training
split has subjects, each in all six Ekman expressions), and on real + k× synthetic for
k ∈ {1, 2, 3, 4, 5, 6, 10, 15, 20}, × seeds; tested on the held-out real subjects and on
a blind cross-database set (`--cross-dataset`, `--cross-root`).

Two budget families (`budget`), each a full grid: "epochs" is Picha et al.'s protocol,
fixed epochs, so real + 20× gets several times the optimizer steps of real only; "steps"
gives every training set `steps` optimizer steps, so a gain there comes from the synthetic
faces and not from more training. `steps` is what real only trained for before this axis
(smoke, cpu: when a min_steps floor raised its epochs) or under the epochs rule (paper:
100 epochs of CK+48's ~695 training faces, 11 batches of 64). Each family gets its own
tables.

Regenerates their Table 2 (training and test accuracy per k) and Fig. 8 (blind accuracy
vs k, 95 % CI band), per family. The best k is chosen on real validation accuracy
(`val/acc_best`: held-out real subjects, the epoch's own criterion), never on the blind
set; the blind set is reported once at that k, with whether accuracy falls beyond it, and
that k's confusion matrix and per-class P/R/F1 (Figs. 9–10).

The synthetic faces come from one generator chain per training split (identity source +
StarGAN, trained on that split's real faces, `gan_seed` 0) and one generated set of 20
units; each k takes its first k units. Subject folds are shuffled by the seed, so each
seed has its own split, generators and set (shared by both budget families).

Scales: `smoke` (synthfaces → another synthfaces draw, tiny GANs and nets: a plumbing
check whose numbers mean nothing; 60 steps); `cpu` (CK+48 → FER2013 PrivateTest in the
README's command: a 1/4-width CNN, 4 epochs or 250 steps, 1/4-width DCGAN and StarGAN,
3 seeds); `paper` (full-width nets, 100 epochs or 1,100 steps, 5 seeds, on a GPU).
"""

from study.spec import Scale, StudySpec
from study.recipes import PICHA

RATIOS = [1, 2, 3, 4, 5, 6, 10, 15, 20]
TRAIN_SETS = ["real", "synthetic", *[f"real+{k}x" for k in RATIOS]]

STARGAN_BLOCKS = ("{n} of StarGAN's 6 residual blocks (the paper's): a shallower generator, another architecture, "
                  "set by hand to fit the scale's CPU budget and not measured against 6")

STUDY = StudySpec(
    name="synthetic_ratio",
    description="Picha et al.: real only, synthetic only, real + k× synthetic (StarGAN on new identities); "
                "held-out and blind cross-database accuracy",
    trainable="synthetic_ratio",
    base_config={"net": "picha_cnn", "optimizer": "adam", "lr": 1e-3, "schedule": "onecycle", "batch_size": 64,
                 "augment": "none", "max_ratio": max(RATIOS), "identity_source": "dcgan", "val_fraction": 0.1,
                 "cross_dataset": "synthfaces"},
    grid={"budget": ["epochs", "steps"], "train_set": TRAIN_SETS, "seed": [0, 1, 2, 3, 4]},
    variant_keys=("budget", "train_set"),
    scales={
        "smoke": Scale(config={"width": 0.125, "epochs": 2, "steps": 60, "source_iters": 150,
                               "source_width": 0.125, "stargan_iters": 150, "stargan_width": 0.125, "stargan_blocks": 1,
                               "judge_width": 0.125, "judge_epochs": 2},
                       synthfaces={"n_images": 600, "n_subjects": 24}, grid={"seed": [0]}, folds=1, n_folds=6,
                       deviations={"stargan_blocks": STARGAN_BLOCKS.format(n=1)}),
        "cpu": Scale(config={"width": 0.25, "epochs": 4, "steps": 250, "source_iters": 1500,
                             "source_width": 0.25, "stargan_iters": 3000, "stargan_width": 0.25, "stargan_blocks": 3,
                             "judge_epochs": 30, "judge_width": 0.375},
                     grid={"seed": [0, 1, 2]}, folds=1, n_folds=6,
                     deviations={"stargan_blocks": STARGAN_BLOCKS.format(n=3)}),
        "paper": Scale(config={"width": 1.0, "epochs": 100, "steps": 1100, "source_iters": 20000, "source_width": 1.0,
                               "stargan_iters": 100000, "stargan_width": 1.0, "stargan_blocks": 6,
                               "judge_width": 0.5, "judge_epochs": 30},
                       folds=1, n_folds=6, cpus=4, gpus=0.25,
                       deviations={
                           "identity_source": "a DCGAN trained on the split's real faces draws the new identities, not "
                                              "StyleGAN (Karras et al. 2020, Picha et al. §3.1): StyleGAN's pretrained "
                                              "weights cannot be downloaded here (trainables/synthetic/identity_sources.py)",
                           "stargan_data": "the StarGAN is trained on each split's real training faces, not on "
                                           "AffectNet-HQ (Picha et al. §3.1), which is not available here"}),
    },
    recipes=(PICHA,),
    tables=("synthetic_ratio",),
)

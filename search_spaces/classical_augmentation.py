"""Classical augmentation: no augmentation vs the classical label-preserving arm (flip,
small affine, brightness/contrast), for each classifier × seeds (× folds).

The control every GAN-augmentation study is measured against: a GAN arm has to beat
this arm, not only the unaugmented one. The report pairs classical − none by seed/fold.
"""

from study.spec import Scale, StudySpec

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
        "paper": Scale(config={"epochs": 60, "steps": 20000, "width": 1.0}, folds=10, cpus=4, gpus=1),
    },
    tables=("classical_augmentation",),
)

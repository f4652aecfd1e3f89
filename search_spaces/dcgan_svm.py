"""DCGAN discriminator features + SVM (Alharbawee & Pugeault): a DCGAN trained without
labels on a pre-training dataset; its discriminator's penultimate layer as features for
an RBF SVM whose C and γ Optuna tunes with cross-validation on the training side; beside
the same SVM on raw pixels and on the baseline CNN's features (the CNN trained with
labels on the pre-training dataset), so the table says what the GAN features add.

The cross-dataset matrix: `pretrain_dataset` and `test_dataset` are grid axes (default:
the training dataset; the test side is then its held-out split, subject-independent folds
where subjects are known). Give every dataset's folder once in `data_roots` and list the
datasets on each axis; the SVM's training dataset is `--dataset`:

    --set 'data_roots={"fer2013": "../shared/datasets/fer2013", "ckplus": "../shared/datasets/ckplus48"}'
    --set 'pretrain_dataset=["fer2013", "ckplus"]' --set 'test_dataset=["fer2013", "ckplus"]'

(`pretrain_root` / `test_root` still name one side's folder for a single cell.)

Regenerates the shape of their emotion experiments (pre-trained model / train / test /
accuracy / mean AUC, Table II / Table III) and their sample-quality table (Table VII; IS
only with local Inception weights, which cannot be downloaded here: the table says so).

Scales: `smoke` (synthfaces, tiny DCGAN, a plumbing check); `cpu` (the README's command:
DCGAN on all FER2013 training images without labels, 1/4 width, 20 epochs; the baseline
CNN at 3/8 width, 20 epochs, as the baseline study's evidence needed to learn → SVM on
CK+48 with subject-independent 10-fold CV, one seed); `paper` (full width, 300 epochs,
3 seeds).
"""

from study.spec import Scale, StudySpec
from study.recipes import ALHARBAWEE

STUDY = StudySpec(
    name="dcgan_svm",
    description="Alharbawee & Pugeault: DCGAN discriminator features vs raw pixels vs baseline CNN features, "
                "Optuna-tuned RBF SVM, cross-dataset",
    trainable="dcgan_svm",
    base_config={"kernel": "rbf", "dcgan_size": 64, "dcgan_lr": 2e-4},
    grid={"features": ["dcgan", "pixels", "cnn"], "seed": [0, 1, 2], "pretrain_dataset": [None], "test_dataset": [None]},
    variant_keys=("features",),
    scales={
        "smoke": Scale(config={"dcgan_epochs": 3, "dcgan_width": 0.125, "dcgan_batch_size": 64, "eval_samples": 100,
                               "svm_trials": 8, "inner_folds": 5, "judge_epochs": 2, "judge_width": 0.125},
                       synthfaces={"n_images": 600, "n_subjects": 24}, grid={"seed": [0]}, folds=1, n_folds=5,
                       deviations={"dcgan_batch_size": "64: ~540 training images give ~4 steps an epoch at 128"}),
        "cpu": Scale(config={"dcgan_epochs": 20, "dcgan_width": 0.25, "dcgan_batch_size": 128,
                             "eval_samples": 500, "svm_trials": 20, "inner_folds": 5,
                             "judge_epochs": 20, "judge_width": 0.375, "svm_max_train": 5000},
                     grid={"seed": [0]}, folds=10, n_folds=10),
        "paper": Scale(config={"dcgan_epochs": 300, "dcgan_width": 1.0, "dcgan_batch_size": 128,
                               "svm_trials": 50, "inner_folds": 10, "judge_epochs": 20, "judge_width": 0.5},
                       folds=10, n_folds=10, cpus=4, gpus=0.5),
    },
    recipes=(ALHARBAWEE,),
    tables=("dcgan_svm",),
)

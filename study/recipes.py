"""The five papers' recipes (study.recipe): what each states for the nets it trains, with
the section it says it in (the texts are in ../shared/papers/, indexed by its README), or
"not stated" and the value we use instead. A study names the recipes it is built from
(`StudySpec(recipes=...)`); its `paper` scale equals them or declares each difference.

Where a trainable fixes a field in its code, `InCode` says the value and where; those
values are read off the code by hand (tests/test_recipes.py checks the Adam betas)."""

from study.recipe import InCode, Recipe, RecipeValue, not_stated

# --- Zhu, Liu, Qin, Li (2017): cyclegan_augmentation, cyclegan_toy, baseline's zhu_cnn ---

_ZHU_CNN = "Zhu et al. Appendix A, 'CNN Model'"
_ZHU_GAN = "Zhu et al. Appendix A, 'CycleGAN'"
_ZHU_TOY = "Zhu et al. §4.1"
ZHU = Recipe(
    paper="Zhu et al. 2017",
    values={
        "batch_size": RecipeValue(32, f"{_ZHU_CNN}: 'batch-size = 32'"),
        "lr": RecipeValue(1e-3, f"{_ZHU_CNN}: 'stable learning rate=1e-3'"),
        "schedule": RecipeValue("constant", f"{_ZHU_CNN}: 'stable learning rate'"),
        "optimizer": RecipeValue("adam", f"{_ZHU_CNN}: 'Adam optimizer is used'"),
        "beta1": RecipeValue(0.5, f"{_ZHU_CNN}: 'β1 = 0.5'"),
        "beta2": not_stated("ours: 0.999, Adam's default (Kingma & Ba)"),
        "steps": RecipeValue(20000, f"{_ZHU_CNN}: 'training step = 20000'"),
        "weight_decay": not_stated("ours: none (0)"),
        "augment": not_stated("the paper names no classical augmentation; each study sets it (cyclegan_augmentation: "
                              "none; baseline: classical, one recipe for the three nets)"),
        "image_size": RecipeValue(48, "Zhu et al. Table 3: 'Input image 48*48*1'"),
        "class_fraction": RecipeValue(0.2, "Zhu et al. §4.2: 'we sample the images by 20% for each class in FER2013'"),
        "reference": RecipeValue("neutral", "Zhu et al. §4.2: 'we choose neutral class as our reference class'"),
        "gan_batch_size": RecipeValue(1, f"{_ZHU_GAN}: 'batch-size=1'"),
        "lr_g": RecipeValue(2e-4, f"{_ZHU_GAN}: 'learning rate=2e-4 and 1e-4' (which is the generators' is not "
                                  "said; read as G 2e-4, D 1e-4, Birenbaum's split)"),
        "lr_d": RecipeValue(1e-4, f"{_ZHU_GAN}: 'learning rate=2e-4 and 1e-4' (read as D's 1e-4)"),
        "gan_betas": RecipeValue(0.5, f"{_ZHU_GAN}: 'β1 is set to 0.5'"),
        "lambda_cyc": RecipeValue(10.0, f"{_ZHU_GAN}: '10 for both λ1 and λ2'"),
        "adv_loss": RecipeValue("lsgan", "Zhu et al. §3.1, eqs. 2-3: 'we apply a least-squared loss proposed in "
                                         "LSGAN'"),
        "cycle_loss": RecipeValue("l1", "Zhu et al. §3.1, eq. 5: 'where ‖·‖1 is the L1 norm'"),
        "gan_blocks": RecipeValue(6, "Zhu et al. Table 4: 'We apply 6 Resnet block'"),
        "gan_epochs": not_stated("Appendix A gives no CycleGAN epochs or steps; ours: the scale's gan_epochs"),
        "lr_decay": not_stated("Appendix A names no decay; ours: the cyclegan trainable's default, linear decay"),
        "toy_n_major": RecipeValue(1000, f"{_ZHU_TOY}: 'randomly sampling 1000, 1000 and 100 points'"),
        "toy_n_minor": RecipeValue(100, f"{_ZHU_TOY}: 'randomly sampling 1000, 1000 and 100 points'"),
        "toy_n_eval": RecipeValue(100, f"{_ZHU_TOY}: 'for each class, we have 100 data points for test'"),
        "toy_n_generated": RecipeValue(900, f"{_ZHU_TOY}: 'a CycleGAN to generate 900 target class'"),
        "toy_svm": RecipeValue("linear", f"{_ZHU_TOY}: 'SVM with linear kernel function'"),
        "toy_gan_batch_size": not_stated("§4.1 gives the toy's CycleGAN no settings (Appendix A's batch 1 is the "
                                         "image CycleGAN of Tables 4-5); ours: 64, for the 2-D MLP CycleGAN"),
        "toy_gan_lr": not_stated("§4.1 gives the toy's CycleGAN no settings; ours: 1e-3 for both of its MLPs"),
        "toy_gan_steps": not_stated("§4.1 gives no GAN steps; ours: the scale's gan_steps"),
    },
    keys={
        "cyclegan": {
            **{f: f for f in ("batch_size", "lr", "schedule", "optimizer", "beta1", "beta2", "steps", "weight_decay",
                              "augment", "class_fraction", "reference", "gan_batch_size", "lr_g", "lr_d",
                              "lambda_cyc", "adv_loss", "cycle_loss", "gan_blocks", "gan_epochs", "lr_decay")},
            "image_size": InCode(48, "zhu_cnn and the CycleGAN nets take 48×48 (trainables/nets)"),
            "gan_betas": InCode(0.5, "trainables/gans/cyclegan.py: Adam β = (0.5, 0.999) under lsgan"),
        },
        "classifier": {
            **{f: f for f in ("batch_size", "lr", "schedule", "optimizer", "beta1", "beta2", "steps", "weight_decay",
                              "augment", "class_fraction")},
            "image_size": InCode(48, "zhu_cnn is registered at 48 px (trainables/nets/classifiers.py)"),
        },
        "cyclegan_toy": {
            "toy_n_major": "n_major", "toy_n_minor": "n_minor", "toy_n_eval": "n_eval",
            "toy_n_generated": "n_generated", "adv_loss": "adv_loss", "lambda_cyc": "lambda_cyc",
            "toy_gan_batch_size": "batch_size", "toy_gan_lr": "lr", "toy_gan_steps": "gan_steps",
            "toy_svm": InCode("linear", "trainables/trials/toy.py: sklearn LinearSVC"),
        },
    },
)

# --- Birenbaum (course project slides): cycle_gamma, cycle_gamma_search, baseline's simple net ---

_BIR_FIX = "Birenbaum, slide 'Solution – Weighted Cycle Loss'"
_BIR_CLF = ("the slides give the simple classifier's layers and results only (slides 'Simple Classifier - "
            "Architecture' and '- Results')")
BIRENBAUM = Recipe(
    paper="Birenbaum (slides)",
    values={
        "lr_g": RecipeValue(2e-4, f"{_BIR_FIX}: 'Different learning rates for generator and discriminator: "
                                  "0.0002, 0.0001'"),
        "lr_d": RecipeValue(1e-4, f"{_BIR_FIX}: '... 0.0002, 0.0001'"),
        "lr_decay": RecipeValue(True, f"{_BIR_FIX}: 'Learning rate decay'"),
        "soft_labels": RecipeValue(True, f"{_BIR_FIX}: 'Real target is 0.9 instead of 1'"),
        "cycle_loss": RecipeValue("weighted", f"{_BIR_FIX}: 'changing cycle loss to' the weighted cycle loss"),
        "gamma_schedule": RecipeValue("linear", f"{_BIR_FIX}: 'γ ∈ [0, 1] – linearly increase with epochs, to 1'"),
        "gamma_max": RecipeValue(1.0, f"{_BIR_FIX}: '... linearly increase with epochs, to 1'"),
        "adv_loss": RecipeValue("lsgan", "Birenbaum, slide 'Target and loss functions': the squared adversarial "
                                         "loss (the Wasserstein CycleGAN slides add a critic, our wgan-gp arm)"),
        "gan_blocks": RecipeValue(6, "Birenbaum, slide 'The Networks: Generator': '6 residual blocks'"),
        "image_size": RecipeValue(48, "Birenbaum, slide 'The Data': 'images of size 48x48 pixels'"),
        "lambda_cyc": not_stated("the full objective writes λ without a value; ours: 10, Zhu et al.'s"),
        "gan_batch_size": not_stated("ours: the cyclegan trainable's 16"),
        "gan_epochs": not_stated("ours: the scale's gan_epochs"),
        "n_critic": not_stated("the Wasserstein CycleGAN slides name no critic steps or gradient penalty; ours: "
                               "5 critic updates per generator update under wgan-gp (Gulrajani et al.), 1 under lsgan"),
        "batch_size": not_stated(f"{_BIR_CLF}; ours: 64"),
        "optimizer": not_stated(f"{_BIR_CLF}; ours: Adam"),
        "lr": not_stated(f"{_BIR_CLF}; ours: 1e-3"),
        "schedule": not_stated(f"{_BIR_CLF}; ours: one-cycle"),
        "steps": not_stated(f"{_BIR_CLF}; ours: the scale's steps"),
    },
    keys={
        "cyclegan": {
            **{f: f for f in ("lr_g", "lr_d", "lr_decay", "soft_labels", "cycle_loss", "gamma_schedule", "gamma_max",
                              "adv_loss", "gan_blocks", "lambda_cyc", "gan_batch_size", "gan_epochs", "n_critic",
                              "batch_size", "optimizer", "lr", "schedule", "steps")},
            "image_size": InCode(48, "the simple net and the CycleGAN nets take 48×48 (trainables/nets)"),
        },
        "classifier": {
            **{f: f for f in ("batch_size", "optimizer", "lr", "schedule", "steps")},
            "image_size": InCode(48, "the simple net is registered at 48 px (trainables/nets/classifiers.py)"),
        },
    },
)

# --- FESR (IEEE TMM): fesr_ablation, fesgan_ablation, loss_weights ---

_FESR = "FESR Sec. IV-B"
FESR = Recipe(
    paper="FESR (IEEE TMM)",
    values={
        "batch_size": RecipeValue(16, f"{_FESR}: 'trained ... with the batch size of 16'"),
        "lr": RecipeValue(1e-4, f"{_FESR}: 'the Adam algorithm with the learning rate of 0.0001'"),
        "optimizer": RecipeValue("adam", f"{_FESR}: 'We train the networks using the Adam algorithm'"),
        "betas": RecipeValue((0.5, 0.999), f"{_FESR}: 'β1 = 0.5 and β2 = 0.999'"),
        **{f"lambda{k}": RecipeValue(value, f"{_FESR}: 'λ1, λ2, λ3, λ4, λ5, and λ6 are empirically set to 1, 10, "
                                            "5, 1, 1 and 0.001'")
           for k, value in zip(range(1, 7), (1.0, 10.0, 5.0, 1.0, 1.0, 0.001))},
        "image_size": RecipeValue(128, f"{_FESR}: 'crop and resize the face into the size of 128 × 128'"),
        "adv_loss": RecipeValue("wgan-gp", "FESR Sec. IV-B: 'The adversarial losses between G and D_img ... are "
                                           "optimized by using WGAN-GP'"),
        "critic_steps": RecipeValue(1, "FESR Algorithm 1: D_z, D_img and G each updated once per iteration"),
        "pretrain_iters": not_stated("Algorithm 1 names P_pre without a value; ours: the scale's pretrain_iters"),
        "joint_iters": not_stated("Algorithm 1 names P_max without a value; ours: the scale's joint_iters"),
        "gp_weight": not_stated("WGAN-GP [65] without its weight; ours: 10, Gulrajani et al.'s"),
    },
    keys={
        "fesr": {
            **{f: f for f in ("batch_size", "lr", "image_size", "pretrain_iters", "joint_iters", "gp_weight",
                              *(f"lambda{k}" for k in range(1, 7)))},
            "optimizer": InCode("adam", "trainables/gans/fesgan.py: every network's optimiser is contract.adam"),
            "betas": InCode((0.5, 0.999), "trainables/gans/contract.py: adam's default betas"),
            "adv_loss": InCode("wgan-gp", "trainables/gans/fesgan.py: D_img's loss is disc_loss('wgan-gp', ...)"),
            "critic_steps": InCode(1, "trainables/gans/fesr_fit.py: one D_z, D_img and G update per iteration"),
        },
    },
)

# --- Gholipour Picha, Al Chanti, Caplier (2023): synthetic_ratio ---

_PICHA_CLF = "§3.2 and §4 give the CNN's layers (Table 1), not how it is trained"
PICHA = Recipe(
    paper="Picha et al. 2023",
    values={
        "image_size": RecipeValue(64, "Picha et al. Table 1: 'Conv2D 64 × 64 × 1'"),
        "identity_source": RecipeValue("stylegan", "Picha et al. §3.1: 'new identities ... using the StyleGAN "
                                                   "model of Karras et al. [2020]'"),
        "stargan_data": RecipeValue("AffectNet-HQ", "Picha et al. §3.1: 'We train the StarGAN model with the "
                                                    "spontaneous public database Affectnet-HQ'"),
        "batch_size": not_stated(f"{_PICHA_CLF}; ours: 64"),
        "optimizer": not_stated(f"{_PICHA_CLF}; ours: Adam"),
        "lr": not_stated(f"{_PICHA_CLF}; ours: 1e-3"),
        "schedule": not_stated(f"{_PICHA_CLF}; ours: one-cycle"),
        "epochs": not_stated(f"{_PICHA_CLF}; ours: the scale's epochs (the 'epochs' budget family)"),
        "augment": not_stated(f"{_PICHA_CLF}; ours: none"),
    },
    keys={
        "synthetic_ratio": {
            **{f: f for f in ("identity_source", "batch_size", "optimizer", "lr", "schedule", "epochs", "augment")},
            "image_size": InCode(64, "picha_cnn is registered at 64 px (trainables/nets/classifiers.py)"),
            "stargan_data": InCode("the training split's real faces",
                                   "trainables/trials/synthetic_ratio.py: StarGAN trained per split"),
        },
        "classifier": {
            **{f: f for f in ("batch_size", "optimizer", "lr", "schedule", "augment")},
            "image_size": InCode(64, "picha_cnn is registered at 64 px (trainables/nets/classifiers.py)"),
        },
    },
)

# --- Alharbawee & Pugeault: dcgan_svm ---

_ALH = "Alharbawee & Pugeault §3"
ALHARBAWEE = Recipe(
    paper="Alharbawee & Pugeault",
    values={
        "dcgan_size": RecipeValue(64, f"{_ALH}: 'downscaled to an initial resolution of 64×64 pixels'"),
        "dcgan_epochs": RecipeValue(300, f"{_ALH}: 'trained for a span of 300 epochs'"),
        "dcgan_batch_size": RecipeValue(128, f"{_ALH}: 'mini-batch SGD with a batch size of 128'"),
        "dcgan_lr": RecipeValue(2e-4, f"{_ALH}: 'The learning rate for the optimizers was fixed at 0.0002'"),
        "dcgan_beta1": RecipeValue(0.9, f"{_ALH}: 'β_1, was chosen to be 0.9'"),
        "optimizer": RecipeValue("adam", f"{_ALH}: 'the Adam optimizer ... was adopted'"),
        "init": RecipeValue("N(0, 0.02)", f"{_ALH}: 'a zero-centered normal distribution with a standard deviation "
                                          "of 0.02'"),
        "kernel": RecipeValue("rbf", "Alharbawee & Pugeault §4-A: 'A multiclass SVM with a Gaussian kernel'"),
        "inner_folds": RecipeValue(10, "Alharbawee & Pugeault §4-A: 'optimised using the bayesopt optimiser with "
                                       "ten-fold cross validation'"),
        "svm_trials": not_stated("bayesopt's budget is not given; ours: the scale's svm_trials of Optuna TPE"),
    },
    keys={
        "dcgan_svm": {
            **{f: f for f in ("dcgan_size", "dcgan_epochs", "dcgan_batch_size", "dcgan_lr", "dcgan_beta1", "kernel",
                              "inner_folds", "svm_trials")},
            "optimizer": InCode("adam", "trainables/gans/dcgan.py: contract.adam for G and D"),
            "init": InCode("N(0, 0.02)", "trainables/nets/dcgan.py: nn.init.normal_(weight, 0.0, 0.02)"),
        },
    },
)

RECIPES = (ZHU, BIRENBAUM, FESR, PICHA, ALHARBAWEE)


# The studies that train the three papers' classifiers side by side (baseline, its classical
# augmentation control): each net's cells under its own paper's recipe.
CLASSIFIER_RECIPES = (ZHU.for_cells(net="zhu_cnn"), BIRENBAUM.for_cells(net="simple"), PICHA.for_cells(net="picha_cnn"))

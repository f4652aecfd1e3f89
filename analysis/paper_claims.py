"""The papers' claims that an arm beats (or trails) its control, each with where the paper
measured it (its ground) and the run column it is judged on; analysis.verdicts judges them.
The papers' numbers themselves are analysis.references."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.ground import SIMULATED, Ground
from analysis.references import BIR_SLIDE, FESR_FIG8, PAPERS, ZHU_T1

@dataclass(frozen=True)
class Claim:
    """A paper's claim that an arm beats (or trails) its control: ``effect`` is the paper's
    arm − control in points, its sign the claimed direction (None where the paper gives no
    number for the control: then ``direction`` says it). ``metric`` is our run column the
    claim is judged on; ``ground`` where the paper measured it (a launch elsewhere gets no
    verdict); ``gan`` marks an arm whose synthetic images must pass the synthesis gate
    before the claim is judged."""

    paper: str
    source: str
    ground: Ground
    arm: str
    control: str
    metric: str
    effect: float | None
    statement: str
    gan: bool = True
    direction: int = 0  # +1 / -1 where `effect` is None

    @property
    def sign(self) -> int:
        return self.direction if self.effect is None else (1 if self.effect > 0 else -1)

    @property
    def dataset(self) -> str:
        return self.ground.dataset

    @property
    def label(self) -> str:
        return PAPERS[self.paper].label


_FESR_GROUND = Ground("CK+", "subject-independent 10-fold cross-validation", "ckplus",
                      (("protocol", ("auto", "subject_kfold", "None")), ("n_folds", ("10",))))
# Zhu et al. sample 20 % of each FER2013 class for training and test on 7 % / 14 % of FER2013;
# ours tests on the official PrivateTest split (~10 %), held out the same way.
_ZHU_GROUND = Ground("FER2013 (20 % sampled)", "20 % of each class for training, tested on held-out FER2013 "
                     "images", "fer2013", (("class_fraction", ("0.2",)), ("protocol", ("auto", "official", "None"))))
_BIR_GROUND = Ground("FER2013", "the whole training set, tested on its 3,589 test images", "fer2013",
                     (("class_fraction", ("None",)), ("protocol", ("auto", "official", "None"))))
# Zhu et al.'s 'All' column is a mean of one-vs-rest accuracies (papers/README.md): judged on ours.
MEAN_OVR = "test/ovr_acc_mean_at_best_val"


def _fesr_claims() -> list[Claim]:
    ck = {v: values[0] for v, values in FESR_FIG8.items()}
    pairs = [("FESR_JL", "BASELINE", "joint learning with synthetic faces beats R on real faces only"),
             ("FESR_JL-IL", "FESR_JL", "the intra-class loss helps"),
             ("FESR_JL-RDBP", "FESR_JL", "RDBP helps over plain back-propagation"),
             ("FESR_SL", "FESR_JL", "joint learning beats separate learning"),
             ("FESR_OneSt", "FESR_JL", "pre-training FESGAN first helps")]
    claims = [Claim("fesr", "Fig. 8", _FESR_GROUND, arm, control, "test/acc_at_best_val",
                    round(ck[arm] - ck[control], 2), statement) for arm, control, statement in pairs]
    claims.append(Claim("fesr", "Table IV", _FESR_GROUND, "FG-IP", "FG", "synthesis/verification_rate",
                        round(55.15 - 93.33, 2), "without the identity-preserving loss, synthesised faces "
                        "lose their subject's identity", gan=False))
    return claims


def _cyclegan_claims() -> list[Claim]:
    base = ZHU_T1["All"][0]
    zhu = [Claim("zhu2017", "Table 1", _ZHU_GROUND, arm, "baseline", MEAN_OVR, round(value - base, 2),
                 f"{arm} beats baseline") for arm, value in (("+disgust", ZHU_T1["All"][1]),
                                                            ("+sad", ZHU_T1["All"][2]))]
    zhu.append(Claim("zhu2017", "Table 2", _ZHU_GROUND, "dag", "baseline", MEAN_OVR, round(94.71 - base, 2),
                     "DAG (pre-train on generated, fine-tune on real) beats baseline"))
    birenbaum = Claim("birenbaum", BIR_SLIDE, _BIR_GROUND, "+disgust", "baseline", "test/acc_at_best_val",
                      round(66.26 - 65.09, 2), "adding CycleGAN disgust faces beats the baseline")
    # His fix for the CycleGAN's failures, judged by what the study measures: the classifier
    # trained with the faces of each (no number for the plain loss on the slides).
    weighted = Claim("birenbaum", "slide 'Solution – Weighted Cycle Loss'", _BIR_GROUND, WEIGHTED_RECIPE, PLAIN_CYCLE,
                     "test/acc_at_best_val", None, "disgust faces of the weighted cycle loss (γ rising linearly to "
                     "1) help the classifier more than those of the plain L1 cycle loss", direction=+1)
    return zhu + [birenbaum, weighted]


PLAIN_CYCLE = "plain L1"


def weighted_setting(gamma_max: str, schedule: str) -> str:
    """The cycle_gamma table's name of a weighted cycle-loss setting."""
    return f"weighted, γ to {gamma_max} ({schedule})"


WEIGHTED_RECIPE = weighted_setting("1.0", "linear")


TOY_ARM, TOY_CONTROL = "+ 900 CycleGAN points", "linear SVM, real only"


def _toy_claims() -> list[Claim]:
    ground = Ground("toy: three 2-D Gaussians", "1000/1000/100 training points, 900 generated minority points, "
                    "100 test points per class", SIMULATED,
                    (("n_major", ("1000",)), ("n_minor", ("100",)), ("n_generated", ("900",))))
    # 2-D points, no images: no judge can gate them; the SVM's accuracy is the claim itself.
    return [Claim("zhu2017", "Section 4.1", ground, TOY_ARM, TOY_CONTROL, "test/acc", round(98.0 - 93.3, 2),
                  "CycleGAN-generated minority points lift a linear SVM", gan=False)]


def _picha_claims() -> list[Claim]:
    ground = Ground("MMI (cross-database)", "trained on RaFD + Oulu-CASIA (109 / 10 / 25 subjects), tested blind "
                    "on MMI", None)
    return [Claim("picha2023", "Fig. 8 / Section 4.3", ground, "real+5x", "real", "blind/acc_at_best_val",
                  round(58.3 - 45.0, 2), "real + 5x generated identities beat real only on a blind database "
                  "(their best ratio; accuracy falls beyond it)")]


def _alharbawee_claims() -> list[Claim]:
    # The paper reports no raw-pixel baseline: "GAN features beat pixels" is our reading of its
    # claim that the unsupervised features suffice for expression recognition.
    ground = Ground("their eight dataset pairs (RaFD, enhanced CK, CelebA, RAF-DB, KDEF, SFEW)",
                    "SVM tuned by Bayesian optimisation with 10-fold CV", None)
    return [Claim("alharbawee", "conclusions (no pixel baseline in the paper)", ground, "dcgan", "pixels",
                  "test/acc", None, "DCGAN discriminator features beat raw pixels under the same SVM",
                  gan=False, direction=+1)]


CLAIMS: tuple[Claim, ...] = tuple(_fesr_claims() + _cyclegan_claims() + _toy_claims() + _picha_claims()
                                  + _alharbawee_claims())


def claims(**fields) -> list[Claim]:
    """Claims whose fields equal every given value, e.g. ``claims(paper="fesr")``."""
    return [c for c in CLAIMS if all(getattr(c, k) == v for k, v in fields.items())]

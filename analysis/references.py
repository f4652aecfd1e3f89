"""The papers' numbers, as plain data, each with the table/figure/slide it comes from.

Only numbers printed in the texts under /work/shared/papers are entered (plus the
FESR Fig. 8 bars as decoded in papers/README.md, flagged as such). Values are in %.
``metric`` names the ferlab metric the number is best compared with, without the
``test/`` prefix and ``_at_best_val`` suffix (``acc``, ``acc_angry``,
``ovr_acc_angry``; ``train_acc`` for a training accuracy; ``blind_acc`` for accuracy on
a blind cross-database set); ``row`` and ``column``
keep the paper's own labels so a record can be found again in the source.

Layouts pick records with ``select(...)`` / ``one(...)``; nothing here knows about
MLflow or our tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis import ReportError


@dataclass(frozen=True)
class Paper:
    key: str
    label: str  # what a table cell shows: "Birenbaum (slides): 65.09"
    citation: str


@dataclass(frozen=True)
class Reference:
    paper: str  # a key of PAPERS
    citation: str
    source: str  # "Table 1", "Fig. 8", "slide 'Simple Classifier - Results'"
    dataset: str
    protocol: str
    row: str
    column: str
    metric: str
    value: float  # %
    notes: str = ""
    counts: tuple[int, int] | None = None  # (correct, total) where the paper gives them

    @property
    def label(self) -> str:
        return PAPERS[self.paper].label


PAPERS = {p.key: p for p in [
    Paper("birenbaum", "Birenbaum (slides)",
          "D. Birenbaum, 'Data Augmentation Using GANs', course project 236754 slides "
          "(supervisors Y. Honen, G. Mataev) [papers/002_a8aa5d61cc98f3a0.txt]"),
    Paper("zhu2017", "Zhu et al. 2017",
          "X. Zhu, Y. Liu, Z. Qin, J. Li, 'Emotion Classification with Data Augmentation "
          "Using Generative Adversarial Networks', 2017 [papers/000_c8e0613a8d4abbc7.txt]"),
    Paper("picha2023", "Picha et al. 2023",
          "S. Gholipour Picha, D. Al Chanti, A. Caplier, 'How far generated data can impact "
          "Neural Networks performance?', Feb. 2023 [papers/001_a8088d704d7040f4.txt]"),
    Paper("fesr", "FESR (IEEE TMM)",
          "'Joint Deep Learning of Facial Expression Synthesis and Recognition' (FESR), "
          "IEEE Trans. Multimedia; authors not in the extracted text "
          "[papers/003_613fed1e1860ad05.txt]"),
    Paper("alharbawee", "Alharbawee & Pugeault",
          "N. Alharbawee, N. Pugeault, 'GANs for Facial Expression Recognition in the Wild' "
          "[papers/004_7f854979ca9c052e.txt]"),
]}


def _ref(paper: str, source: str, dataset: str, protocol: str, row: str, column: str,
         metric: str, value: float, notes: str = "", counts=None) -> Reference:
    return Reference(paper, PAPERS[paper].citation, source, dataset, protocol, row, column,
                     metric, value, notes, counts)


# --- Birenbaum, slide "Simple Classifier - Results" ---------------------------------
BIR_SLIDE = "slide 'Simple Classifier - Results'"
_BIR_PROTOCOL = ("VGG-like 'simple classifier' (slide 'Simple Classifier - Architecture'); "
                 "3,589 FER2013 test images (the slides do not say PublicTest or PrivateTest)")
_BIR_COUNTS = {  # class: (total, correct baseline, correct baseline + synthetic)
    "angry": (491, 262, 282), "disgust": (55, 33, 36), "fear": (528, 244, 271),
    "happy": (879, 750, 767), "sad": (594, 262, 271), "surprise": (416, 327, 328),
    "neutral": (626, 458, 423)}
_BIR_ROUNDED = {"baseline": dict(angry=53, disgust=60, fear=46, happy=85, sad=44,
                                 surprise=78, neutral=73),
                "baseline + synthetic data": dict(angry=57, disgust=65, fear=51, happy=87,
                                                  sad=45, surprise=78, neutral=67)}


def _birenbaum() -> list[Reference]:
    out = []
    for arm, overall, idx in (("baseline", 65.09, 1), ("baseline + synthetic data", 66.26, 2)):
        correct = sum(counts[idx] for counts in _BIR_COUNTS.values())
        out.append(_ref("birenbaum", BIR_SLIDE, "FER2013", _BIR_PROTOCOL, arm,
                        "Accuracy of the network on the 3589 test images", "acc", overall,
                        notes=f"exact {correct}/3589, the per-class counts on the slide summed",
                        counts=(correct, 3589)))
        for cls, counts in _BIR_COUNTS.items():
            correct, total = counts[idx], counts[0]
            out.append(_ref("birenbaum", BIR_SLIDE, "FER2013", _BIR_PROTOCOL, arm,
                            f"Accuracy of {cls.capitalize()}", f"acc_{cls}",
                            round(100.0 * correct / total, 2),
                            notes=f"exact {correct}/{total}; the slide rounds to "
                                  f"{_BIR_ROUNDED[arm][cls]} %",
                            counts=(correct, total)))
    return out


# --- Zhu et al. 2017, Tables 1 and 2, Section 4.1 -----------------------------------
_ZHU_CAVEAT = ("~91-95 % with a two-layer CNN on FER2013 is far above 7-way accuracy "
               "(~65-73 %); most likely per-class one-vs-rest accuracies (papers/README.md)")
_ZHU_PROTOCOL = ("CNN of their Table 3; FER2013 sampled to 20 % per class; tested on 7 % or "
                 "14 % of FER2013")
ZHU_T1 = {  # class: baseline, +disgust, +sad (7 % test) then the same on 14 % test
    "angry": (93.70, 93.71, 93.05, 93.47, 93.36, 92.89),
    "disgust": (73.91, 91.30, 95.65, 79.62, 88.89, 94.44),
    "fear": (90.88, 92.18, 94.46, 90.38, 91.43, 94.58),
    "happy": (91.87, 96.34, 93.70, 91.75, 96.37, 94.21),
    "sad": (87.86, 93.61, 97.44, 89.22, 93.26, 94.61),
    "surprise": (94.27, 99.12, 96.48, 93.46, 97.09, 96.85),
    "neutral": (89.55, 91.94, 94.63, 88.24, 93.06, 94.48),
    "All": (91.04, 94.25, 94.65, 90.77, 93.82, 94.32)}
_ZHU_T1_ROWS = [f"{arm} ({split} test)" for split in ("7%", "14%")
                for arm in ("baseline", "+disgust", "+sad")]


def _zhu() -> list[Reference]:
    out = []
    for cls, values in ZHU_T1.items():
        metric = "ovr_acc_mean" if cls == "All" else f"ovr_acc_{cls}"
        for row, value in zip(_ZHU_T1_ROWS, values):
            out.append(_ref("zhu2017", "Table 1", "FER2013 (20 % sampled)", _ZHU_PROTOCOL, row,
                            cls, metric, value, notes=_ZHU_CAVEAT))
    t2 = [("FER2013 (20 % sampled)", "baseline (7% test)", 91.04),
          ("FER2013 (20 % sampled)", "baseline (14% test)", 90.77),
          ("FER2013 (20 % sampled)", "DAG: pre-train+fine-tune (7% test)", 94.71),
          ("FER2013 (20 % sampled)", "DAG: pre-train+fine-tune (14% test)", 94.35),
          ("SFEW (model pre-trained on FER2013)", "baseline", 31.92),
          ("SFEW (model pre-trained on FER2013)", "DAG: pre-train+fine-tune", 39.07),
          ("JAFFE (model pre-trained on FER2013)", "baseline", 93.87),
          ("JAFFE (model pre-trained on FER2013)", "DAG: pre-train+fine-tune", 95.80)]
    for dataset, row, value in t2:
        out.append(_ref("zhu2017", "Table 2", dataset,
                        "DAG = 10k steps on generated images (6 classes) + 10k fine-tuning on "
                        "real; SFEW: given test set; JAFFE: 20 % test", row, "Accuracy",
                        "ovr_acc_mean" if dataset.startswith("FER") else "acc",
                        value, notes=_ZHU_CAVEAT if dataset.startswith("FER") else ""))
    for row, value in (("imbalanced (1000/1000/100 points)", 93.3),
                       ("+ 900 CycleGAN-generated minority points", 98.0)):
        out.append(_ref("zhu2017", "Section 4.1", "toy: three 2-D Gaussians",
                        "linear SVM; 100 test points per class", row, "accuracy", "acc", value))
    return out


# --- Picha et al. 2023, Sections 4.1-4.4, Table 2, Fig. 8, Table 3 ------------------
_PICHA_PROTOCOL = ("CNN of their Table 1 (64x64, 6 classes); real = RaFD + Oulu-CASIA, "
                   "109 training / 10 validation / 25 test subjects")


def _picha() -> list[Reference]:
    p, proto = "picha2023", _PICHA_PROTOCOL
    out = [
        _ref(p, "Section 4.1", "RaFD + Oulu-CASIA", proto, "real only (experiment 1)",
             "testing accuracy", "acc", 69.6),
        _ref(p, "Section 4.1", "RaFD + Oulu-CASIA", proto, "real only (experiment 1)",
             "training accuracy", "train_acc", 84.5),
        _ref(p, "Section 4.2", "synthetic (StyleGAN + StarGAN)", proto,
             "synthetic only (experiment 2)", "testing accuracy", "acc", 97.6,
             notes="tested on synthetic faces"),
        _ref(p, "Section 4.2", "synthetic (StyleGAN + StarGAN)", proto,
             "synthetic only (experiment 2)", "training accuracy", "train_acc", 99.84),
        _ref(p, "Table 3 / Section 4.4", "CK+ (cross-database)", proto,
             "Proposed method (RaFD + Oulu-CASIA + GAN)", "Accuracy", "blind_acc", 87.49),
        _ref(p, "Section 4.4", "MMI (cross-database)", proto, "FER VGG16", "accuracy",
             "blind_acc", 54.08),
    ]
    mmi = "MMI (cross-database)"
    for row, value, source in (("real only (RFEs)", 45.0, "Fig. 8 / Section 4.1"),
                               ("synthetic only (GFEs)", 47.0, "Fig. 8 / Section 4.2"),
                               ("RFEs + 5x GFEs", 58.3, "Fig. 8 / Section 4.3")):
        out.append(_ref(p, source, mmi, proto, row, "accuracy", "blind_acc", value,
                        notes="Fig. 8's other points are not in the extracted text"))
    table2 = {1: (91.0, 85.3), 2: (93.8, 89.0), 3: (94.8, 92.7), 4: (95.8, 92.5),
              5: (97.6, 94.3), 6: (97.8, 94.0), 10: (97.9, 95.1), 15: (98.9, 95.5),
              20: (98.9, 97.0)}
    for k, (train, test) in table2.items():
        row = "RFEs + GFEs" if k == 1 else f"RFEs + {k}x GFEs"
        dataset = "RaFD + Oulu-CASIA + generated (own split)"
        out.append(_ref(p, "Table 2", dataset, proto, row, "Training accuracy", "train_acc",
                        train))
        out.append(_ref(p, "Table 2", dataset, proto, row, "Testing accuracy", "acc", test,
                        notes="test split of the augmented set (real + generated identities)"))
    return out


# --- FESR: Fig. 8 (decoded in papers/README.md) and Table V -------------------------
_FESR_PROTOCOL = "subject-independent 10-fold cross-validation"
FESR_FIG8 = {  # variant: CK+, Oulu-CASIA, MMI
    "BASELINE": (95.63, 82.92, 79.88), "FESR_OneSt": (96.49, 83.75, 81.66),
    "FESR_SL": (96.82, 84.17, 81.66), "FESR_JL-IL": (97.48, 85.21, 82.80),
    "FESR_JL-RDBP": (98.33, 86.32, 83.21), "FESR_JL": (99.34, 88.13, 84.81),
    "FESR_Real": (97.48, 83.46, 81.50)}
_FESR_T5 = {"BASELINE": (95.63, 82.92, 79.88), "FESR SL": (96.82, 84.17, 81.66),
            "FESR JL-IL": (97.18, 85.21, 82.80), "FESR JL": (99.34, 88.13, 84.81)}
_FESR_DATASETS = ("CK+", "Oulu-CASIA", "MMI")


def _fesr() -> list[Reference]:
    out = []
    for variant, values in FESR_FIG8.items():
        uncertain = variant in ("FESR_OneSt", "FESR_JL-RDBP")
        note = ("bar labels decoded in papers/README.md"
                + ("; least certain split (OneSt vs JL-RDBP)" if uncertain else "")
                + ("; Table V gives 97.18 on CK+" if variant == "FESR_JL-IL" else ""))
        for dataset, value in zip(_FESR_DATASETS, values):
            out.append(_ref("fesr", "Fig. 8", dataset, _FESR_PROTOCOL, variant, dataset,
                            "acc", value, notes=note))
    for variant, values in _FESR_T5.items():
        for dataset, value in zip(_FESR_DATASETS, values):
            out.append(_ref("fesr", "Table V", dataset, _FESR_PROTOCOL, variant, dataset,
                            "acc", value))
    synthesis = "each test image translated to the expression of a real image of the same subject"
    for dataset, psnr, ssim in (("CK+", 21.380, 0.698), ("Oulu-CASIA", 22.079, 0.754), ("MMI", 24.676, 0.761)):
        out.append(_ref("fesr", "Table III", dataset, synthesis, "FG", "PSNR", "psnr", psnr, notes="dB, not %"))
        out.append(_ref("fesr", "Table III", dataset, synthesis, "FG", "SSIM", "ssim", 100 * ssim,
                        notes="SSIM × 100"))
    verification = ("pairs of a real image and 7 synthetic images of its identity + 7 of others; "
                    "Light CNN-29 features, cosine distance")
    for variant, value in (("FG-IP", 55.15), ("FG", 93.33)):
        out.append(_ref("fesr", "Table IV", "CK+", verification, variant, "Verification rate",
                        "verification_rate", value,
                        notes="only the first database's pair is legible in the extracted text; read as CK+"))
    return out


# --- Alharbawee & Pugeault: Table II (AUC), Table III / Fig. 6 (accuracy), Table VII ------
_ALH_PROTOCOL = ("DCGAN (64x64, unsupervised) discriminator features, SVM (RBF for emotions) tuned by Bayesian "
                 "optimisation with 10-fold CV")
# experiment: (pre-training dataset, SVM train/test dataset, Table II average AUC, accuracy or None)
_ALH_EXPERIMENTS = {
    "Exp1": ("enhanced CK", "Radboud frontal", 0.980, 98.57),
    "Exp2": ("CelebA", "Radboud frontal", 0.998, 95.52),
    "Exp3": ("enhanced CK", "Radboud multi-view", 0.954, None),
    "Exp4": ("Radboud multi-view", "Radboud multi-view", 0.932, None),
    "Exp5": ("Radboud frontal", "Radboud frontal", 0.999, 97.64),
    "Exp6": ("RAF-DB", "RAF-DB", 0.870, 61.87),
    "Exp7": ("KDEF", "KDEF", 0.879, 60.44),
    "Exp8": ("SFEW", "SFEW", 0.754, 44.52),
}


def _alharbawee() -> list[Reference]:
    out = []
    for exp, (pretrain, target, mean_auc, accuracy) in _ALH_EXPERIMENTS.items():
        row = f"{exp}: pre-trained on {pretrain}, SVM on {target}"
        out.append(_ref("alharbawee", "Table II", target, _ALH_PROTOCOL, row, "Average", "mean_auc", 100 * mean_auc,
                        notes="AUC × 100"))
        if accuracy is not None:
            source = "Table III" if exp in ("Exp6", "Exp7", "Exp8") else ("Fig. 6" if exp != "Exp5" else "Section 4-A")
            out.append(_ref("alharbawee", source, target, _ALH_PROTOCOL, row, "Accuracy", "acc", accuracy))
    for metric, value, note in (("is", 1.874, "Inception Score, not %"), ("fid", 22.318, "FID, not %"),
                                ("ssim", 89.42, "SSIM × 100")):
        out.append(_ref("alharbawee", "Table VII", "RaFD", "generated samples", "Ours (DCGAN)", metric.upper(),
                        metric, value, notes=note))
    return out


REFERENCES: tuple[Reference, ...] = tuple(_birenbaum() + _zhu() + _picha() + _fesr() + _alharbawee())


def select(**fields) -> list[Reference]:
    """Records whose fields equal every given value, e.g.
    ``select(paper="birenbaum", row="baseline")``."""
    unknown = set(fields) - set(Reference.__dataclass_fields__)
    if unknown:
        raise ReportError(f"unknown reference field(s) {sorted(unknown)}; known: "
                          f"{sorted(Reference.__dataclass_fields__)}")
    return [r for r in REFERENCES if all(getattr(r, k) == v for k, v in fields.items())]


def one(**fields) -> Reference:
    """The single record matching ``fields``; fails loudly on none or several."""
    found = select(**fields)
    if len(found) != 1:
        raise ReportError(f"expected one reference for {fields}, found {len(found)}")
    return found[0]


# FESR Section IV-B: λ1..λ6 "empirically set to 1, 10, 5, 1, 1 and 0.001" (hyper-parameters,
# not results: the loss_weights report shows them beside the best λ found).
FESR_LAMBDAS = {"lambda1": 1.0, "lambda2": 10.0, "lambda3": 5.0, "lambda4": 1.0, "lambda5": 1.0, "lambda6": 0.001}


# Our dataset names → the papers' dataset names they are the same data as. A paper's
# number is judged only beside runs on its own dataset.
SAME_DATA = {"fer2013": "FER2013", "ckplus": "CK+"}


def comparable(reference_dataset: str, ours: str | None, procedural: bool = False) -> bool:
    """Whether a paper's number on ``reference_dataset`` may be judged beside our runs on
    ``ours`` (a registered dataset name): the same data, and not procedural. A simulated
    experiment (Zhu et al.'s toy Gaussians) is the same data wherever it runs."""
    if reference_dataset.startswith("toy:"):
        return True
    return not procedural and ours in SAME_DATA and reference_dataset.split(" (")[0] == SAME_DATA[ours]

"""The FESR and FESGAN variants by name, as the paper defines them (Section IV-C for the
FESGAN variants of Fig. 4, Section IV-D for the FESR variants of Fig. 8 / Table V).

A variant is a set of switches; `trainables.gans.fesr_fit` computes exactly the loss terms
the switches leave on, and reports each one it computed under its name (g_adv_img, rec,
intra_rf, …; tests/test_fesr.py lists them per variant)."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    gan: bool = True  # FESGAN is trained and generates R's synthetic images
    recognizer: bool = True  # R is trained (False: a FESGAN-only variant of Fig. 4)
    pretrain: bool = True  # stage 1, P_pre iterations of FESGAN alone
    joint: bool = True  # stage 2 keeps training FESGAN, with R's loss on G (eq. 25)
    intra: bool = True  # the intra-class loss (λ6 > 0)
    rdbp: bool = True  # real-data-guided back-propagation for the real–synthetic term
    # R's synthetic images (trainables.gans.fesr_fit.synthesize): "z", x^{p,f} = G_dec([z, u(y)]), one per real
    # input; "gx", g(x) of each real input in all K expressions (K per input); "gx_matched", g(x) of each real
    # input in one expression, the batch's labels shifted by one (as many images and labels per step as "z")
    synthetic_from: str = "z"
    rec: bool = True  # L_rec
    identity: bool = True  # L_id
    d_img: bool = True  # the image discriminator (adversarial head and classifier)
    d_img_cls: bool = True  # its auxiliary classifier
    d_z: bool = True  # the latent discriminator


_FESR = Variant("FESR_JL", "the full method: joint learning, intra-class loss with RDBP")
# FESR_Real as the paper describes it (Section IV-D: "we generate images with all expressions
# from the input images") gives R K synthetic images per real input, with uniform labels, where
# FESR_JL-IL gives one per input labelled as the batch: K times as many, another label mix. The
# paper calls the generation strategy "the only difference"; this arm makes it so.
REAL_MATCHED = "FESR_Real-matched"
_FG = Variant("FG", "FESGAN as described (Section III-B), trained alone", recognizer=False)

VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("BASELINE", "R trained with the classification loss on real images only", gan=False, pretrain=False,
            joint=False, intra=False, rec=False, identity=False, d_img=False, d_img_cls=False, d_z=False),
    replace(_FESR, name="FESR_OneSt", description="joint learning from the start (no FESGAN pre-training)",
            pretrain=False),
    replace(_FESR, name="FESR_SL", description="FESGAN pre-trained then frozen; R trained on its images "
                                               "(separate learning, no R→G loss)", joint=False),
    replace(_FESR, name="FESR_JL-IL", description="joint learning without the intra-class loss (λ6 = 0)",
            intra=False),
    replace(_FESR, name="FESR_JL-RDBP", description="joint learning, intra-class loss with ordinary gradients "
                                                   "(no RDBP)", rdbp=False),
    _FESR,
    replace(_FESR, name="FESR_Real", description="as FESR_JL-IL, but R's synthetic images come from g(x) of "
                                                 "real inputs, each decoded into all K expressions, not from "
                                                 "the prior z",
            intra=False, synthetic_from="gx"),
    replace(_FESR, name=REAL_MATCHED, description="FESR_Real matched to FESR_JL-IL: R's synthetic images come "
                                                  "from g(x) of the real inputs, one per input, labelled with the "
                                                  "batch's labels as JL-IL's are; only the identity source differs",
            intra=False, synthetic_from="gx_matched"),
    _FG,
    replace(_FG, name="FG-CO", description="FESGAN without content learning (no L_rec, no L_id)", rec=False,
            identity=False),
    replace(_FG, name="FG-IP", description="FESGAN without the identity-preserving loss L_id", identity=False),
    replace(_FG, name="FG-Dimg", description="FESGAN without the image discriminator D_img", d_img=False,
            d_img_cls=False),
    replace(_FG, name="FG-Dimg_cls", description="FESGAN without D_img's auxiliary classifier", d_img_cls=False),
    replace(_FG, name="FG-Dz", description="FESGAN without the latent discriminator D_z", d_z=False),
)}

FESR_VARIANTS = tuple(n for n, v in VARIANTS.items() if v.recognizer)
FESGAN_VARIANTS = tuple(n for n, v in VARIANTS.items() if not v.recognizer)


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ValueError(f"unknown FESR variant {name!r}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def pretrained_gan_key(variant: Variant) -> tuple:
    """What the stage-1 FESGAN depends on among the switches: variants with the same key
    share one pre-trained FESGAN (all FESR variants that pre-train use the full FG)."""
    return (variant.rec, variant.identity, variant.d_img, variant.d_img_cls, variant.d_z)

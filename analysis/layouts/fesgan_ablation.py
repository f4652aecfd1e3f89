"""The fesgan_ablation study's table (FESR Tables III-IV): synthesis quality of FESGAN and
its variants beside the paper's."""

from __future__ import annotations

import pandas as pd

from analysis import paper_claims, references
from analysis.cells import metric_table
from analysis.columns import Column
from analysis.pairing import Paired
from analysis.layouts.registry import register_layout
from analysis.layouts.shared import FESR_DATA_NOTE, require_columns
from analysis.tables import Table


@register_layout("fesgan_ablation", "FESR Tables III-IV: synthesis quality of FG and its variants")
def fesgan_ablation(runs: pd.DataFrame) -> list[Table]:
    require_columns(runs, ["param.variant"], "fesgan_ablation")
    group_by = ["param.variant"]
    refs = {}
    for key in runs[group_by].astype(str).drop_duplicates().itertuples(index=False, name=None):
        refs[key] = [r for r in references.select(paper="fesr", dataset="CK+", row=key[0])
                     if r.source in ("Table III", "Table IV")]
    table = metric_table(
        runs, name="fesgan_ablation",
        title="FESGAN variants (their Fig. 4, Tables III-IV): synthesis quality on the held-out fold "
              "(PSNR in dB, FID raw; SSIM, agreement and verification rate ×100)",
        group_by=group_by,
        columns=[Column("PSNR (same subject, target expression)", "synthesis/psnr", "psnr", scale=1.0),
                 Column("SSIM", "synthesis/ssim", "ssim", rate=False),
                 Column("FID (FER-classifier features)", "synthesis/fid_fer", scale=1.0),
                 Column("judged as intended expression", "synthesis/agreement"),
                 Column("identity verification rate", "synthesis/verification_rate", "verification_rate")],
        references=refs)
    table.footnotes.append(
        "PSNR/SSIM: each held-out image decoded with the expression of another held-out image of the same "
        "subject (full intensity) against that real image, as their Table III. Verification: each held-out "
        "image paired with a face decoded from its own code and one from another subject's code, per "
        "expression; accuracy at the best cosine threshold on our identity extractor (trained on the training "
        "subjects; theirs is Light CNN-29). FID and agreement: faces from the prior z with the training labels' "
        "expressions against the real training images, on the real-data judge's features. " + FESR_DATA_NOTE)
    tables = [table]
    if (runs["param.variant"].astype(str) == "FG").any() and "synthesis/verification_rate" in runs:
        tables.append(metric_table(
            runs, name="fesgan_ablation_identity",
            title="FESGAN variants against FG (their Table IV): identity verification rate, paired over folds (%)",
            group_by=group_by, columns=[Column("identity verification rate", "synthesis/verification_rate")],
            paired=Paired(arm="param.variant", control="FG"), claims=paper_claims.claims(paper="fesr",
                                                                                       source="Table IV")))
    return tables

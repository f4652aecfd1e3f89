"""The cycle_gamma_search study (Optuna + ASHA over the weighted cycle loss) reports its
finished trials in cycle_gamma's tables."""

from analysis.layouts.cycle_gamma import cycle_gamma
from analysis.layouts.registry import register_layout

register_layout("cycle_gamma_search", "the cycle_gamma tables for the Optuna + ASHA search's finished "
                                      "trials")(cycle_gamma)

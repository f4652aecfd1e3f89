"""Fused trials: K trials of one trainable whose nets have the same shapes (seeds × folds
of one variant; a classifier's learning rates, FESR's loss weights) trained in one process
as one model of fused layers (trainables.nets.fused_layers)."""

"""Fused trials: K trials of one trainable whose nets have the same shapes (seeds × folds
of one variant) trained in one process as one stacked model (trainables.nets.stack)."""

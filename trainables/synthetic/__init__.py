"""Synthetic sets and where their identities come from: the generated faces a trial trains on, built from the GANs below."""

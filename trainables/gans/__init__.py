"""The GAN machinery the trials build on: losses, training loops, variants, identity sources and synthetic sets."""

"""Each trainable's trial config: its frozen dataclasses, the names its keys may take, and
its parser, importable without torch. The driver checks every trial config and reads a
trainable's defaults (study.spec.check_recipe) from here, so a dry run or a refused launch answers
without importing torch; the trials and the code below them import the same classes."""

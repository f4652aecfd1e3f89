"""The optimisers and learning-rate schedules of the fit loop (trainables.core.fit), by the
names a trial config gives them."""

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
# torch's Adam defaults, which every config trained with before β became a key: the default
# keeps their results. (Zhu et al. train their classifier with β1 = 0.5.)
ADAM_BETAS = (0.9, 0.999)

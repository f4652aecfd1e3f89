"""The trainables a study can name: name -> (training function, config validator).

The validator runs in the driver before any trial starts (study.launch, study.dry_run),
so a bad config fails there, not in a worker; the training function runs in the trial."""

from typing import Callable

from trainables.core.reporting import Reporter
from trainables.trials import (classifier, classifier_fused, cyclegan, dcgan_svm, fesr, fesr_fused, synthetic_ratio,
                               toy)

TrainFn = Callable[[dict, Reporter], dict]
ParseFn = Callable[[dict], object]

TRAINABLES: dict[str, tuple[TrainFn, ParseFn]] = {
    "classifier": (classifier.train_classifier, classifier.parse_trial),
    "cyclegan": (cyclegan.train_cyclegan_trial, cyclegan.parse_config),
    "cyclegan_toy": (toy.train_toy, toy.parse_toy_config),
    "fesr": (fesr.train_fesr, fesr.parse_config),
    "dcgan_svm": (dcgan_svm.train_dcgan_svm, dcgan_svm.parse_config),
    "synthetic_ratio": (synthetic_ratio.train_synthetic_ratio, synthetic_ratio.parse_config),
}

# Trainables whose trials fuse (a scale's `fuse`): name -> (the K members' training
# function, their configs' validator). trainables.core.members says how members report.
FusedFn = Callable[[list[dict], object], None]
FUSED: dict[str, tuple[FusedFn, Callable[[list[dict]], object]]] = {
    "classifier": (classifier_fused.train_classifiers, classifier_fused.parse_members),
    "fesr": (fesr_fused.train_fesr_members, fesr_fused.parse_members),
}


class UnknownTrainable(KeyError):
    """A trainable name that is not registered; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def list_trainables() -> list[str]:
    return sorted(TRAINABLES)


def get_trainable(name: str) -> tuple[TrainFn, ParseFn]:
    """(training function, config validator) of the trainable `name`."""
    try:
        return TRAINABLES[name]
    except KeyError:
        raise UnknownTrainable(f"unknown trainable {name!r}; known: {', '.join(list_trainables())}") from None


def get_fused(name: str) -> tuple[FusedFn, Callable[[list[dict]], object]]:
    """(the members' training function, their validator) of trainable `name`."""
    try:
        return FUSED[name]
    except KeyError:
        raise UnknownTrainable(f"trainable {name!r} has no fused trials; those that do: {', '.join(sorted(FUSED))}"
                               ) from None

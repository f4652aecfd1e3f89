"""The trainables a study can name: name -> (training function, config validator).

The validator runs in the driver before any trial starts (study.launch, study.dry_run),
so a bad config fails there, not in a worker; the training function runs in the trial.
Validators live in trainables.configs and import without torch; a training function is
named as "module:function" and imported only when it is asked for (`get_trainable`), so
the driver checks a study without paying for torch."""

import importlib
from typing import Callable

from trainables.configs import classifier, cyclegan, dcgan_svm, fesr, synthetic_ratio, toy

TrainFn = Callable[[dict, object], dict]  # (config, trainables.core.reporting.Reporter) -> metrics
ParseFn = Callable[[dict], object]

TRAINABLES: dict[str, tuple[str, ParseFn]] = {
    "classifier": ("trainables.trials.classifier:train_classifier", classifier.parse_trial),
    "cyclegan": ("trainables.trials.cyclegan:train_cyclegan_trial", cyclegan.parse_config),
    "cyclegan_toy": ("trainables.trials.toy:train_toy", toy.parse_toy_config),
    "fesr": ("trainables.trials.fesr:train_fesr", fesr.parse_config),
    "dcgan_svm": ("trainables.trials.dcgan_svm:train_dcgan_svm", dcgan_svm.parse_config),
    "synthetic_ratio": ("trainables.trials.synthetic_ratio:train_synthetic_ratio", synthetic_ratio.parse_config),
}

# Trainables whose trials fuse (a scale's `fuse`): name -> (the K members' training
# function, their configs' validator, the config keys in which members may differ).
# trainables.core.members says how members report.
FusedFn = Callable[[list[dict], object], None]
MEMBER_AXES = ("seed", "fold")
FUSED: dict[str, tuple[str, Callable[[list[dict]], object], tuple[str, ...]]] = {
    # per-member learning rates (trainables.fused.member_optim) and loss weights (trainables.fused.fesr)
    "classifier": ("trainables.trials.classifier_fused:train_classifiers", classifier.parse_members,
                   (*MEMBER_AXES, "lr")),
    "fesr": ("trainables.trials.fesr_fused:train_fesr_members", fesr.parse_members, (*MEMBER_AXES, *fesr.LAMBDA_KEYS)),
}


class UnknownTrainable(KeyError):
    """A trainable name that is not registered; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def list_trainables() -> list[str]:
    return sorted(TRAINABLES)


def _imported(target: str) -> Callable:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def get_validator(name: str) -> ParseFn:
    """The config validator of the trainable `name`, without importing its training code."""
    try:
        return TRAINABLES[name][1]
    except KeyError:
        raise UnknownTrainable(f"unknown trainable {name!r}; known: {', '.join(list_trainables())}") from None


def get_trainable(name: str) -> tuple[TrainFn, ParseFn]:
    """(training function, config validator) of the trainable `name`; imports the training
    code (torch)."""
    parse = get_validator(name)
    return _imported(TRAINABLES[name][0]), parse


def get_fused_validator(name: str) -> Callable[[list[dict]], object]:
    """The fused members' validator of trainable `name`, without importing its training code."""
    try:
        return FUSED[name][1]
    except KeyError:
        raise UnknownTrainable(f"trainable {name!r} has no fused trials; those that do: {', '.join(sorted(FUSED))}"
                               ) from None


def member_axes(name: str) -> tuple[str, ...]:
    """The config keys in which fused members of trainable `name` may differ."""
    return FUSED[name][2] if name in FUSED else MEMBER_AXES


def get_fused(name: str) -> tuple[FusedFn, Callable[[list[dict]], object]]:
    """(the members' training function, their validator) of trainable `name`."""
    parse = get_fused_validator(name)
    return _imported(FUSED[name][0]), parse

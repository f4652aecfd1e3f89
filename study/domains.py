"""A Tune search domain written as the call that defines it (`choice(['lsgan', 'wgan-gp'])`,
`loguniform(1e-05, 0.001)`, `qrandint(1, 9, 2)`), so a dry run shows what Optuna will search
and prints the same text every time (Ray's own `str` of a domain is an object address)."""

from __future__ import annotations

import sys

_FLOAT = {"Uniform": "uniform", "LogUniform": "loguniform"}
_INTEGER = {"Uniform": "randint", "LogUniform": "lograndint"}


def describe(domain) -> str:
    """The `ray.tune` call that makes `domain` (a ray.tune Domain), with its arguments.
    Ray is imported here, not with the module: a launch refuses a typo before Ray loads."""
    from ray.tune.search.sample import Categorical, Float, Function, Integer, LogUniform, Normal, Quantized

    sampler = domain.get_sampler()
    q = None
    if isinstance(sampler, Quantized):
        q, sampler = sampler.q, sampler.sampler
    prefix = "q" if q is not None else ""
    suffix = f", {q!r}" if q is not None else ""
    if isinstance(domain, Categorical):
        return f"choice({domain.categories!r})"
    if isinstance(domain, Float) and isinstance(sampler, Normal):
        return f"{prefix}randn({sampler.mean!r}, {sampler.sd!r}{suffix})"
    kind = "LogUniform" if isinstance(sampler, LogUniform) else "Uniform"
    if isinstance(domain, Float):
        return f"{prefix}{_FLOAT[kind]}({domain.lower!r}, {domain.upper!r}{suffix})"
    if isinstance(domain, Integer):
        return f"{prefix}{_INTEGER[kind]}({domain.lower!r}, {domain.upper!r}{suffix})"
    if isinstance(domain, Function):
        func = domain.func
        return f"sample_from({getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(func).__name__)})"
    # a domain class this module does not know: its type and range, never its address
    return f"{type(domain).__name__}{domain.domain_str}"


def described(value):
    """`value` with every search domain in it (nested in dicts and lists) replaced by its
    description; anything else unchanged."""
    if is_domain(value):
        return describe(value)
    if isinstance(value, dict):
        return {k: described(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(described(v) for v in value)
    return value


def is_domain(value) -> bool:
    """Whether `value` is a Tune search domain, without importing Ray: no domain exists
    before ray.tune's sampling module is loaded (a study that searches imports it)."""
    sample = sys.modules.get("ray.tune.search.sample")
    return sample is not None and isinstance(value, sample.Domain)

"""A paper's training recipe as data: what the paper states for the nets it trains
(batch, optimiser and betas, schedule, learning rates, steps, GAN batch, critic steps,
image size, ...), each value with the section it comes from, or "not stated". One
`Recipe` per paper (study/recipes.py), shared by the studies built from it; a study's
`paper` scale equals its recipe or declares each difference in its `deviations`
(study.spec.undeclared_deviations), and every other scale is compared with `paper`.

A recipe field is named once; `Recipe.keys` maps it to each trainable's config key, or to
`InCode` where the trainable fixes it in code (a net's input size, a GAN's Adam betas)."""

from dataclasses import dataclass, field, replace

from study.domains import describe


class _NotStated:
    def __repr__(self) -> str:
        return "not stated"


NOT_STATED = _NotStated()


@dataclass(frozen=True)
class RecipeValue:
    """A value the paper states and where (`source`: author, section, the words), or
    NOT_STATED with `ours`: which value we use and why (free, since the paper is silent)."""

    value: object
    source: str
    ours: str = ""

    def __post_init__(self):
        if not self.source.strip():
            raise ValueError("a recipe value names the paper section it comes from, or says 'not stated'")
        if self.value is NOT_STATED and not self.ours.strip():
            raise ValueError("a value the paper does not state says which value we use and why (`ours`)")

    @property
    def stated(self) -> bool:
        return self.value is not NOT_STATED


def not_stated(ours: str) -> RecipeValue:
    """A recipe field the paper leaves open; `ours` says which value we use and why."""
    return RecipeValue(NOT_STATED, "not stated", ours)


@dataclass(frozen=True)
class InCode:
    """A recipe field a trainable fixes in its code, not in a config key: the value the
    code uses and where. Compared with the paper's like a config value; a difference is
    declared under the recipe field's name."""

    value: object
    where: str


@dataclass(frozen=True)
class Recipe:
    """What one paper states for the nets it trains. `values`: {field: RecipeValue};
    `keys`: {trainable: {field: config key | InCode}}, the fields that trainable trains
    (a field left out is not part of what it trains); `cells`: the grid values the recipe
    is the paper's for (baseline's `net="zhu_cnn"`), empty for every cell."""

    paper: str
    values: dict[str, RecipeValue]
    keys: dict[str, dict[str, str | InCode]]
    cells: dict = field(default_factory=dict)

    def __post_init__(self):
        for trainable, keys in self.keys.items():
            unknown = sorted(set(keys) - set(self.values))
            if unknown:
                raise ValueError(f"recipe {self.paper!r} maps fields {unknown} for {trainable!r} that it does not "
                                 f"declare; declared: {sorted(self.values)}")

    def for_cells(self, **cells) -> "Recipe":
        """The recipe of the cells with these grid values only (a study that trains several
        papers' nets on one grid axis)."""
        return replace(self, cells=cells)


@dataclass(frozen=True)
class RecipeLine:
    """One recipe field as a study trains it: the config key (or the field, where the code
    fixes it), the paper's value and source, and the paper scale's value."""

    key: str
    name: str  # the recipe's field
    paper: RecipeValue
    ours: object  # the value; a grid axis's values; a searched key's domain, described
    in_code: str | None = None
    covers: bool | None = None  # a grid axis or searched key: whether it takes the paper's value

    @property
    def differs(self) -> bool:
        if not self.paper.stated:
            return False
        return not self.covers if self.covers is not None else not _agrees(self.paper.value, self.ours)


def recipe_lines(recipe: Recipe, trainable: str, config: dict, grid: dict, searched: dict) -> list[RecipeLine]:
    """Each field `trainable` trains, beside `config` (the paper scale's resolved trial
    config, every key at the value the trainable reads). A key that is a grid axis or a
    searched key is compared through the values it takes: the recipe's value must be one
    of them (the ablation or search includes the paper's setting)."""
    if trainable not in recipe.keys:
        raise ValueError(f"recipe {recipe.paper!r} does not say how trainable {trainable!r} takes it; "
                         f"it maps: {sorted(recipe.keys)}")
    lines = []
    for name, key in recipe.keys[trainable].items():
        paper = recipe.values[name]
        if isinstance(key, InCode):
            lines.append(RecipeLine(name, name, paper, key.value, key.where))
        elif key in searched:
            lines.append(RecipeLine(key, name, paper, describe(searched[key]),
                                    covers=_covers(searched[key], paper.value)))
        elif key in grid:
            lines.append(RecipeLine(key, name, paper, list(grid[key]),
                                    covers=any(_agrees(paper.value, v) for v in grid[key])))
        else:
            if key not in config:
                raise ValueError(f"recipe {recipe.paper!r} maps field {name!r} to {key!r}, which is not a config key "
                                 f"of trainable {trainable!r}")
            lines.append(RecipeLine(key, name, paper, config[key]))
    return lines


def _covers(domain, value) -> bool:
    """Whether a searched domain (a Tune domain) can take `value`."""
    categories = getattr(domain, "categories", None)
    if categories is not None:
        return any(_agrees(value, c) for c in categories)
    lower, upper = getattr(domain, "lower", None), getattr(domain, "upper", None)
    return _number(value) and lower is not None and upper is not None and lower <= value <= upper


def _agrees(paper, ours) -> bool:
    if _number(paper) and _number(ours):
        return abs(paper - ours) <= 1e-12 * max(1.0, abs(paper))
    if isinstance(paper, (tuple, list)) and isinstance(ours, (tuple, list)):
        return len(paper) == len(ours) and all(_agrees(a, b) for a, b in zip(paper, ours))
    return paper == ours


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

"""study.fusing on cases worked by hand: which launches may fuse, how a grid's cells group
into fused trials, and how a fused trial's config splits back into its members'. Written
to kill the survivors of mutation testing ([tool.mutmut] in pyproject.toml); the expected
groupings are written out here, not computed by the code."""

from types import SimpleNamespace

import pytest

from study.fusing import MEMBERS_KEY, check_fusable, fused_cells, member_configs
from study.spec import StudyError


def study(search="grid", early_stopping=False):
    return SimpleNamespace(name="s", search=search, early_stopping=early_stopping)


def test_a_fuse_below_one_is_refused_naming_what_was_given():
    for fuse in (0, -3):
        with pytest.raises(StudyError) as raised:
            check_fusable(study(), fuse)
        assert str(raised.value) == f"--fuse must be 1 or more (trials per fused group), got {fuse}"


def test_fuse_one_is_accepted_for_any_study_and_larger_only_for_a_plain_grid():
    check_fusable(study(search="optuna", early_stopping=True), 1)
    check_fusable(study(), 2)
    check_fusable(study(), 5)
    with pytest.raises(StudyError) as optuna:
        check_fusable(study(search="optuna"), 2)
    assert str(optuna.value) == ("study 's' searches with Optuna: its trials are decided one at a time and "
                                 "cannot be grouped; launch it with --fuse 1")
    with pytest.raises(StudyError) as asha:
        check_fusable(study(early_stopping=True), 2)
    assert str(asha.value) == ("study 's' stops early: its trials are decided one at a time and "
                               "cannot be grouped; launch it with --fuse 1")


def test_cells_alike_but_for_seed_and_fold_group_in_order_and_in_chunks():
    cells = [{"arm": "a", "lr": 0.1, "seed": 0, "fold": 0},
             {"arm": "b", "lr": 0.1, "seed": 0, "fold": 0},
             {"arm": "a", "lr": 0.1, "seed": 0, "fold": 1},
             {"arm": "a", "lr": 0.1, "seed": 1, "fold": 0},
             {"arm": "b", "lr": 0.1, "seed": 1, "fold": 1},
             {"arm": "a", "lr": 0.2, "seed": 0, "fold": 0}]
    assert fused_cells(cells, 2) == [
        {"arm": "a", "lr": 0.1, MEMBERS_KEY: [{"seed": 0, "fold": 0}, {"seed": 0, "fold": 1}]},
        {"arm": "a", "lr": 0.1, MEMBERS_KEY: [{"seed": 1, "fold": 0}]},
        {"arm": "b", "lr": 0.1, MEMBERS_KEY: [{"seed": 0, "fold": 0}, {"seed": 1, "fold": 1}]},
        {"arm": "a", "lr": 0.2, MEMBERS_KEY: [{"seed": 0, "fold": 0}]},
    ]
    assert fused_cells(cells, 1) == [{**{k: v for k, v in c.items() if k not in ("seed", "fold")},
                                      MEMBERS_KEY: [{k: c[k] for k in ("seed", "fold")}]}
                                     for c in (cells[0], cells[2], cells[3], cells[1], cells[4], cells[5])]


def test_the_member_axes_are_the_trainables():
    """The classifier's members may differ in learning rate (trainables.fused.member_optim);
    FESR's, in seed and fold only."""
    from trainables.trials.registry import member_axes

    cells = [{"arm": "a", "lr": lr, "seed": seed} for lr in (0.1, 0.2) for seed in (0, 1)]
    assert fused_cells(cells, 4, member_axes("classifier")) == [
        {"arm": "a", MEMBERS_KEY: [{"seed": 0, "lr": 0.1}, {"seed": 1, "lr": 0.1}, {"seed": 0, "lr": 0.2},
                                   {"seed": 1, "lr": 0.2}]}]
    assert fused_cells(cells, 4, member_axes("fesr")) == fused_cells(cells, 4) == [
        {"arm": "a", "lr": 0.1, MEMBERS_KEY: [{"seed": 0}, {"seed": 1}]},
        {"arm": "a", "lr": 0.2, MEMBERS_KEY: [{"seed": 0}, {"seed": 1}]}]


def test_a_member_keeps_only_the_axes_its_cell_has_and_unhashable_values_group_by_value():
    cells = [{"layers": [1, 2], "seed": 0}, {"layers": [1, 2], "seed": 1}, {"layers": [3], "seed": 0}]
    assert fused_cells(cells, 3) == [{"layers": [1, 2], MEMBERS_KEY: [{"seed": 0}, {"seed": 1}]},
                                     {"layers": [3], MEMBERS_KEY: [{"seed": 0}]}]
    assert fused_cells([{"arm": "a", "fold": 2}, {"arm": "a", "fold": 3}], 2) == [
        {"arm": "a", MEMBERS_KEY: [{"fold": 2}, {"fold": 3}]}]


def test_member_configs_are_the_shared_config_with_each_members_axes():
    config = {"arm": "a", "seed": 9, "_ferlab_x": 1, MEMBERS_KEY: [{"seed": 0, "fold": 1}, {"seed": 2, "fold": 3}]}
    assert member_configs(config) == [{"arm": "a", "seed": 0, "_ferlab_x": 1, "fold": 1},
                                      {"arm": "a", "seed": 2, "_ferlab_x": 1, "fold": 3}]
    assert MEMBERS_KEY in config  # the fused config itself is left as it was

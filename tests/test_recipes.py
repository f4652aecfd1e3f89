"""The papers' recipes as data (study/recipes.py): every study names the recipes of the
papers it is built from, its `paper` scale equals each or declares every difference
(and through the paper scale, every scale is held to it), every value names the section
it comes from or says "not stated", and a dry run shows the recipe and its deviations."""

import dataclasses
import inspect
import json
import re

import pytest
import torch

from search_spaces.fesr_ablation import lr_set_by_hand
from study import launch
from study.recipe import NOT_STATED, InCode, Recipe, RecipeValue, not_stated
from study.recipes import ALHARBAWEE, BIRENBAUM, FESR, PICHA, RECIPES, ZHU
from study.spec import Scale, StudySpec, list_studies, load_study, undeclared_deviations
from trainables.gans import contract
from trainables.gans.cyclegan import bundle_of
from trainables.nets import net_spec
from trainables.trials.classifier import fit_options
from trainables.trials.cyclegan import parse_config

STUDIES = list_studies()
# which paper each study is built from (classical_augmentation and baseline train the three papers' CNNs)
PAPERS = {
    "baseline": {ZHU.paper, BIRENBAUM.paper, PICHA.paper},
    "classical_augmentation": {ZHU.paper, BIRENBAUM.paper, PICHA.paper},
    "cyclegan_augmentation": {ZHU.paper}, "cyclegan_toy": {ZHU.paper},
    "cycle_gamma": {BIRENBAUM.paper}, "cycle_gamma_search": {BIRENBAUM.paper},
    "fesr_ablation": {FESR.paper}, "fesgan_ablation": {FESR.paper}, "loss_weights": {FESR.paper},
    "synthetic_ratio": {PICHA.paper}, "dcgan_svm": {ALHARBAWEE.paper},
}


def test_every_study_is_listed_here():
    assert set(PAPERS) == set(STUDIES)


@pytest.mark.parametrize("name", STUDIES)
def test_the_paper_scale_is_the_recipe_or_declares_each_difference(name):
    study = load_study(name)
    assert {recipe.paper for recipe in study.recipes} == PAPERS[name]
    assert all(any(recipe.values is shared.values for shared in RECIPES) for recipe in study.recipes)  # one per paper
    assert undeclared_deviations(study, "paper") == []
    differing = {line.key for _, lines in study.recipe() for line in lines if line.differs}
    assert differing == set(study.scales["paper"].deviations)  # every difference declared, nothing else


def _with_paper(study: StudySpec, config=None, deviations=None) -> StudySpec:
    """The study with its paper scale changed, checked against the recipe. A smaller scale's
    declaration of a key the change makes equal to the paper scale's is dropped (it would be
    stale), so what fails is the paper scale against its recipe."""
    config = config or {}
    paper = study.scales["paper"]
    paper = dataclasses.replace(paper, config={**paper.config, **config},
                                deviations=paper.deviations if deviations is None else deviations)
    scales = {"paper": paper}
    for name, scale in study.scales.items():
        if name != "paper":
            ours = {**study.base_config, **scale.config}
            kept = {k: why for k, why in scale.deviations.items() if not (k in config and ours.get(k) == config[k])}
            scales[name] = dataclasses.replace(scale, deviations=kept)
    changed = dataclasses.replace(study, scales=scales)
    changed.check_recipe()
    return changed


def test_zhus_batch_left_at_64_undeclared_does_not_load():
    # Zhu et al. Appendix A: batch 32, a constant 1e-3, Adam β1 = 0.5; the CycleGAN at batch 1
    study = load_study("cyclegan_augmentation")
    with pytest.raises(ValueError, match="scale 'paper' differs from its paper's recipe") as err:
        _with_paper(study, config={"batch_size": 64})
    assert "batch_size=64 (recipe: 32, Zhu et al. Appendix A, 'CNN Model': 'batch-size = 32')" in str(err.value)
    for key, value, paper in [("schedule", "onecycle", "'constant'"), ("beta1", 0.9, "0.5")]:
        with pytest.raises(ValueError, match=re.escape(f"{key}={value!r} (recipe: {paper}")):
            _with_paper(study, config={key: value})
    undeclared = {k: v for k, v in study.scales["paper"].deviations.items() if k != "gan_batch_size"}
    with pytest.raises(ValueError, match=re.escape("gan_batch_size=16 (recipe: 1, Zhu et al. Appendix A")):
        _with_paper(study, deviations=undeclared)
    # declared where it does not differ, a reason is stale
    with pytest.raises(ValueError, match=r"deviations declared for \['lr'\].*paper's recipe"):
        _with_paper(study, deviations={**study.scales["paper"].deviations, "lr": "stale"})


def _toy(recipe, paper=None, **base):
    scales = {s: Scale(config={"epochs": 2, "steps": 20}) for s in ("smoke", "cpu")}
    scales["paper"] = paper or Scale(config={"epochs": 2, "steps": 20})
    study = StudySpec(name="toy", description="", trainable="classifier", base_config={"net": "zhu_cnn", **base},
                      grid={"seed": [0]}, variant_keys=(), scales=scales, recipes=(recipe,))
    study.check_recipe()
    return study


def test_the_trainables_defaults_count_and_a_grid_axis_must_hold_the_papers_value():
    recipe = Recipe("P", {"beta1": RecipeValue(0.5, "P §1"), "net": RecipeValue("zhu_cnn", "P §2")},
                    {"classifier": {"beta1": "beta1", "net": "net"}})
    with pytest.raises(ValueError, match=re.escape("beta1=0.9 (recipe: 0.5, P §1)")):  # unset: the trainable's 0.9
        _toy(recipe)
    _toy(recipe, beta1=0.5)
    _toy(recipe, paper=Scale(config={"epochs": 2, "steps": 20}, deviations={"beta1": "why"}))  # declared, it loads
    grid = Scale(config={"epochs": 2, "steps": 20}, grid={"net": ["simple", "picha_cnn"]})
    with pytest.raises(ValueError, match=re.escape("net=['simple', 'picha_cnn'] (recipe: 'zhu_cnn'")):
        _toy(recipe, paper=grid, beta1=0.5)
    # a value fixed in code is compared too, under the field's name
    coded = Recipe("P", {"size": RecipeValue(64, "P Table 1")}, {"classifier": {"size": InCode(48, "the net")}})
    with pytest.raises(ValueError, match=re.escape("size=48 (recipe: 64, P Table 1)")):
        _toy(coded)
    # a field mapped to a key the trainable does not have is a mistake in the recipe
    wrong = Recipe("P", {"size": RecipeValue(64, "P Table 1")}, {"classifier": {"size": "image_size"}})
    with pytest.raises(ValueError, match="'image_size', which is not a config key"):
        _toy(wrong)


RECIPE_FIELDS = [(recipe.paper, name) for recipe in RECIPES for name in recipe.values]


@pytest.mark.parametrize("paper,field", RECIPE_FIELDS)
def test_every_recipe_value_names_its_source_or_says_not_stated(paper, field):
    value = next(r for r in RECIPES if r.paper == paper).values[field]
    if value.stated:
        # the paper's author and the section, table, slide or algorithm
        assert re.search(r"(§|Sec\.|Table|Appendix|slide|Algorithm)", value.source), value.source
        assert value.source.startswith(paper.split()[0]), value.source
    else:
        assert value.value is NOT_STATED and value.source == "not stated"
        assert value.ours.strip(), "a value the paper does not state says which we use"


def test_a_recipe_value_without_a_source_or_an_unstated_one_without_ours_is_refused():
    with pytest.raises(ValueError, match="section"):
        RecipeValue(32, " ")
    with pytest.raises(ValueError, match="which value we use"):
        not_stated("")
    with pytest.raises(ValueError, match="does not declare"):
        Recipe("P", {}, {"classifier": {"batch": "batch_size"}})


def test_the_values_fixed_in_code_are_the_codes():
    assert inspect.signature(contract.adam).parameters["betas"].default == (0.5, 0.999)  # FESGAN's, every net
    nets = {name: torch.nn.Linear(2, 2) for name in ("generator_rt", "generator_tr", "disc_r", "disc_t")}
    assert bundle_of(nets, "lsgan", 2e-4, 1e-4).optims["g"].defaults["betas"] == (0.5, 0.999)  # Zhu's CycleGAN
    # the papers' classifiers take the input size their recipes state (Zhu Table 3, Birenbaum, Picha Table 1)
    for net, recipe in (("zhu_cnn", ZHU), ("simple", BIRENBAUM), ("picha_cnn", PICHA)):
        assert net_spec(net).input_size == recipe.keys["classifier"]["image_size"].value == recipe.values[
            "image_size"].value
    # the paper scale's classifier trains at Zhu et al.'s batch, β1 and constant rate
    study = load_study("cyclegan_augmentation")
    opts = fit_options(parse_config(study.scale_config("paper")).classifier)
    assert (opts.batch_size, opts.betas, opts.schedule, opts.lr) == (32, (0.5, 0.999), "constant", 1e-3)


def test_a_smaller_scale_inherits_the_paper_scales_recipe_deviations_and_adds_its_own():
    study = load_study("cyclegan_augmentation")
    smoke = study.deviations("smoke")
    assert smoke["gan_batch_size"] == study.scales["paper"].deviations["gan_batch_size"]
    assert smoke["batch_size"].startswith("64, not Zhu et al.'s 32") and "class_fraction" in smoke


def test_the_dry_run_prints_the_recipe_and_its_deviations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert launch.main(["cyclegan_augmentation", "--scale", "paper", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "Recipe of Zhu et al. 2017 beside the paper scale" in text
    assert "  batch_size: 32 (Zhu et al. Appendix A, 'CNN Model': 'batch-size = 32'); paper scale: 32\n" in text
    assert re.search(r"  gan_batch_size: 1 \(.*\); paper scale: 16  ≠", text)
    assert "  beta2: (not stated — ours: 0.999" in text
    deviations = text.split("Deviations from the paper's recipe:\n")[1].splitlines()
    assert any(line.startswith("  gan_batch_size: 16, not Zhu et al.'s 1 (Appendix A)") for line in deviations)


@pytest.mark.parametrize("name", STUDIES)
def test_the_paper_scales_dry_run_lists_every_difference_from_the_recipe_as_a_deviation(
        name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert launch.main([name, "--scale", "paper", "--dry-run", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {r["paper"] for r in found["recipe"]} == PAPERS[name]
    differing = {f["key"] for r in found["recipe"] for f in r["fields"] if f["differs"]}
    # every recipe difference is a deviation; the rest are the study's protocol deviations
    assert differing == set(found["deviations"]) - set(load_study(name).protocol_deviations)


FESR_STUDIES = ("fesr_ablation", "fesgan_ablation", "loss_weights")


@pytest.mark.parametrize("name,scale", [(n, s) for n in FESR_STUDIES for s in ("smoke", "cpu")])
def test_a_small_fesr_scales_lr_reason_is_about_that_scale(name, scale):
    """The 3e-4 reason names the scale's own widths and iterations, and says it was set
    by hand, not measured: one reason copied across scales was false on most of them."""
    study = load_study(name)
    config = study.scale_config(scale)
    reason = study.deviations(scale)["lr"]
    assert config["lr"] == 3e-4 and "set by hand" in reason and "not measured" in reason
    widths = {f"1/{round(1 / config[k])}-width" for k in ("gan_width", "r_width") if k in config}
    assert all(w in reason for w in widths), (widths, reason)
    iterations = [config[k] for k in ("pretrain_iters", "joint_iters") if config.get(k)]
    if study.name == "fesgan_ablation":
        iterations = [config["pretrain_iters"]]  # FESGAN alone: stage 1 only
    assert " + ".join(f"{i:,}" for i in iterations) + " iterations" in reason, reason
    assert reason == lr_set_by_hand(*re.match(r"3e-4, .*: set by hand for (.*) trained (.*), on the", reason).groups())

"""The synthetic-set cache: a second CycleGAN-arm trial with the cache vs without it."""

import os
import tempfile
import time

from bench.rows import Row


CYCLEGAN_TRIAL = {"arm": "+disgust", "dataset_options": {"n_images": 420, "n_subjects": 24}, "net": "zhu_cnn",
                  "width": 0.25, "epochs": 2, "batch_size": 32, "n_folds": 4, "gan_epochs": 2, "gan_width": 0.125,
                  "gan_blocks": 1, "gan_batch_size": 8, "judge_width": 0.125, "judge_epochs": 2, "threads": 1}


def _cyclegan_trial(config: dict, cache_dir: str) -> tuple[float, bool]:
    """(seconds, whether its synthetic set came from the cache) for one CycleGAN-arm trial."""
    from trainables.trials.cyclegan import train_cyclegan_trial
    from trainables.core.reporting import InProcessReporter

    previous = os.environ.get("FERLAB_CACHE_DIR")
    os.environ["FERLAB_CACHE_DIR"] = cache_dir
    try:
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            final = train_cyclegan_trial(config, InProcessReporter(workdir))
            return time.perf_counter() - start, final["synth/disgust/from_cache"] == 1.0
    finally:
        if previous is None:
            os.environ.pop("FERLAB_CACHE_DIR")
        else:
            os.environ["FERLAB_CACHE_DIR"] = previous


def bench_synthetic_cache(quick: bool, config: dict | None = None) -> Row:
    """Two trials of a CycleGAN study that need the same synthetic set (the +disgust arm
    under two classifier widths): with the study's shared cache, the second loads the GAN
    and the set; without it (a fresh cache), it trains and generates again. Counts the
    generations and times the second trial both ways; goal: one generation per set."""
    figure, goal = "synthetic cache: 2nd trial needing the same CycleGAN set, cached vs not", "1 generation per set"
    config = config or {**CYCLEGAN_TRIAL, **({} if quick else {"gan_epochs": 6, "epochs": 4})}
    second = {**config, "width": config["width"] * 2}
    with tempfile.TemporaryDirectory() as shared, tempfile.TemporaryDirectory() as fresh:
        _, first_hit = _cyclegan_trial(config, shared)
        with_cache_s, second_hit = _cyclegan_trial(second, shared)
        without_cache_s, fresh_hit = _cyclegan_trial(second, fresh)
    generations = [not first_hit, not second_hit]
    ratio = without_cache_s / with_cache_s
    return Row(figure=figure, ours=f"{with_cache_s:.1f} s, {sum(generations)} generation(s) for 2 trials",
               comparison=f"{without_cache_s:.1f} s, {int(not first_hit) + int(not fresh_hit)} without it", ratio=ratio,
               goal=goal, passed=sum(generations) == 1,
               note="ratio: the 2nd trial's time without / with the cache (GAN training and generation skipped)",
               measured={"with_cache_s": with_cache_s, "without_cache_s": without_cache_s,
                         "generations_with_cache": sum(generations), "fresh_generated": not fresh_hit})

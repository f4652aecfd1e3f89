"""Training benchmarks: two trainings at once vs one, and the input pipeline's feed vs
training speed (the platform's overhead: bench.overhead)."""

import multiprocessing
import os
import tempfile
import time

from bench.rows import Row, not_measured


def _training_config(quick: bool) -> dict:
    return {"dataset": "synthfaces", "dataset_options": {"n_images": 360 if quick else 1200, "n_subjects": 24},
            "net": "zhu_cnn", "width": 0.25, "epochs": 2 if quick else 4, "batch_size": 32, "n_folds": 4,
            "augment": "classical", "threads": 1}


def train_once(config: dict, cache_dir: str) -> float:
    """One classifier training in this process, on one thread (a trial's CPU share of 1)."""
    os.environ["FERLAB_CACHE_DIR"] = cache_dir
    from trainables.trials.classifier import train_classifier
    from trainables.core.reporting import InProcessReporter

    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        train_classifier(config, InProcessReporter(workdir))
        return time.perf_counter() - start


def _trainings_at_once(n: int, config: dict, cache_dir: str, train=train_once) -> float:
    """Wall seconds for n trainings in n fresh processes at once."""
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with context.Pool(n) as pool:
        pool.starmap(train, [(config, cache_dir)] * n)
    return time.perf_counter() - start


def bench_concurrency(quick: bool, config: dict | None = None, train=train_once) -> Row:
    """Throughput of 2 one-thread trainings at once on 2 cores vs 1 alone; goal ≥ 1.8×.
    `train(config, cache_dir)` is one training (a test plants one of known cost)."""
    figure, goal = "concurrency: 2 trials at once vs 1 (trainings/s)", "≥ 1.8×"
    if (os.cpu_count() or 1) < 2:
        return not_measured(figure, goal, "fewer than 2 CPUs")
    config = config or _training_config(quick)
    with tempfile.TemporaryDirectory() as cache:
        _trainings_at_once(1, {**config, "epochs": 1}, cache, train)  # warm the parse cache and the file cache
        one_s = _trainings_at_once(1, config, cache, train)
        two_s = _trainings_at_once(2, config, cache, train)
    ratio = (2 / two_s) / (1 / one_s)
    return Row(figure=figure, ours=f"{2 / two_s * 3600:.0f} trainings/h with 2", comparison=f"{3600 / one_s:.0f} with 1",
               ratio=ratio, goal=goal, passed=ratio >= 1.8,
               note="classifier trainings in fresh processes, torch on 1 thread each, process start included",
               measured={"one_alone_s": one_s, "two_at_once_s": two_s})


# --- input pipeline -------------------------------------------------------------------

def _images_per_s(step, n_images: int, min_s: float) -> float:
    """Images/s of `step()` (one batch of n_images), repeated for at least min_s."""
    step()  # warm-up: allocations, lazy imports
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_s:
        step()
        done += n_images
    return done / (time.perf_counter() - start)


def bench_input_pipeline(quick: bool, nets: tuple[str, ...] = ("simple", "zhu_cnn", "picha_cnn")) -> list[Row]:
    """Per classifier: images/s the training input path delivers (batch sampling from the
    decoded, resized uint8 set, the float conversion and the classical augmentation,
    `batch_augment`, as trainables/core/fit.py runs it) vs images/s the net trains at (forward,
    backward, step) on one thread. Plus the albumentations arm, which no training loop uses
    (it is `classical_augment`, for inspection and offline use), against zhu_cnn. Goal ≥ 10×."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from trainables.trials.classifier import build_net, parse_config
    from trainables.data.augment import batch_augment, classical_augment, resize_images
    from trainables.core.fit import normalise
    from trainables.nets.registry import net_spec

    torch.set_num_threads(1)
    min_s, batch = (1.0, 64) if quick else (5.0, 64)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (2048, 48, 48), dtype=np.uint8)
    rows, model_rates = [], {}
    for name in nets:
        size = net_spec(name).input_size
        images = torch.from_numpy(resize_images(faces, size))
        generator = torch.Generator().manual_seed(0)

        def input_step():
            idx = torch.randint(0, len(images), (batch,), generator=generator)
            batch_augment(images[idx].unsqueeze(1).float().div_(255), generator)

        net = build_net(parse_config({"net": name, "dataset": "synthfaces", "width": 1.0}),
                        7, torch.device("cpu"))
        opt = torch.optim.Adam(net.parameters())
        x = normalise(images[:batch].unsqueeze(1).float() / 255).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 7, (batch,))

        def train_step():
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        feed, train = _images_per_s(input_step, batch, min_s), _images_per_s(train_step, batch, min_s)
        model_rates[name] = train
        ratio = feed / train
        rows.append(Row(figure=f"input pipeline (torch batch_augment) vs {name} training", ours=f"{feed:.0f} img/s",
                        comparison=f"{train:.0f} img/s trained", ratio=ratio, goal="≥ 10×", passed=ratio >= 10,
                        note=f"{size}×{size}, full width, batch {batch}, 1 thread",
                        measured={"input_images_per_s": feed, "train_images_per_s": train}))
    if "zhu_cnn" in model_rates:
        def albumentations_step():
            idx = rng.integers(0, len(faces), batch)
            np.stack([classical_augment(faces[i], rng) for i in idx])

        feed = _images_per_s(albumentations_step, batch, min_s)
        ratio = feed / model_rates["zhu_cnn"]
        rows.append(Row(figure="albumentations arm (classical_augment, per image) vs zhu_cnn training",
                        ours=f"{feed:.0f} img/s", comparison=f"{model_rates['zhu_cnn']:.0f} img/s trained", ratio=ratio,
                        goal="≥ 10×", passed=ratio >= 10, note="not on any training path: the studies use batch_augment",
                        measured={"input_images_per_s": feed, "train_images_per_s": model_rates["zhu_cnn"]}))
    return rows

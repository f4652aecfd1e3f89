"""The CPU kernel switch (trainables.nets.kernels): `kernels="fast"` puts a trial's nets in
the channels-last layout on the CPU, "plain" leaves them NCHW, and both train alike."""

import pytest
import torch

from trainables.core.config import ConfigError

CPU = torch.device("cpu")
FESR_TRIAL = {"dataset_options": {"n_images": 420, "n_subjects": 24}, "n_folds": 4, "gan_width": 0.0625,
              "r_width": 0.0625, "pretrain_iters": 2, "joint_iters": 3, "batch_size": 8, "identity_epochs": 1,
              "threads": 1}


def layouts(net: torch.nn.Module) -> set[str]:
    """The layouts of a net's 4-D parameters (convolution kernels), but for those both
    layouts describe (one input channel, or 1×1)."""
    found = {(p.is_contiguous(), p.is_contiguous(memory_format=torch.channels_last))
             for p in net.parameters() if p.dim() == 4}
    return {"nchw" if nchw else "channels_last" if cl else "other" for nchw, cl in found if not (nchw and cl)}


@pytest.mark.parametrize("kernels, expected", [("fast", {"channels_last"}), ("plain", {"nchw"})])
def test_classifier_nets_follow_the_switch(kernels, expected):
    from trainables.trials.classifier import build_net, parse_config

    net = build_net(parse_config({"net": "simple", "width": 0.25, "kernels": kernels}), 7, CPU)
    assert layouts(net) == expected


def test_an_unknown_switch_value_names_the_choices():
    from trainables.trials.classifier import parse_config

    with pytest.raises(ConfigError, match="fast.*plain"):
        parse_config({"kernels": "turbo"})


def test_fesr_nets_follow_the_switch_and_train_alike(tmp_path, monkeypatch):
    """FESR_JL's nets and its identity net channels-last under "fast", NCHW under "plain"; the
    same iterations (stage 1 and the joint stage) give the same losses to float rounding."""
    from trainables.trials.fesr import build_trainer, parse_config

    monkeypatch.setenv("FERLAB_CACHE_DIR", str(tmp_path))
    setups = {k: build_trainer(parse_config({**FESR_TRIAL, "kernels": k}), CPU) for k in ("fast", "plain")}
    for kernels, expected in (("fast", {"channels_last"}), ("plain", {"nchw"})):
        setup = setups[kernels]
        assert set(setup.trainer.nets) == {"encoder", "decoder", "d_img", "d_z", "recognizer"}
        for name, net in setup.trainer.nets.items():
            if name != "d_z":  # the latent discriminator has no convolutions
                assert layouts(net) == expected, name
        assert layouts(setup.identity.__self__) == expected
    fast, plain = setups["fast"].trainer, setups["plain"].trainer
    assert fast.total_iters == 5
    for t in range(fast.total_iters):
        a, b = fast.step(t), plain.step(t)
        assert set(a) == set(b)
        for key in b:
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-5), (key, t)

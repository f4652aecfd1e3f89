"""Every registered net gets a forward and a one-batch training step, for free."""

import pytest
import torch

from trainables.nets import create_net, list_nets, net_spec


@pytest.mark.parametrize("name", list_nets())
@pytest.mark.parametrize("n_classes", [6, 7])
def test_forward_and_one_step(name, n_classes):
    torch.manual_seed(0)
    size = net_spec(name).input_size
    net = create_net(name, n_classes=n_classes, width=0.25)
    x, y = torch.rand(8, 1, size, size), torch.arange(8) % n_classes
    logits = net(x)
    assert logits.shape == (8, n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    before = torch.nn.functional.cross_entropy(net(x), y)
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    assert torch.nn.functional.cross_entropy(net(x), y) < before


def test_paper_sizes():
    # Birenbaum's Keras summary: 5,902,151 trainable parameters (plus 3,712 BN statistics).
    assert sum(p.numel() for p in create_net("simple", 7).parameters()) == 5_902_151
    assert net_spec("picha_cnn").input_size == 64 and net_spec("zhu_cnn").input_size == 48


def test_unknown_net_lists_known():
    with pytest.raises(ValueError, match="known nets: .*simple"):
        create_net("resnet9000", n_classes=7)


@pytest.mark.parametrize("size, last_kernel", [(128, 4), (64, 4), (48, 3)])
def test_fesgan_image_discriminator_class_head_is_table_one(size, last_kernel):
    """FESR Table I, D_img's class head: Conv(1024,4,2), LReLU, Conv(K,4,1) — the last conv
    covers the whole 4×4 map (3×3 at 48 px) and gives the K logits, no pooling."""
    from trainables.nets.fesgan import ImageDiscriminator
    d = ImageDiscriminator(size, 7, width=1.0)
    convs = [m for m in d.cls.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(1024, (4, 4), (2, 2)),
                                                                          (7, (last_kernel,) * 2, (1, 1))]
    assert convs[1].padding == (0, 0)
    assert not any(isinstance(m, (torch.nn.AdaptiveAvgPool2d, torch.nn.AvgPool2d)) for m in d.cls.modules())
    assert d(torch.zeros(2, 1, size, size))[1].shape == (2, 7)


@pytest.mark.parametrize("name", list_nets())
def test_declared_options_are_the_builders_keywords(name):
    """The registry declares each builder's options so a config is checked without torch;
    the declaration must say what the builder really takes."""
    import inspect

    spec = net_spec(name)
    taken = [p for p in inspect.signature(spec.build).parameters if p != "n_classes"]
    assert taken == list(spec.options)

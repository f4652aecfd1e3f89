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

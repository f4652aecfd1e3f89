"""Fused layers (trainables.nets.fused_layers): K plain layers or nets fused into one give,
member by member, each plain one's outputs and gradients (to float rounding) — torch's
own layers are the reference — and dropout draws each member's masks as its unfused
trial draws them."""

import pytest
import torch
from torch import nn

from trainables.nets import fesgan
from trainables.nets.classifiers import PichaCNN, SimpleClassifier, ZhuCNN
from trainables.nets.fused_layers import FusedNet, from_images, from_vectors, to_images, to_vectors
from trainables.nets.stack import member_generators

K, N = 3, 5


def _members(make, spread: float = 0.5) -> list[nn.Module]:
    """K nets from `make`, each initialised from its own seed, then every vector parameter
    (biases, a norm's weight, which starts at ones: a member swapped for another would pass
    unnoticed) moved by `spread` × N(0, 1), every other by `spread` × N(0, 1) too for a
    single layer (spread ≥ 0.5; a deep net's own initialisation keeps its activations sane)."""
    nets = []
    for i in range(K):
        torch.manual_seed(10 + i)
        net = make()
        with torch.no_grad():
            for p in net.parameters():
                if p.dim() == 1:
                    p.add_(torch.randn_like(p) * spread)
                elif spread >= 0.5:
                    p.copy_(torch.randn_like(p) * spread)
        nets.append(net)
    return nets


IMAGE_LAYERS = {
    "conv": (lambda: nn.Conv2d(4, 6, 3, padding=1), 4, 8),
    "strided grouped conv": (lambda: nn.Conv2d(4, 6, 4, 2, 1, groups=2), 4, 8),
    "one-channel conv": (lambda: nn.Conv2d(1, 5, 3), 1, 8),
    "conv without bias": (lambda: nn.Conv2d(3, 4, 3, bias=False), 3, 6),
    "transposed conv": (lambda: nn.ConvTranspose2d(4, 3, 4, 2, 1), 4, 5),
    "grouped transposed conv": (lambda: nn.ConvTranspose2d(4, 6, 3, 1, 1, groups=2), 4, 5),
    "batch norm": (lambda: nn.BatchNorm2d(4), 4, 6),
    "instance norm": (lambda: nn.InstanceNorm2d(4, affine=True), 4, 6),
    "group norm": (lambda: nn.GroupNorm(2, 4), 4, 6),
    # a window of 4 over 6 channels: a member's edge channels would see the next member's
    "local response norm": (lambda: nn.LocalResponseNorm(4, alpha=0.5, beta=0.75, k=1.0), 6, 5),
    "flatten to linear": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                                nn.Linear(3 * 3 * 3, 4)), 2, 8),
}
VECTOR_LAYERS = {
    "linear": (lambda: nn.Linear(7, 5), 7),
    "linear without bias": (lambda: nn.Linear(7, 5, bias=False), 7),
    "unflatten to transposed conv": (lambda: nn.Sequential(nn.Linear(5, 3 * 4 * 4), nn.Unflatten(1, (3, 4, 4)),
                                                           nn.ConvTranspose2d(3, 2, 4, 2, 1), nn.Tanh()), 5),
}


def _fused(members: torch.Tensor, layout=torch.contiguous_format) -> torch.Tensor:
    """The members' inputs (K, N, …) in the fused layout."""
    return to_images(members, layout) if members.dim() == 5 else to_vectors(members)


def _members_of(fused: torch.Tensor) -> torch.Tensor:
    """A fused output as the members' (K, N, …)."""
    return from_images(fused, K) if fused.dim() == 4 else from_vectors(fused)


def _check_member_by_member(nets, fused, inputs, layout=torch.contiguous_format, call=lambda net, *x: net(*x)):
    """Outputs, input gradients and parameter gradients of fused member i against plain
    net i; `inputs` are the members' (one list of K tensors per argument of `call`)."""
    inputs = [[x.clone().requires_grad_(True) for x in xs] for xs in inputs]
    fused_inputs = [_fused(torch.stack(xs).detach(), layout).requires_grad_(True) for xs in inputs]
    outs = [call(net, *(xs[i] for xs in inputs)) for i, net in enumerate(nets)]
    fused_out = call(fused, *fused_inputs)
    members_out = _members_of(fused_out)
    cotangents = [torch.randn(o.shape, generator=torch.Generator().manual_seed(i)) for i, o in enumerate(outs)]
    sum(((o * c).sum() for o, c in zip(outs, cotangents))).backward()
    (members_out * torch.stack(cotangents)).sum().backward()
    fused_params = dict(fused.net.named_parameters())
    for i, net in enumerate(nets):
        # a bias before a norm has no effect and a zero gradient but for rounding: the net's
        # largest gradient sets the scale of what rounding can reach
        scale = max((p.grad.abs().max().item() for p in net.parameters() if p.grad is not None), default=0.0)
        torch.testing.assert_close(members_out[i], outs[i], rtol=1e-5, atol=1e-5, msg=f"member {i} output")
        for xs, fused_x in zip(inputs, fused_inputs):
            torch.testing.assert_close(_members_of(fused_x.grad)[i], xs[i].grad, rtol=1e-5, atol=1e-5,
                                       msg=f"member {i} input grad")
        for name, p in net.named_parameters():
            if p.grad is not None:
                torch.testing.assert_close(fused_params[name].grad[i], p.grad, rtol=1e-4, atol=1e-6 * scale,
                                           msg=f"member {i} {name} grad")
    plain_layout = outs[0].dim() == 4 and outs[0].shape[1] > 1 and not outs[0].is_contiguous()
    if layout == torch.channels_last and plain_layout:  # where the plain layer keeps channels-last, so does the fused
        assert fused_out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("name", sorted(IMAGE_LAYERS))
def test_fused_image_layers_are_their_members(name, layout):
    make, channels, size = IMAGE_LAYERS[name]
    nets = [net.train().to(memory_format=layout) for net in _members(make)]
    xs = [torch.randn(N, channels, size, size, generator=torch.Generator().manual_seed(100 + i))
          .contiguous(memory_format=layout) for i in range(K)]
    fused = FusedNet(nets)
    _check_member_by_member(nets, fused, [xs], layout)
    if name == "batch norm":  # the running statistics are each member's own
        for i, net in enumerate(nets):
            torch.testing.assert_close(fused.member_state_dict(i)["running_var"], net.running_var)
            torch.testing.assert_close(fused.member_state_dict(i)["running_mean"], net.running_mean)
            assert fused.member_state_dict(i)["num_batches_tracked"] == net.num_batches_tracked == 1


@pytest.mark.parametrize("name", sorted(VECTOR_LAYERS))
def test_fused_vector_layers_are_their_members(name):
    make, features = VECTOR_LAYERS[name]
    nets = _members(make)
    xs = [torch.randn(N, features, generator=torch.Generator().manual_seed(100 + i)) for i in range(K)]
    _check_member_by_member(nets, FusedNet(nets), [xs])


def _images(seed: int, size: int = 48) -> list[torch.Tensor]:
    return [torch.rand(N, 1, size, size, generator=torch.Generator().manual_seed(seed + i)) * 2 - 1 for i in range(K)]


def _vectors(seed: int, features: int) -> list[torch.Tensor]:
    return [torch.rand(N, features, generator=torch.Generator().manual_seed(seed + i)) * 2 - 1 for i in range(K)]


FESR_NETS = {  # name: (the plain net, its inputs, what is called)
    "encoder": (lambda: fesgan.Encoder(48, 0.125), lambda: [_images(1)], lambda net, x: net(x)),
    "decoder": (lambda: fesgan.Decoder(48, 3, 0.125), lambda: [_vectors(2, fesgan.CODE_DIM), _vectors(3, 3)],
                lambda net, code, u: net(code, u)),
    "d_img score": (lambda: fesgan.ImageDiscriminator(48, 3, 0.125), lambda: [_images(4)], lambda net, x: net(x)[0]),
    "d_img classes": (lambda: fesgan.ImageDiscriminator(48, 3, 0.125), lambda: [_images(4)],
                      lambda net, x: net(x)[1]),
    "d_img critic": (lambda: fesgan.ImageDiscriminator(48, 3, 0.125), lambda: [_images(5)],
                     lambda net, x: net.critic(x)),
    "d_z": (fesgan.LatentDiscriminator, lambda: [_vectors(6, fesgan.CODE_DIM)], lambda net, z: net(z)),
    "recognizer": (lambda: fesgan.Recognizer(48, 3, 0.125), lambda: [_images(7)], lambda net, x: net(x)),
    "recognizer features": (lambda: fesgan.Recognizer(48, 3, 0.125), lambda: [_images(8)],
                            lambda net, x: net.features(x)),
    "identity features": (lambda: fesgan.IdentityNet(48, 4, 0.125), lambda: [_images(9)],
                          lambda net, x: net.features(x)),
}


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("name", sorted(FESR_NETS))
def test_fused_fesr_nets_are_their_members(name, layout):
    """FESGAN's and R's nets (eval mode: R's dropout is the classifiers' test's), each
    entry point: the forward, D_img's two heads and critic, R's features."""
    make, inputs, call = FESR_NETS[name]
    nets = [net.eval().to(memory_format=layout) for net in _members(make, spread=0.1)]
    _check_member_by_member(nets, FusedNet(nets).eval(), inputs(), layout, call)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("make", [lambda: ZhuCNN(4, width=0.125), lambda: PichaCNN(4, width=0.125),
                                  lambda: SimpleClassifier(4, width=0.125)], ids=["zhu", "picha", "simple"])
def test_fused_classifiers_forward_and_dropout_as_their_members(make, layout):
    """In training mode, with member i's generator seeded as its unfused trial seeds torch's
    global one: the same dropout masks, hence the same logits and gradients."""
    size = 48 if make().__class__ is not PichaCNN else 64
    nets = [net.train().to(memory_format=layout) for net in _members(make, spread=0.1)]
    xs = [torch.rand(N, 1, size, size, generator=torch.Generator().manual_seed(100 + i)) for i in range(K)]
    fused = FusedNet(nets)
    outs = []
    for i, (net, x) in enumerate(zip(nets, xs)):
        torch.manual_seed(40 + i)
        outs.append(net(x))
    generators = [torch.Generator().manual_seed(40 + i) for i in range(K)]
    with member_generators([fused], generators, layout):
        fused_out = from_vectors(fused(to_images(torch.stack(xs), layout)))
    for i in range(K):
        torch.testing.assert_close(fused_out[i], outs[i], rtol=1e-4, atol=1e-5, msg=f"member {i}")
    assert not torch.equal(fused_out[0], fused_out[1])


def test_a_member_state_round_trips_through_a_plain_net():
    nets = _members(lambda: SimpleClassifier(3, width=0.125))
    fused = FusedNet(nets)
    plain = SimpleClassifier(3, width=0.125)
    plain.load_state_dict(fused.member_state_dict(2))
    assert all(torch.equal(plain.state_dict()[k], v) for k, v in nets[2].state_dict().items())
    fused.load_member_state_dict(0, nets[1].state_dict())
    assert all(torch.equal(fused.member_state_dict(0)[k], v) for k, v in nets[1].state_dict().items())
    assert all(torch.equal(fused.member_state_dict(1)[k], v) for k, v in nets[1].state_dict().items())


class _OwnParameter(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self.conv = nn.Conv2d(1, 3, 3)

    def forward(self, x):
        return self.conv(x) * self.scale.view(1, -1, 1, 1)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softmax2d()), r"cannot fuse layer 1 \(Softmax2d\); fused layers "
                                                                 r"exist for .*Conv2d"),
    (_OwnParameter, r"cannot fuse the net \(_OwnParameter\): it holds parameters of its own"),
    (lambda: nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), "pad with zeros only, not 'reflect'"),
    (lambda: nn.Sequential(nn.Flatten(2)), r"flattens all but the batch axis, not dims 2\.\.-1"),
])
def test_what_cannot_be_fused_says_what_and_why(make, message):
    with pytest.raises(ValueError, match=message):
        FusedNet([make(), make()])


def test_members_of_different_architectures_do_not_fuse():
    with pytest.raises(ValueError, match="one architecture"):
        FusedNet([nn.Linear(3, 4), nn.Linear(3, 5)])

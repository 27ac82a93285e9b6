"""The BinaryNet recipe (sign, clipped STE, latent-weight clipping, ±1 export) and where the
dropout mask acts: on the binarised input, so a dropped word line adds 0 to the MAC."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import spindrop
from spindrop import BinaryConv2d, BinaryLinear, binary_layers, clip_latent_weights, export_binary_weights, sign


def _ref_sign(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t >= 0, torch.ones_like(t), -torch.ones_like(t))


# ----------------------------------------------------------------------- sign and STE
def test_sign_values_are_plus_minus_one_and_sign_zero_is_plus_one():
    x = torch.tensor([-3.0, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 1.0, 7.0])
    y = sign(x)
    assert set(y.unique().tolist()) == {-1.0, 1.0}
    assert y.dtype == x.dtype
    assert y.tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # sign(±0) = +1
    r = sign(torch.randn(1000, generator=torch.Generator().manual_seed(0)))
    assert torch.all(r.abs() == 1)


def test_ste_gradient_passes_only_where_abs_x_le_1():
    x = torch.tensor([-3.0, -1.0001, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0001, 3.0], requires_grad=True)
    g = torch.arange(1.0, 10.0)
    sign(x).backward(g)
    expected = torch.where(x.detach().abs() <= 1, g, torch.zeros_like(g))
    assert torch.equal(x.grad, expected)
    assert x.grad[2] == g[2] and x.grad[6] == g[6]  # exactly ±1 passes
    assert x.grad[1] == 0 and x.grad[7] == 0


def test_binary_layers_compute_with_sign_of_weights_and_inputs():
    torch.manual_seed(0)
    conv = BinaryConv2d(3, 4, 3, padding=1, binary_input=True)
    lin = BinaryLinear(6, 5, binary_input=True)
    first = BinaryLinear(6, 5, binary_input=False)
    x = torch.randn(2, 3, 5, 5)
    v = torch.randn(2, 6)
    assert torch.equal(conv(x), F.conv2d(_ref_sign(x), _ref_sign(conv.weight), padding=1))
    assert torch.equal(lin(v), F.linear(_ref_sign(v), _ref_sign(lin.weight)))
    # full-precision input layer: only the weights are binary
    assert torch.allclose(first(v), F.linear(v, _ref_sign(first.weight)))


def test_weight_gradient_is_clipped_ste():
    lin = BinaryLinear(4, 1, binary_input=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-2.0, -1.0, 0.3, 1.5]]))
    lin(torch.ones(1, 4)).sum().backward()
    assert lin.weight.grad.tolist() == [[0.0, 1.0, 1.0, 0.0]]


def _tiny_net() -> nn.Sequential:
    return nn.Sequential(BinaryConv2d(1, 4, 3, padding=1, binary_input=False), nn.BatchNorm2d(4),
                         BinaryConv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Flatten(),
                         BinaryLinear(4 * 6 * 6, 3, binary_input=False))


def test_latent_weights_stay_clipped_after_large_lr_sgd():
    """Plain SGD steps w ← w − lr·∇w with a huge lr, then clip_latent_weights, as a training
    loop does. (Written out instead of torch.optim.SGD: its first step imports torch._dynamo,
    seconds of import for a test that needs one line of arithmetic.)"""
    torch.manual_seed(0)
    net = _tiny_net()
    lr = 50.0
    x, y = torch.randn(8, 1, 6, 6), torch.randint(0, 3, (8,))
    escaped = False
    for _ in range(5):
        net.zero_grad()
        F.cross_entropy(net(x), y).backward()
        with torch.no_grad():
            for prm in net.parameters():
                prm.sub_(lr * prm.grad)
        escaped |= any(layer.weight.abs().max() > 1 for _, layer in binary_layers(net))
        clip_latent_weights(net)
        for _, layer in binary_layers(net):
            assert layer.weight.min() >= -1.0 and layer.weight.max() <= 1.0
    assert escaped, "the steps never pushed a latent weight outside [-1, 1]: test is vacuous"


def test_clip_latent_weights_only_clips():
    lin = BinaryLinear(4, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-3.0, -0.25, 0.75, 2.0]]))
    clip_latent_weights(nn.Sequential(lin))
    assert lin.weight.tolist() == [[-1.0, -0.25, 0.75, 1.0]]


def test_export_binary_weights_int8_equal_sign_of_latent():
    torch.manual_seed(1)
    net = _tiny_net()
    with torch.no_grad():
        net[2].weight[0, 0, 0, 0] = 0.0  # sign(0) = +1 in the export too
        net[2].weight[0, 0, 0, 1] = -0.0
    exported = export_binary_weights(net)
    assert list(exported) == [name for name, _ in binary_layers(net)] == ["0", "2", "5"]
    for name, layer in binary_layers(net):
        w = exported[name]
        assert w.dtype == torch.int8
        assert w.shape == layer.weight.shape
        assert set(w.unique().tolist()) <= {-1, 1}
        assert torch.equal(w, _ref_sign(layer.weight.detach()).to(torch.int8))
    assert exported["2"][0, 0, 0, 0] == 1 and exported["2"][0, 0, 0, 1] == 1


# --------------------------------------------------------- dropout after binarisation
def _drop_only(index, view=None):
    """A sampler that keeps every bit except ``index`` of the mask the site asks for, or of
    ``mask.view(view(shape))`` when the site's layout is free (e.g. SpinDrop's im2col mask,
    viewed as (B, word lines, windows))."""
    def sampler(shape, module_dims, p, device):
        keep = torch.ones(shape, dtype=torch.bool, device=device)
        (keep if view is None else keep.view(view(shape)))[index] = False
        return keep
    return sampler


def _with_site(method_name, layer):
    spindrop.get_method(method_name).attach(nn.Sequential(layer))
    assert layer.site is not None
    return layer


def _pm1(shape, seed):
    return torch.where(torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("zero", [0.0, -0.0])
@pytest.mark.parametrize("method_name", ["mc_dropout", "spatial", "spindrop"])
def test_dropped_input_adds_nothing_fc(method_name, zero):
    j = 3
    layer = BinaryLinear(8, 5, binary_input=True)
    w = _pm1((5, 8), seed=0)
    with torch.no_grad():
        layer.weight.copy_(w)
    _with_site(method_name, layer).site.sampler = _drop_only((0, j))  # sample 0, input j
    x = torch.full((2, 8), zero)  # sign(±0) = +1 on every word line
    layer.train()
    with torch.no_grad():
        y = layer(x)
    others = [i for i in range(8) if i != j]
    assert torch.equal(y[0], w[:, others].sum(1)), "dropped input must contribute 0"
    assert not torch.equal(y[0], w.sum(1)), "dropped input acted as +1 (mask before sign)"
    assert torch.equal(y[1], w.sum(1))  # the undropped sample sees the full MAC


@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_dropped_input_element_adds_nothing_conv_mc_dropout(zero):
    c, i, j = 1, 2, 3
    layer = BinaryConv2d(2, 4, 3, padding=0, binary_input=True)
    w = _pm1((4, 2, 3, 3), seed=1)
    with torch.no_grad():
        layer.weight.copy_(w)
    _with_site("mc_dropout", layer).site.sampler = _drop_only((0, c, i, j))
    layer.train()
    with torch.no_grad():
        y = layer(torch.full((1, 2, 6, 6), zero))
    full = w.sum((1, 2, 3))
    for oi in range(4):
        for oj in range(4):
            ki, kj = i - oi, j - oj
            reads = 0 <= ki < 3 and 0 <= kj < 3
            expect = full - w[:, c, ki, kj] if reads else full
            assert torch.equal(y[0, :, oi, oj], expect), (oi, oj)


@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_dropped_word_line_adds_nothing_at_one_window_spindrop(zero):
    c, ki, kj, oi, oj = 1, 0, 2, 1, 2
    layer = BinaryConv2d(2, 4, 3, padding=0, binary_input=True)
    w = _pm1((4, 2, 3, 3), seed=2)
    with torch.no_grad():
        layer.weight.copy_(w)
    row, window = c * 9 + ki * 3 + kj, oi * 4 + oj  # im2col order: (c, ki, kj) rows, row-major windows
    _with_site("spindrop", layer).site.sampler = _drop_only((0, row, window), view=lambda s: (s[0], 18, 16))
    layer.train()
    with torch.no_grad():
        y = layer(torch.full((1, 2, 6, 6), zero))
    full = w.sum((1, 2, 3))
    expect = full.view(4, 1, 1).repeat(1, 4, 4)
    expect[:, oi, oj] -= w[:, c, ki, kj]  # only that window loses that word line
    assert torch.equal(y[0], expect)


@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_dropped_channel_adds_nothing_conv_spatial(zero):
    c = 0
    layer = BinaryConv2d(2, 4, 3, padding=0, binary_input=True)
    w = _pm1((4, 2, 3, 3), seed=3)
    with torch.no_grad():
        layer.weight.copy_(w)
    _with_site("spatial", layer).site.sampler = _drop_only((0, c))
    layer.train()
    with torch.no_grad():
        y = layer(torch.full((1, 2, 6, 6), zero))
    expect = (w.sum((1, 2, 3)) - w[:, c].sum((1, 2))).view(4, 1, 1).expand(4, 4, 4)
    assert torch.equal(y[0], expect)


@pytest.mark.parametrize("method_name", ["mc_dropout", "spatial", "spindrop"])
def test_deterministic_pass_scales_binarised_input_by_keep_probability(method_name):
    """MC off in eval mode: the MAC sees E[mask]·sign(x) = (1 − p)·sign(x)."""
    p = 0.25
    layer = BinaryLinear(8, 5, binary_input=True)
    spindrop.get_method(method_name, p=p).attach(nn.Sequential(layer))
    layer.eval()
    x = torch.randn(3, 8)
    with torch.no_grad():
        y = layer(x)
    assert torch.allclose(y, (1 - p) * F.linear(_ref_sign(x), _ref_sign(layer.weight)))

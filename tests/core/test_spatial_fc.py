"""MC-SpatialDropout on fully connected layers: both readings of ``fc_grouping``.

``"channel"``: on the FC layer that reads a flattened conv feature map (C × H × W), one bit per
image and channel gates the channel's H·W inputs, and the hardware plan counts C modules;
``"element"``: one bit and one module per input. FC layers that read a plain vector are
element-wise under both. Masks are read back exactly through a ±1 Hadamard weight (inputs all
zero, so every binarised input is +1 and y = H·m); bounds are 4-sigma binomial. Layer shapes
for the module counts are measured with forward hooks, independently of
:func:`spindrop.trace_geometry`.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import spindrop
from spindrop import BinaryConv2d, BinaryLinear, binary_layers, dropout_sites, mc_predict
from spindrop.geometry import flatten_feeds
from spindrop.methods.spatial import SpatialConfig

from .helpers import (
    SamplerRecorder,
    binomial_ok,
    build,
    keep_rate_ok,
    sylvester_hadamard,
)

P = 0.3
C, H, W = 8, 2, 2   # flattened map: 32 FC inputs (a power of 2 for the Hadamard weight)


def _flatten_fc(fc_grouping: str, seed: int) -> nn.Sequential:
    n = C * H * W
    fc = BinaryLinear(n, n, binary_input=True)
    with torch.no_grad():
        fc.weight.copy_(sylvester_hadamard(n))
    model = nn.Sequential(nn.Flatten(), fc)
    spindrop.get_method("spatial", p=P, fc_grouping=fc_grouping).attach(model)
    torch.manual_seed(seed)
    return model.train()


@torch.no_grad()
def _input_mask(model: nn.Sequential, batch: int) -> torch.Tensor:
    """(B, C, H·W) keep mask of the FC input, recovered as m = Hᵀy / n."""
    y = model(torch.zeros(batch, C, H, W))
    h = sylvester_hadamard(y.shape[1])
    m = (y @ h) / h.shape[0]
    assert torch.allclose(m, m.round(), atol=1e-4)
    m = m.round()
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    return m.view(batch, C, H * W)


def test_channel_grouping_one_bit_per_image_and_channel():
    b = 2048
    m = _input_mask(_flatten_fc("channel", seed=0), b)
    assert torch.equal(m, m[:, :, :1].expand_as(m)), "the H·W inputs of a channel do not share one bit"
    bits = m[:, :, 0]
    ok, msg = keep_rate_ok(bits.sum(), bits.numel(), P)
    assert ok, msg
    q = (1 - P) ** 2 + P ** 2  # two independent bits agree with this probability
    for c1, c2 in [(0, 1), (3, 7)]:
        ok, msg = binomial_ok((bits[:, c1] == bits[:, c2]).sum(), b, q)
        assert ok, f"channels {c1},{c2}: {msg}"


def test_element_grouping_one_bit_per_input():
    b = 2048
    m = _input_mask(_flatten_fc("element", seed=1), b)
    ok, msg = keep_rate_ok(m.sum(), m.numel(), P)
    assert ok, msg
    q = (1 - P) ** 2 + P ** 2  # inputs of one channel are independent too
    ok, msg = binomial_ok((m[:, 0, 0] == m[:, 0, 1]).sum(), b, q)
    assert ok, msg


def test_channel_grouping_asks_the_sampler_for_one_module_per_channel():
    model = _flatten_fc("channel", seed=2)
    rec = SamplerRecorder()
    rec.wrap(model[1].site)
    model(torch.zeros(5, C, H, W))
    ((shape, module_dims, _),) = rec.of(model[1].site)
    assert [shape[d] for d in module_dims] == [C] and math.prod(shape) == 5 * C


def test_plain_vector_fc_stays_elementwise_under_channel_grouping():
    n, b = 16, 1024
    fc = BinaryLinear(n, n, binary_input=True)
    with torch.no_grad():
        fc.weight.copy_(sylvester_hadamard(n))
    model = nn.Sequential(BinaryLinear(4, n, binary_input=False), nn.BatchNorm1d(n), fc)
    spindrop.get_method("spatial", p=P, fc_grouping="channel").attach(model)
    rec = SamplerRecorder()
    rec.wrap(fc.site)
    torch.manual_seed(3)
    model.train()(torch.zeros(b, 4))
    ((shape, module_dims, bits),) = rec.of(fc.site)
    assert shape == (b, n) and module_dims == (1,)
    ok, msg = binomial_ok((bits[:, 0] == bits[:, 1]).sum(), b, (1 - P) ** 2 + P ** 2)
    assert ok, msg


# ------------------------------------------------------------------ hardware plan, real models
def _measured(model: nn.Module, in_shape) -> dict[str, tuple]:
    """name → (input shape, flattened-map shape or None) of every binary layer, one image, from
    hooks: a layer reads a map when its input tensor *is* the output of an ``nn.Flatten``."""
    flat_outputs: list[tuple[torch.Tensor, tuple[int, ...]]] = []
    seen: dict[str, tuple] = {}

    def on_flatten(m, args, out):
        flat_outputs.append((out, tuple(args[0].shape[1:])))

    def on_layer(name):
        def hook(m, args, out):
            src = next((shape for t, shape in flat_outputs if t is args[0]), None)
            seen[name] = (tuple(args[0].shape[1:]), src)
        return hook

    handles = [m.register_forward_hook(on_flatten) for m in model.modules() if isinstance(m, nn.Flatten)]
    handles += [layer.register_forward_hook(on_layer(name)) for name, layer in binary_layers(model)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *in_shape))
    for h in handles:
        h.remove()
    return seen


def _expected_spatial_modules(model: nn.Module, in_shape, fc_grouping: str) -> int:
    total = 0
    shapes = _measured(model, in_shape)
    for name, layer in binary_layers(model):
        if not layer.binary_input:
            continue
        (in_dims, src) = shapes[name]
        if isinstance(layer, BinaryConv2d):
            total += in_dims[0]                                   # C_in
        elif src is not None and len(src) == 3 and fc_grouping == "channel":
            total += src[0]                                       # C of the flattened map
        else:
            total += in_dims[0]                                   # in
    return total


def _spindrop_modules(model: nn.Module, in_shape) -> int:
    shapes = _measured(model, in_shape)
    return sum((layer.kernel_size[0] * layer.kernel_size[1] if isinstance(layer, BinaryConv2d) else 1)
               * shapes[name][0][0] for name, layer in binary_layers(model) if layer.binary_input)


# the issue's numbers (issue 10, item 2), width 1: SpinDrop / Spatial network modules
ISSUE = {("vgg_small", "channel"): (20736, 2816), ("vgg_small", "element"): (20736, 10496),
         ("lenet5", "channel"): (670, 142)}
SHAPES = {"vgg_small": (3, 32, 32), "lenet5": (1, 28, 28), "resnet18": (3, 32, 32)}


@pytest.mark.parametrize("model_name", sorted(SHAPES))
@pytest.mark.parametrize("fc_grouping", ["channel", "element"])
def test_module_counts_follow_the_formula(model_name, fc_grouping):
    in_shape = SHAPES[model_name]
    model = spindrop.build_model(model_name, in_shape, 10, 1.0)
    plan = spindrop.get_method("spatial", fc_grouping=fc_grouping).hardware_plan(model, in_shape)
    spatial = _expected_spatial_modules(model, in_shape, fc_grouping)
    assert plan.total_modules == plan.total_draws == spatial
    spin = spindrop.get_method("spindrop").hardware_plan(model, in_shape).total_modules
    assert spin == _spindrop_modules(model, in_shape)
    if (model_name, fc_grouping) in ISSUE:
        assert (spin, spatial) == ISSUE[(model_name, fc_grouping)]


@pytest.mark.parametrize("model_name", sorted(SHAPES))
def test_flatten_feeds_matches_the_tensors_the_layers_read(model_name):
    in_shape = SHAPES[model_name]
    model = spindrop.build_model(model_name, in_shape, 10, 0.125)
    shapes = _measured(model, in_shape)
    reads_flatten = {name for name, (_, src) in shapes.items() if src is not None}
    assert set(flatten_feeds(model)) == reads_flatten
    geoms = {g.name: g for g in spindrop.trace_geometry(model, in_shape)}
    for name, (_, src) in shapes.items():
        assert geoms[name].in_map == (src if src is not None and len(src) == 3 else None)


def test_sites_see_the_traced_map_and_mc_runs():
    model, _, shape = build("lenet5", "spatial", fc_grouping="channel")
    x = torch.randn(3, *shape)
    out = mc_predict(model, x, T=3, seed=0)
    assert out.probs.shape == (3, 3, 10)
    traced = {g.name: g.in_map for g in spindrop.trace_geometry(model, shape) if g.kind == "fc"}
    seen = {name: layer.site.in_map for name, layer in binary_layers(model)
            if isinstance(layer, BinaryLinear) and layer.site is not None}
    assert seen and seen == {n: traced[n] for n in seen}
    assert sum(t is not None for t in traced.values()) == 1  # LeNet-5: only fc1 reads the map
    assert len(dropout_sites(model)) == 3


def test_fc_grouping_validated_and_in_params():
    assert spindrop.get_method("spatial").params()["fc_grouping"] == "channel"
    assert spindrop.get_method("spatial", fc_grouping="element").params()["fc_grouping"] == "element"
    with pytest.raises((TypeError, ValueError), match=r"fc_grouping.*'channel', 'element'"):
        spindrop.get_method("spatial", fc_grouping="rows")
    with pytest.raises(ValueError, match=r"fc_grouping='rows'.*'channel', 'element'"):
        SpatialConfig(fc_grouping="rows")

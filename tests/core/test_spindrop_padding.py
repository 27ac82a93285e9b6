"""SpinDrop's ``padding_draws`` (issue 10): the planned draws per pass with and without the draws of
word lines that sit on zero padding, against an independent count (im2col of an all-ones input),
and the software unchanged by the parameter."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import spindrop
from spindrop import BinaryConv2d, binary_layers, mc_predict


def _reading_pairs(model: torch.nn.Module, shape: tuple[int, int, int]) -> dict[str, int]:
    """(word line, window) pairs of each binary-input conv that read the input: the non-zero entries
    of the im2col matrix of an all-ones input of the layer's input size (zero padding stays 0)."""
    counts, inputs = {}, {}
    hooks = [layer.register_forward_hook(lambda mod, args, out, name=name: inputs.__setitem__(name, args[0].shape))
             for name, layer in binary_layers(model)]
    model.eval()(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    for name, layer in binary_layers(model):
        if isinstance(layer, BinaryConv2d) and layer.binary_input:
            ones = torch.ones(inputs[name])
            cols = F.unfold(ones, layer.kernel_size, padding=layer.padding, stride=layer.stride)
            counts[name] = int((cols != 0).sum())
    return counts


@pytest.mark.parametrize("model_name,shape", [("vgg_small", (3, 32, 32)), ("lenet5", (1, 28, 28)),
                                              ("resnet18", (3, 32, 32))])
def test_padding_draws_false_counts_only_reading_pairs(model_name, shape):
    model = spindrop.build_model(model_name, shape, 10, width=0.125)
    every = spindrop.get_method("spindrop").hardware_plan(model, shape)
    reading = spindrop.get_method("spindrop", padding_draws=False).hardware_plan(model, shape)
    expected = _reading_pairs(model, shape)
    for (g, all_hw), (_, read_hw) in zip(every.layers, reading.layers):
        assert read_hw.modules == all_hw.modules
        if g.name in expected:
            assert all_hw.draws == g.rows * g.windows
            assert read_hw.draws == expected[g.name] <= all_hw.draws
        else:
            assert read_hw.draws == all_hw.draws
    padded = any(layer.padding != (0, 0) for _, layer in binary_layers(model)
                 if isinstance(layer, BinaryConv2d) and layer.binary_input)
    assert (reading.total_draws < every.total_draws) == padded


def test_vgg_small_padding_share_matches_the_documented_7_6_percent():
    model = spindrop.build_model("vgg_small", (3, 32, 32), 10, width=1.0)
    every = spindrop.get_method("spindrop").hardware_plan(model, (3, 32, 32)).total_draws
    reading = spindrop.get_method("spindrop", padding_draws=False).hardware_plan(model, (3, 32, 32)).total_draws
    assert (every - reading) / every == pytest.approx(0.076, abs=0.001)


def test_the_software_does_not_depend_on_padding_draws():
    outs = []
    for padding_draws in (True, False):
        torch.manual_seed(0)
        model = spindrop.build_model("lenet5", (1, 28, 28), 10, width=0.25)
        spindrop.get_method("spindrop", padding_draws=padding_draws).attach(model)
        outs.append(mc_predict(model, torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)),
                               T=3, seed=5).probs)
    assert torch.equal(outs[0], outs[1])

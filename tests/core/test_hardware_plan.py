"""Module and draw counts of the hardware plans on the real topologies (docs/design.md "How a method attaches"):
per k×k binary-input conv layer SpinDrop needs k² modules for every one of MC-SpatialDropout
(9× for 3×3, 25× for LeNet-5's 5×5), Scale-Dropout one module for the whole model.

Layer shapes are measured here with forward hooks on the model's own modules, independent of
:func:`spindrop.trace_geometry`.
"""
from __future__ import annotations

import pytest
import torch

import spindrop
from spindrop import BinaryConv2d, BinaryLinear, binary_layers

CASES = {
    # model: (input shape, kernel side of its binary-input k×k convs, how many of them)
    "vgg_small": ((3, 32, 32), 3, 5),
    "resnet18": ((3, 32, 32), 3, 16),
    "lenet5": ((1, 28, 28), 5, 1),
}


def _measured_shapes(model, in_shape):
    """name -> (input tensor shape, output tensor shape) of each binary layer, one image."""
    seen = {}
    handles = [layer.register_forward_hook(
        lambda m, args, out, n=name: seen.__setitem__(n, (tuple(args[0].shape), tuple(out.shape))))
        for name, layer in binary_layers(model)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *in_shape))
    for h in handles:
        h.remove()
    return seen


def _plan(method_name, model_name, **params):
    in_shape = CASES[model_name][0]
    model = spindrop.build_model(model_name, in_shape, 10, 0.125)
    method = spindrop.get_method(method_name, **params)
    method.attach(model)
    plan = method.hardware_plan(model, in_shape)
    return model, {g.name: hw for g, hw in plan.layers}, plan


@pytest.mark.parametrize("model_name", sorted(CASES))
def test_spindrop_needs_k2_times_the_spatial_modules(model_name):
    in_shape, k, n_kxk = CASES[model_name]
    model, spin, _ = _plan("spindrop", model_name)
    _, spat, _ = _plan("spatial", model_name)
    shapes = _measured_shapes(model, in_shape)
    found = 0
    for name, layer in binary_layers(model):
        if not (isinstance(layer, BinaryConv2d) and layer.binary_input):
            continue
        kh, kw = layer.kernel_size
        (_, c_in, _, _), (_, _, h_out, w_out) = shapes[name]
        assert spat[name].modules == c_in and spat[name].draws == c_in
        assert spin[name].modules == kh * kw * c_in
        assert spin[name].draws == kh * kw * c_in * h_out * w_out
        assert spin[name].modules == kh * kw * spat[name].modules
        if (kh, kw) == (k, k):
            found += 1
            assert spin[name].modules // spat[name].modules == k * k  # 9 for 3×3, 25 for 5×5
    assert found == n_kxk


@pytest.mark.parametrize("model_name", sorted(CASES))
def test_fc_layers_one_module_per_input_for_every_gating_method(model_name):
    """Element-wise FC reading (Spatial's channel reading: tests/core/test_spatial_fc.py)."""
    binary_input_fcs = {"vgg_small": 2, "lenet5": 2, "resnet18": 0}[model_name]
    for method_name, params in (("spindrop", {}), ("spatial", {"fc_grouping": "element"}), ("mc_dropout", {})):
        model, plan, _ = _plan(method_name, model_name, **params)
        found = 0
        for name, layer in binary_layers(model):
            if isinstance(layer, BinaryLinear) and layer.binary_input:
                found += 1
                assert (plan[name].modules, plan[name].draws) == (layer.in_features, layer.in_features)
        assert found == binary_input_fcs


@pytest.mark.parametrize("model_name", sorted(CASES))
def test_mc_dropout_one_module_per_input_element(model_name):
    in_shape = CASES[model_name][0]
    model, plan, _ = _plan("mc_dropout", model_name)
    shapes = _measured_shapes(model, in_shape)
    for name, layer in binary_layers(model):
        expected = 0
        if layer.binary_input:
            expected = 1
            for d in shapes[name][0][1:]:
                expected *= d
        assert plan[name].modules == plan[name].draws == expected


@pytest.mark.parametrize("model_name", sorted(CASES))
def test_scale_one_module_for_the_whole_model(model_name):
    model, plan, whole = _plan("scale", model_name)
    n_sites = len(spindrop.dropout_sites(model))  # the layers its placement scales
    assert whole.total_modules == 1
    assert whole.shared_modules == 1
    assert all(hw.modules == 0 for hw in plan.values())
    assert whole.total_draws == n_sites  # one draw per scaled layer per pass


@pytest.mark.parametrize("model_name", sorted(CASES))
def test_deterministic_has_no_hardware(model_name):
    _, _, whole = _plan("deterministic", model_name)
    assert whole.total_modules == 0 and whole.total_draws == 0

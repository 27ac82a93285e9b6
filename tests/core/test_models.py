"""Every registered model (built-ins and the test-only example in ``model_example.py``, read from the
registry at collection time) follows the contract the suites rely on: the registered input shape
builds, the binary recipe holds, the geometry trace matches the layers, and the cost model prices it."""
from __future__ import annotations

import pytest
import torch

import hardware
import spindrop
from spindrop import binary_layers, trace_geometry
from spindrop.models import BINARY_CLASSIFIER, model_info
from spindrop.models.layers import MaxPool2x2

from .helpers import NUM_CLASSES, registered_models
from .model_example import EXAMPLE_MODEL

MODELS = registered_models()


@pytest.fixture(params=MODELS)
def model(request) -> str:
    return request.param


def test_the_example_model_is_part_of_the_parametrisation():
    assert EXAMPLE_MODEL in MODELS and {"lenet5", "vgg_small", "resnet18", "mlp"} <= set(MODELS)


@pytest.mark.parametrize("shape_kind", ["input_shape", "test_shape"])
def test_registered_shapes_build_and_classify(model, shape_kind):
    info = model_info(model)
    shape = getattr(info, shape_kind)
    assert len(shape) == 3 and all(isinstance(n, int) and n > 0 for n in shape)
    net = spindrop.build_model(model, shape, NUM_CLASSES, width=0.125).eval()
    with torch.no_grad():
        assert net(torch.randn(2, *shape)).shape == (2, NUM_CLASSES)
    assert isinstance(net, torch.nn.Sequential)  # MC inference reuses the deterministic prefix


def test_default_shape_is_the_registered_input_shape(model):
    info = model_info(model)
    a = spindrop.build_model(model, width=0.125)
    b = spindrop.build_model(model, info.input_shape, width=0.125)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]


def test_binary_recipe(model):
    """BinaryNet: the first crossbar layer reads full-precision pixels, every later one binarised
    activations (so it is a dropout site); the classifier reads full-precision inputs, except in
    the BinaryNet-last-layer variants (``spindrop.models.BINARY_CLASSIFIER``)."""
    net = spindrop.build_model(model, model_info(model).test_shape, NUM_CLASSES, width=0.125)
    layers = [layer for _, layer in binary_layers(net)]
    assert len(layers) >= 3
    assert not layers[0].binary_input
    assert layers[-1].binary_input == (model in BINARY_CLASSIFIER.values())
    assert any(layer.binary_input for layer in layers[1:-1])
    assert layers[-1].out_features == NUM_CLASSES


def test_geometry_trace_covers_every_binary_layer(model):
    shape = model_info(model).test_shape
    net = spindrop.build_model(model, shape, NUM_CLASSES, width=0.125)
    geoms = trace_geometry(net, shape)
    names = [name for name, _ in binary_layers(net)]
    assert [g.name for g in geoms] == names
    for g, (_, layer) in zip(geoms, binary_layers(net)):
        assert g.binary_input == layer.binary_input
        assert g.rows > 0 and g.columns > 0 and g.windows >= 1


def test_cost_model_prices_every_method(model, method_name):
    shape = model_info(model).test_shape
    net = spindrop.build_model(model, shape, NUM_CLASSES, width=0.125)
    method = spindrop.get_method(method_name)
    report = hardware.cost_report(method.attach(net), method, shape, T=4)
    assert report.tiles > 0 and report.energy.total > 0
    assert (report.modules == 0) == (not type(method).stochastic or report.energy.dropout == 0)


@pytest.mark.parametrize("shape", [(3, 5, 8, 6), (2, 1, 4, 4), (2, 7, 5, 6)])  # the last: odd rows, nn.MaxPool2d
@pytest.mark.parametrize("channels_last", [True, False])
def test_maxpool2x2_equals_max_pool2d_without_autograd(shape, channels_last):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    x[0, 0, 0, 1] = float("nan")
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    with torch.no_grad():
        out = MaxPool2x2()(x)
    expected = torch.nn.functional.max_pool2d(x, 2)
    assert out.shape == expected.shape and torch.equal(out.isnan(), expected.isnan())
    assert torch.equal(out.nan_to_num(), expected.nan_to_num())
    layout = torch.channels_last
    assert out.is_contiguous(memory_format=layout) == expected.is_contiguous(memory_format=layout)

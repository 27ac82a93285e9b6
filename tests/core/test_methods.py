"""Every registered method (built-ins and plugins, read from the registry at collection time
by ``conftest.pytest_generate_tests``) on every model topology."""
from __future__ import annotations

import math

import pytest
import torch

import spindrop
from spindrop import binary_layers, dropout_sites, mc_predict, mc_sampling

from .helpers import MODEL_SHAPES, NUM_CLASSES, PLUGIN_METHOD, SamplerRecorder, build, has_param, registered_methods

MODELS = sorted(MODEL_SHAPES)
BATCH = 4


@pytest.fixture(params=MODELS)
def model_name(request) -> str:
    return request.param


def _x(shape, seed=1, batch=BATCH):
    return torch.randn((batch, *shape), generator=torch.Generator().manual_seed(seed))


def test_registry_parametrisation_covers_builtins_and_plugin(request):
    """The method axis comes from the registry: built-ins plus the entry-point plugin."""
    methods = registered_methods()
    assert {"deterministic", "mc_dropout", "spindrop", "spatial", "scale", PLUGIN_METHOD} <= set(methods)
    assert methods == spindrop.list_methods()
    ids = {item.callspec.params["method_name"] for item in request.session.items
           if item.path == request.node.path and hasattr(item, "callspec")
           and "method_name" in item.callspec.params}
    assert ids <= set(methods)  # (a subset when -k deselected some)


def test_sites_only_on_binary_input_layers(method_name, model_name):
    model, method, _ = build(model_name, method_name)
    layers = binary_layers(model)
    for name, layer in layers:
        if not layer.binary_input:
            assert layer.site is None, f"{name} sees full-precision input but got a dropout site"
    installed = [layer.site for _, layer in layers if layer.site is not None]
    assert len(installed) == len(dropout_sites(model))
    if type(method).stochastic:
        assert installed, f"stochastic method {method_name} installed no site on {model_name}"


def test_output_shapes_train_eval_mc(method_name, model_name):
    model, _, shape = build(model_name, method_name)
    x = _x(shape)
    model.train()
    assert model(x).shape == (BATCH, NUM_CLASSES)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (BATCH, NUM_CLASSES)
        with mc_sampling(model):
            assert model(x).shape == (BATCH, NUM_CLASSES)
    for mode in ("loop", "batched"):
        out = mc_predict(model, x, T=3, mode=mode, seed=0)
        assert out.probs.shape == (3, BATCH, NUM_CLASSES)
        assert out.mean.shape == (BATCH, NUM_CLASSES)
        for summary in (out.entropy, out.mutual_info, out.msp):
            assert summary.shape == (BATCH,)


def test_mc_samples_vary_only_for_stochastic_methods(method_name, model_name):
    model, method, shape = build(model_name, method_name)
    probs = mc_predict(model, _x(shape), T=6, seed=3).probs
    identical = all(torch.equal(probs[0], probs[t]) for t in range(1, probs.shape[0]))
    if type(method).stochastic:
        assert not identical, f"{method_name}: all MC samples on {model_name} are identical"
    else:
        assert identical, f"{method_name} is declared deterministic but its MC samples differ"


def test_training_mode_draws_only_for_stochastic_methods(method_name, model_name):
    """Sites sample in training mode (every site draws in one forward) and stay silent in
    eval mode without MC. (Output comparison is not used: a per-channel scale shared by the
    whole batch is normalised away by a following BatchNorm in training mode.)"""
    model, method, shape = build(model_name, method_name)
    rec = SamplerRecorder()
    for s in dropout_sites(model):
        rec.wrap(s)
    model.train()
    with torch.no_grad():
        model(_x(shape))
    drawn = [len(rec.of(s)) for s in dropout_sites(model)]
    if type(method).stochastic:
        assert drawn and all(n == 1 for n in drawn), drawn
    else:
        assert drawn == []
    model.eval()
    with torch.no_grad():
        model(_x(shape))
    assert [len(rec.of(s)) for s in dropout_sites(model)] == drawn


def test_eval_without_mc_is_deterministic(method_name, model_name):
    model, _, shape = build(model_name, method_name)
    model.eval()
    x = _x(shape)
    with torch.no_grad():
        torch.manual_seed(0)
        a = model(x)
        torch.manual_seed(1)  # a different RNG state must not matter with MC off
        b = model(x)
    assert all(not s.mc for s in dropout_sites(model))
    assert torch.equal(a, b)


def test_mc_sampling_context_restores_site_state(method_name):
    model, _, _ = build("lenet5", method_name)
    with mc_sampling(model):
        assert all(s.mc for s in dropout_sites(model))
    assert all(not s.mc for s in dropout_sites(model))


def _is_py_int(v) -> bool:
    return type(v) is int and v >= 0


def test_hardware_plan_counts_are_nonnegative_ints(method_name, model_name):
    model, method, shape = build(model_name, method_name)
    plan = method.hardware_plan(model, shape)
    layers = binary_layers(model)
    assert [g.name for g, _ in plan.layers] == [n for n, _ in layers]
    for geom, hw in plan.layers:
        assert _is_py_int(hw.modules) and _is_py_int(hw.draws), (geom.name, hw)
        if not geom.binary_input:
            assert (hw.modules, hw.draws) == (0, 0), f"{geom.name} has no dropout site"
    assert _is_py_int(plan.shared_modules)
    assert _is_py_int(plan.total_modules) and _is_py_int(plan.total_draws)
    if type(method).stochastic:
        assert plan.total_modules > 0 and plan.total_draws > 0
    else:
        assert plan.total_modules == 0 and plan.total_draws == 0


def test_sampled_bits_match_planned_draws(method_name, model_name):
    """The software draws, per layer and MC pass of one image, exactly the bits the hardware
    plan prices (sites draw through ``site.sampler``, the hook the device model uses)."""
    model, method, shape = build(model_name, method_name)
    plan = {g.name: hw for g, hw in method.hardware_plan(model, shape).layers}
    rec = SamplerRecorder()
    for s in dropout_sites(model):
        rec.wrap(s)
    model.eval()
    with torch.no_grad(), mc_sampling(model):
        model(_x(shape, batch=1))
    for name, layer in binary_layers(model):
        drawn = sum(bits.numel() for _, _, bits in rec.of(layer.site)) if layer.site is not None else 0
        assert drawn == plan[name].draws, f"{method_name}/{name}: drew {drawn}, plan says {plan[name].draws}"


def test_invalid_probability_raises(method_name):
    if not has_param(method_name, "p"):
        pytest.skip(f"{method_name} has no drop probability")
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="p"):
            spindrop.get_method(method_name, p=bad)
    for good in (0.0, 0.5):
        assert spindrop.get_method(method_name, p=good).params()["p"] == good


def test_unknown_parameter_raises(method_name):
    with pytest.raises(ValueError, match="no_such_param"):
        spindrop.get_method(method_name, no_such_param=1)


def test_params_round_trip(method_name):
    method = spindrop.get_method(method_name)
    assert spindrop.get_method(method_name, **method.params()).params() == method.params()
    assert method.name == method_name


def test_p_zero_equals_no_dropout(method_name):
    """With p = 0 every module keeps: all MC samples equal the eval-mode output."""
    if not has_param(method_name, "p"):
        pytest.skip(f"{method_name} has no drop probability")
    model, _, shape = build("lenet5", method_name, p=0.0)
    x = _x(shape)
    probs = mc_predict(model, x, T=3, seed=0).probs
    model.eval()
    with torch.no_grad():
        det = model(x).softmax(-1)
    assert torch.allclose(probs, det.expand_as(probs), atol=1e-6)
    assert math.isclose(float(probs.sum(-1).mean()), 1.0, rel_tol=1e-5)

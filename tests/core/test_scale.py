"""Scale-Dropout: one Bernoulli bit per scaled layer per image pass, one shared unit, every
placement (docs/design.md, "Scale-Dropout placement").

The scale a pass used is read back from the layer output: the MAC of an odd number of ±1
terms is never 0, and the unscaled reference (MAC, or the BatchNorm of the MAC in eval mode)
is computed functionally, without the site. Every statistical bound is the 4-sigma binomial
bound |k − n·q| ≤ 4·sqrt(n·q·(1 − q)).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import spindrop
from spindrop import (
    BinaryConv2d,
    BinaryLinear,
    binary_layers,
    dropout_sites,
    mc_predict,
    mc_sampling,
)
from spindrop.methods.scale import PLACEMENTS, PostNormScaleSite, ScaleSite
from spindrop.training.module import param_groups

from .helpers import MODEL_SHAPES, SamplerRecorder, binomial_ok, build, keep_rate_ok

P = 0.3
ALPHA = torch.tensor([2.0, 3.0, 4.0, 5.0])
DROPPED = 0.25
AFTER_NORM = [name for name, placement in PLACEMENTS.items() if placement.after_norm]


def _scale_sites(model: nn.Module) -> list[ScaleSite]:
    found = dropout_sites(model)
    assert found and all(isinstance(s, ScaleSite) for s in found)
    return found


def _single_layer(placement: str) -> tuple[nn.Sequential, BinaryConv2d]:
    """conv(3→4, 3×3: 27 ±1 terms, so the MAC is odd and never 0) → BatchNorm, eval mode, with
    a running mean of 0.5 so that the normalised MAC is never 0 either."""
    torch.manual_seed(0)
    layer = BinaryConv2d(3, 4, 3, padding=0, binary_input=True)
    norm = nn.BatchNorm2d(4)
    with torch.no_grad():
        norm.running_mean.fill_(0.5)
        norm.running_var.fill_(4.0)
    model = nn.Sequential(layer, norm)
    spindrop.get_method("scale", p=P, placement=placement, dropped_value=DROPPED).attach(model)
    with torch.no_grad():
        layer.site.alpha.copy_(ALPHA)
    return model.eval(), layer


def _scales(model: nn.Sequential, layer: BinaryConv2d, x: torch.Tensor, placement: str,
            mc: bool = True) -> torch.Tensor:
    """The scale each channel of each row was multiplied by, shape (rows, channels, positions):
    output / the unscaled output (after the BatchNorm), or the MAC recovered from the
    eval-mode (affine) BatchNorm / the unscaled MAC (before it)."""
    norm = model[1]
    with torch.no_grad(), mc_sampling(model, enabled=mc):
        out = model(x)
    mac = layer.mac(spindrop.sign(x))
    std = (norm.running_var + norm.eps).sqrt().view(1, -1, 1, 1)
    mean, weight, bias = (t.view(1, -1, 1, 1) for t in (norm.running_mean, norm.weight, norm.bias))
    if PLACEMENTS[placement].after_norm:
        return (out / ((mac - mean) / std * weight + bias)).flatten(2)
    return (((out - bias) / weight * std + mean) / mac).flatten(2)


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_one_bit_per_layer_per_image_pass(placement):
    """Within one row (one image pass) every channel and position uses α (kept) or the dropped
    value, never a mix; rows draw independently with keep rate 1 − p; one call per forward to
    the single shared unit (no module dimensions)."""
    rows = 4000
    model, layer = _single_layer(placement)
    rec = SamplerRecorder()
    rec.wrap(layer.site)
    x = torch.randn(1, 3, 5, 5, generator=torch.Generator().manual_seed(1)).repeat(rows, 1, 1, 1)
    ratio = _scales(model, layer, x, placement)
    (shape, dims, bits), = rec.of(layer.site)
    assert (shape, dims) == ((rows,), ())
    is_kept = torch.isclose(ratio, ALPHA.view(1, 4, 1).expand_as(ratio), rtol=1e-4).all(-1).all(-1)
    is_dropped = torch.isclose(ratio, torch.full_like(ratio, DROPPED), rtol=1e-4).all(-1).all(-1)
    assert torch.all(is_kept ^ is_dropped), "some image pass mixes kept and dropped scales"
    assert torch.equal(is_kept, bits)
    ok, msg = keep_rate_ok(is_kept.sum(), rows, P)
    assert ok, msg
    ok, msg = binomial_ok((is_kept[0::2] == is_kept[1::2]).sum(), rows // 2, (1 - P) ** 2 + P ** 2)
    assert ok, f"neighbouring rows are not independent: {msg}"


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_deterministic_pass_uses_the_expected_scale(placement):
    """MC off in eval mode: s = (1 − p)·α + p·dropped_value on every row."""
    model, layer = _single_layer(placement)
    x = torch.randn(6, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    expected = (1 - P) * ALPHA + P * DROPPED
    ratio = _scales(model, layer, x, placement, mc=False)
    assert torch.allclose(ratio, expected.view(1, 4, 1).expand_as(ratio), rtol=1e-4)


def test_layers_draw_independently_in_one_pass():
    """Two scaled layers of one model draw their own bit for the same image pass."""
    model, _, shape = build("lenet5", "scale", p=P, placement="post_bn")
    found = _scale_sites(model)
    rec = SamplerRecorder()
    for s in found:
        rec.wrap(s)
    rows = 4000
    with torch.no_grad(), mc_sampling(model.eval()):
        model(torch.randn(rows, *shape))
    first, second = (rec.of(s)[0][2] for s in found[:2])
    ok, msg = binomial_ok((first == second).sum(), rows, (1 - P) ** 2 + P ** 2)
    assert ok, msg


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
@pytest.mark.parametrize("net", sorted(MODEL_SHAPES))
def test_hardware_plan_one_shared_unit_one_draw_per_scaled_layer(placement, net):
    model, method, shape = build(net, "scale", placement=placement)
    plan = method.hardware_plan(model, shape)
    scaled = {name for name, layer in binary_layers(model) if layer.site is not None}
    binary_input = [name for name, layer in binary_layers(model) if layer.binary_input]
    assert plan.shared_modules == 1 and plan.total_modules == 1
    assert all(hw.modules == 0 for _, hw in plan.layers)
    assert {g.name for g, hw in plan.layers if hw.draws} == scaled
    assert all(hw.draws == 1 for g, hw in plan.layers if g.name in scaled)
    assert plan.total_draws == len(dropout_sites(model))
    expected = binary_input[-1:] if PLACEMENTS[placement].last_only else binary_input
    assert sorted(scaled) == sorted(expected)


@pytest.mark.parametrize("mode,T,chunk,expect", [("loop", 5, None, [2] * 5), ("batched", 7, 3, [6, 6, 2])])
@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_bits_per_mc_pass(placement, mode, T, chunk, expect):
    """T MC samples of B = 2 images: T·B image passes, one bit each per scaled layer."""
    model, _, shape = build("lenet5", "scale", p=P, placement=placement)
    rec = SamplerRecorder()
    for s in _scale_sites(model):
        rec.wrap(s)
    mc_predict(model, torch.randn(2, *shape), T=T, mode=mode, chunk=chunk, seed=0)
    for s in _scale_sites(model):
        assert [bits.numel() for _, _, bits in rec.of(s)] == expect


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_alpha_gets_gradient_in_training(placement):
    """One bit per image pass: kept and dropped images share a batch, so the BatchNorm cannot
    normalise α away and α gets a gradient in every placement (a bit shared by the whole batch
    would leave dL/dα ≈ 1e-8 for ``mac``)."""
    torch.manual_seed(0)
    model = spindrop.build_model("lenet5", (1, 28, 28), 10, 0.25)
    spindrop.get_method("scale", placement=placement).attach(model)
    model.train()
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    F.cross_entropy(model(x), y).backward()
    for s in _scale_sites(model):
        assert float(s.alpha.grad.abs().max()) > 1e-4, f"max |dL/dα| = {float(s.alpha.grad.abs().max()):.2e}"


def test_default_placement_changes_the_mc_prediction():
    """With the defaults (α away from the dropped value) kept and dropped passes differ at the
    logits: MC samples of one image are not all equal."""
    model, _, shape = build("lenet5", "scale")
    for s in _scale_sites(model):
        with torch.no_grad():
            s.alpha.fill_(spindrop.get_method("scale").config.alpha_init)
    probs = mc_predict(model, torch.randn(4, *shape), T=16, seed=0).probs
    assert float((probs - probs.mean(0)).abs().max()) > 1e-3


@pytest.mark.parametrize("placement", AFTER_NORM)
def test_reattach_keeps_one_hook_per_norm(placement):
    model = spindrop.build_model("lenet5", (1, 28, 28), 10, 0.25)
    method = spindrop.get_method("scale", placement=placement)
    method.attach(model)
    method.attach(model)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert sum(len(m._forward_hooks) for m in norms) == len(dropout_sites(model))
    assert all(isinstance(s, PostNormScaleSite) for s in dropout_sites(model))


def test_after_norm_placement_needs_a_batchnorm():
    with pytest.raises(ValueError, match="placement='mac'"):
        spindrop.get_method("scale", placement="post_bn").attach(nn.Sequential(BinaryLinear(8, 4)))


@pytest.mark.parametrize("params,match", [
    ({"placement": "before_sign"}, "placement 'before_sign' is unknown"),
    ({"alpha_init": float("nan")}, "alpha_init"),
    ({"dropped_value": float("inf")}, "dropped_value"),
    ({"alpha_lr": -1.0}, "alpha_lr"),
    ({"p": 1.0}, "outside"),
])
def test_bad_parameters_raise_one_line_errors(params, match):
    with pytest.raises(ValueError, match=match) as err:
        spindrop.get_method("scale", **params)
    assert "\n" not in str(err.value)


def test_resolved_params_name_every_field():
    params = spindrop.get_method("scale").params()
    assert set(params) == {"p", "rescale", "placement", "alpha_init", "dropped_value", "alpha_lr"}
    assert params["alpha_init"] != params["dropped_value"]


def test_alpha_has_its_own_learning_rate():
    model = spindrop.build_model("lenet5", (1, 28, 28), 10, 0.25)
    spindrop.get_method("scale", placement="post_bn", alpha_lr=0.1).attach(model)
    groups = param_groups(model, 0.01)
    alphas = {id(s.alpha) for s in dropout_sites(model)}
    grouped = [id(p) for g in groups for p in g["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters()), "every parameter exactly once"
    for g in groups:
        is_alpha = {id(p) in alphas for p in g["params"]}
        assert len(is_alpha) == 1
        assert g["lr"] == pytest.approx(0.001 if is_alpha == {True} else 0.01)

"""The open readings as switches (issue 23; docs/design.md "Interpretations"): SpinDrop's ``redraw``,
Scale-Dropout's ``dropped_value`` and the BinaryNet classifier variant of the models, each with its
hardware plan, and the correlation structure each redraw reading gives the outputs.

Correlation test (3×3 binary conv, p = 0.2, 4,000 passes of one image): two horizontally adjacent
windows l, l+1 of one output channel. With ±1 inputs X, all-ones weights and keep bits m,
y_l = Σ_r m_r(l)·X_r(l) over the 9·C_in taps r, so Var y_l = 9·C_in·p(1 − p) and

* ``redraw="window"``: m_r(l), m_r(l+1) independent: ρ = 0;
* ``redraw="image"``: m_r(l) = m_r(l+1) = m_r, so Cov = p(1 − p)·Σ_r X_r(l)·X_r(l+1):
  ρ = Σ_r X_r(l)·X_r(l+1) / (9·C_in), the inputs' correlation under a one-pixel shift;
* ``mc_dropout``: one bit per input element; the 6·C_in elements read by both windows give
  ρ = 6/9 (the issue's measurement: +0.67).

So "image" correlates adjacent windows through the shared word-line bits exactly as far as the input
is shift-invariant: for a constant input it is 1 (as Spatial), for the test image below 1/3. Each
measured ρ̂ must lie within 4 standard errors (1 − ρ²)/√n of its theory.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import get_args

import pytest
import torch
from torch import nn

import spindrop
from hardware import attach_device, get_preset
from spindrop import BinaryConv2d, BinaryLinear, binary_layers
from spindrop.methods.scale import ScaleSite
from spindrop.methods.spindrop_wordline import REDRAWS, RedrawName
from spindrop.models import BINARY_CLASSIFIER

P = 0.2
PASSES = 4000
SHAPES = {"lenet5": (1, 28, 28), "vgg_small": (3, 16, 16)}


def _plan(method: str, model: str, **params):
    net = spindrop.build_model(model, SHAPES[model.removesuffix("_bc")], 10, 0.125)
    m = spindrop.get_method(method, **params)
    m.attach(net)
    return net, m.hardware_plan(net, SHAPES[model.removesuffix("_bc")])


def test_every_redraw_name_has_a_reading():
    assert set(REDRAWS) == set(get_args(RedrawName))
    assert spindrop.get_method("spindrop").config.redraw == "window"  # the documented default
    with pytest.raises(TypeError, match="redraw"):
        spindrop.get_method("spindrop", redraw="pass")


@pytest.mark.parametrize("redraw", sorted(REDRAWS))
@pytest.mark.parametrize("model", sorted(SHAPES))
def test_spindrop_hardware_counts_under_each_redraw(model, redraw):
    """Modules = word lines under both readings; draws per pass = rows × windows ("window") or
    rows ("image") on every binary-input layer, from hooks on the layers' own tensors."""
    net, plan = _plan("spindrop", model, redraw=redraw)
    seen = {}
    hooks = [layer.register_forward_hook(lambda mod, a, out, n=name: seen.__setitem__(n, (a[0].shape, out.shape)))
             for name, layer in binary_layers(net)]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, *SHAPES[model]))
    for h in hooks:
        h.remove()
    layers = dict(binary_layers(net))
    for geom, hw in plan.layers:
        layer = layers[geom.name]
        if not layer.binary_input:
            assert (hw.modules, hw.draws) == (0, 0)
            continue
        (_, c_in, *_), out_shape = seen[geom.name]
        kh, kw = layer.kernel_size if isinstance(layer, BinaryConv2d) else (1, 1)
        windows = out_shape[2] * out_shape[3] if isinstance(layer, BinaryConv2d) else 1
        rows = kh * kw * c_in
        assert hw.modules == rows
        assert hw.draws == rows * (windows if redraw == "window" else 1)


@pytest.mark.parametrize("dropped", [1.0, 0.0])
def test_scale_readings_same_plan_and_dropped_value_used(dropped):
    """Both readings of the dropped scale (α → 1, the default, and α → 0) have one shared unit and
    one draw per scaled layer per pass; a dropped pass multiplies the MAC by ``dropped_value``."""
    assert spindrop.get_method("scale").config.dropped_value == 1.0
    _, plan = _plan("scale", "lenet5", dropped_value=dropped)
    assert plan.shared_modules == 1 and plan.total_modules == 1
    assert [hw.draws for _, hw in plan.layers] == [0, 1, 1, 1, 0]
    site = ScaleSite(spindrop.get_method("scale", p=0.5, dropped_value=dropped).config, 3).train()
    h = torch.ones(2000, 3)
    s = site.scale(h)
    kept = (s == site.config.alpha_init).all(1)
    assert torch.equal(s[~kept], torch.full_like(s[~kept], dropped))
    assert abs(int(kept.sum()) - 1000) <= 4 * math.sqrt(2000 * 0.25)


@pytest.mark.parametrize("model", sorted(BINARY_CLASSIFIER))
def test_binary_classifier_variant_adds_one_dropout_site(model):
    """The variant's classifier binarises its input and every gating method puts one module per
    input on it (Scale: one more draw per pass); the default model's classifier has none."""
    variant = BINARY_CLASSIFIER[model]
    for method, expect in (("spindrop", "in"), ("spatial", "in"), ("mc_dropout", "in"), ("scale", "draw")):
        base_net, base = _plan(method, model)
        net, plan = _plan(method, variant)
        last_base, last = base.layers[-1], plan.layers[-1]
        cls = [m for _, m in binary_layers(net)][-1]
        assert isinstance(cls, BinaryLinear) and cls.binary_input and cls.site is not None
        assert [m for _, m in binary_layers(base_net)][-1].site is None
        assert (last_base[1].modules, last_base[1].draws) == (0, 0)
        if expect == "in":
            assert (last[1].modules, last[1].draws) == (cls.in_features, cls.in_features)
        else:
            assert (last[1].modules, last[1].draws) == (0, 1) and plan.shared_modules == 1
        assert plan.layers[:-1] == base.layers[:-1]


def _adjacent_window_correlation(method: str, channels: int, **params) -> tuple[float, float]:
    """(measured ρ̂ of windows (0, 0) and (0, 1), theory ρ) on a 6×6 ±1 image: +1 everywhere but
    column 3, which is −1 (so Σ_r X_r(l)·X_r(l+1) = 3 per channel: taps j = 0, 1 agree, j = 2 not)."""
    conv = BinaryConv2d(channels, 1, 3, padding=0, binary_input=True)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    net = spindrop.get_method(method, p=P, **params).attach(nn.Sequential(conv)).train()
    x = torch.ones(1, channels, 6, 6)
    x[..., 3] = -1.0
    torch.manual_seed(0)
    with torch.no_grad():
        y = net(x.expand(PASSES, -1, -1, -1).contiguous())[:, 0, 0, :2]
    rho = torch.corrcoef(y.T)[0, 1].item()
    shift = (x[0, :, :3, 0:3] * x[0, :, :3, 1:4]).sum().item() / (9 * channels)
    theory = {"spindrop": 0.0 if params.get("redraw", "window") == "window" else shift,
              "mc_dropout": 6 / 9}[method]
    return rho, theory


@pytest.mark.parametrize("method,params", [("spindrop", {"redraw": "window"}), ("spindrop", {"redraw": "image"}),
                                           ("mc_dropout", {})])
@pytest.mark.parametrize("channels", [1, 4])
def test_adjacent_window_correlation_matches_theory(method, params, channels):
    rho, theory = _adjacent_window_correlation(method, channels, **params)
    se = (1 - theory ** 2) / math.sqrt(PASSES)
    assert abs(rho - theory) <= 4 * se, (method, params, rho, theory, se)


def test_image_redraw_separates_from_window_redraw():
    """The two readings differ by far more than their sampling error on the test image (1/3 vs 0)."""
    window, _ = _adjacent_window_correlation("spindrop", 4, redraw="window")
    image, _ = _adjacent_window_correlation("spindrop", 4, redraw="image")
    assert image - window > 8 / math.sqrt(PASSES)


@pytest.mark.parametrize("redraw", sorted(REDRAWS))
def test_image_redraw_uses_the_device_model(redraw):
    """The device model's modules draw both readings' bits: every module stuck at drop gates every
    word line, so every output is 0."""
    conv = BinaryConv2d(2, 3, 3, padding=1, binary_input=True)
    net = spindrop.get_method("spindrop", p=P, redraw=redraw).attach(nn.Sequential(conv)).train()
    attach_device(net, replace(get_preset("nvsim_sttram").mtj, stuck_at_drop_rate=1.0), seed=0)
    with torch.no_grad():
        y = net(torch.randn(5, 2, 6, 6))
    assert torch.count_nonzero(y) == 0


def test_image_redraw_equals_the_plain_gated_patches():
    """Output and gradients of the grouped-conv path equal the im2col product with the same bits
    repeated at every window (the definition)."""
    torch.manual_seed(1)
    conv = BinaryConv2d(3, 4, 3, padding=1, binary_input=True)
    net = spindrop.get_method("spindrop", p=0.3, redraw="image").attach(nn.Sequential(conv)).train()
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    torch.manual_seed(7)
    y = net(x)
    torch.manual_seed(7)
    keep = conv.site.keep_multiplier((2, 3, 3, 3), (1, 2, 3), x.dtype, x.device)
    x2 = x.detach().clone().requires_grad_(True)
    patches = torch.nn.functional.unfold(spindrop.binary.sign(x2), 3, padding=1)  # (B, 27, 25)
    ref = (conv.binary_weight().flatten(1) @ (patches * keep.flatten(1).unsqueeze(2))).view(2, 4, 5, 5)
    assert torch.allclose(y, ref, atol=1e-5)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (ref * g).sum().backward()
    assert torch.allclose(x.grad, x2.grad, atol=1e-5)

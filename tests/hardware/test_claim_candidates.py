"""The candidate quantities behind the paper's 94.11× (hardware.compare.claim_candidates), checked
against arithmetic written out here from the layer shapes (hooks on the model's own modules).

Both methods run T passes over the same layers (the first layer, which has no dropout site,
once), so T cancels in every draw ratio.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import spindrop
from hardware import DEFAULT
from hardware.compare import (
    claim_candidates,
    compare_spindrop_spatial,
)
from spindrop import BinaryConv2d, BinaryLinear

MODELS = {"vgg_small": (3, 32, 32), "lenet5": (1, 28, 28)}


def _by_hand(model: nn.Sequential, in_shape) -> dict[str, dict[str, int]]:
    """Σ modules and Σ draws per pass of SpinDrop and of Spatial under both FC readings."""
    shapes: dict[nn.Module, tuple] = {}
    handles = [m.register_forward_hook(lambda m, a, o: shapes.__setitem__(m, (tuple(a[0].shape[1:]),
                                                                             tuple(o.shape[1:]))))
               for m in model.modules() if isinstance(m, (BinaryConv2d, BinaryLinear, nn.Flatten))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, *in_shape))
    for h in handles:
        h.remove()
    out = {"spindrop": {"modules": 0, "draws": 0}, "channel": {"modules": 0, "draws": 0},
           "element": {"modules": 0, "draws": 0}}
    stages = list(model)
    for i, m in enumerate(stages):
        if not (isinstance(m, (BinaryConv2d, BinaryLinear)) and m.binary_input):
            continue
        (c_in, *_), (_, *hw_out) = shapes[m]
        if isinstance(m, BinaryConv2d):
            k2 = m.kernel_size[0] * m.kernel_size[1]
            sd_mod, sd_draw = k2 * c_in, k2 * c_in * math.prod(hw_out)
            ch = el = c_in
        else:
            sd_mod = sd_draw = el = c_in
            before = stages[i - 1]
            ch = shapes[before][0][0] if isinstance(before, nn.Flatten) and len(shapes[before][0]) == 3 else c_in
        for key, mod, draw in (("spindrop", sd_mod, sd_draw), ("channel", ch, ch), ("element", el, el)):
            out[key]["modules"] += mod
            out[key]["draws"] += draw
    return out


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    name = request.param
    model = spindrop.build_model(name, MODELS[name], 10, 1.0)
    return name, model, _by_hand(model, MODELS[name]), claim_candidates(model, MODELS[name], T=20,
                                                                       model_name=name, p=0.2)


def _get(cands, quantity, reading):
    (c,) = [c for c in cands if c.quantity == quantity and c.reading == reading]
    return c


def test_network_ratios_match_the_layer_arithmetic(case):
    _, _, hand, cands = case
    for reading in ("channel", "element"):
        modules = _get(cands, "network dropout modules", reading)
        assert (modules.spindrop, modules.spatial) == (hand["spindrop"]["modules"], hand[reading]["modules"])
        draws = _get(cands, "random draws per inference", reading)
        assert draws.value == pytest.approx(hand["spindrop"]["draws"] / hand[reading]["draws"], rel=1e-12)
        energy = _get(cands, "dropout-module energy", reading)
        assert energy.value == pytest.approx(draws.value, rel=1e-9)   # same p, same module event
        total = _get(cands, "total energy (crossbar reads + sense amps + dropout)", reading)
        assert 1.0 < total.value < energy.value
        assert all(c.label == "modelled" for c in cands)


def test_issue_numbers(case):
    name, _, _, cands = case
    channel = _get(cands, "network dropout modules", "channel")
    if name == "vgg_small":   # issue 10: 20736 / 2816 = 7.36× (channel), 1.98× (element)
        assert (channel.spindrop, channel.spatial) == (20736, 2816) and round(channel.value, 2) == 7.36
        assert round(_get(cands, "network dropout modules", "element").value, 2) == 1.98
    else:                     # 670 / 142 = 4.7×
        assert (channel.spindrop, channel.spatial) == (670, 142) and round(channel.value, 1) == 4.7


def test_per_layer_rows(case):
    name, _, _, cands = case
    per_layer = {(c.quantity.split(" (e.g.")[0], c.reading): c.value for c in cands
                 if c.quantity.startswith("per-layer")}
    k = {"vgg_small": 3, "lenet5": 5}[name]
    assert per_layer[(f"per-layer modules, {k}×{k} conv", "both")] == k * k
    hw = {"vgg_small": 4 * 4, "lenet5": 5 * 5}[name]   # H·W of the flattened map
    assert per_layer[("per-layer modules, flatten→FC", "channel")] == hw
    assert per_layer[("per-layer modules, flatten→FC", "element")] == 1


def test_compare_reading_reaches_spatial_only():
    model = spindrop.build_model("lenet5", (1, 28, 28), 10, 0.5)
    c = compare_spindrop_spatial(model, (1, 28, 28), T=4, preset=DEFAULT, fc_grouping="element", p=0.1)
    assert c.params == {"p": 0.1, "rescale": False, "fc_grouping": "element"}
    assert c.spindrop.method_params == {"p": 0.1, "rescale": False, "redraw": "window", "padding_draws": True}


def test_candidates_follow_the_given_p_T_and_preset():
    """Module counts do not depend on p, T or the preset, draws scale with T, dropout energies with T
    and the event energy of the preset at p (both methods at the same p); every such ratio stays."""
    from hardware import event_energy, get_preset

    model = spindrop.build_model("lenet5", (1, 28, 28), 10, 0.5)
    a = {(c.quantity, c.reading): c for c in claim_candidates(model, (1, 28, 28), T=20, p=0.2)}
    b = {(c.quantity, c.reading): c for c in claim_candidates(model, (1, 28, 28), T=10, preset="low_barrier", p=0.1)}
    assert a.keys() == b.keys()
    scale = 0.5 * event_energy(get_preset("low_barrier").mtj, 0.1).total / event_energy(DEFAULT.mtj, 0.2).total
    for key, ca in a.items():
        cb = b[key]
        if ca.quantity == "dropout-module energy":
            assert math.isclose(cb.spindrop, ca.spindrop * scale, rel_tol=1e-9)
            assert math.isclose(cb.value, ca.value, rel_tol=1e-9)
        elif ca.quantity == "random draws per inference":
            assert (cb.spindrop, cb.spatial) == (ca.spindrop // 2, ca.spatial // 2)
        elif "energy" not in ca.quantity:
            assert (cb.spindrop, cb.spatial) == (ca.spindrop, ca.spatial)

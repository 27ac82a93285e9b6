"""MTJ device model: switching formula, inverses, variation, faults, device-drawn masks."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

import spindrop
from hardware import (
    DEFAULT,
    DeviceMaskSampler,
    attach_device,
    detach_device,
    event_energy,
    get_preset,
    p_switch,
    pulse_width,
    write_current,
)
from hardware.device import module_switching_probabilities
from spindrop import BinaryConv2d, BinaryLinear
from spindrop.methods.base import ideal_keep_mask

MTJ = DEFAULT.mtj
PS = [1e-3, 0.01, 0.1, 0.2, 0.5, 0.9, 0.99]


def test_p_switch_monotone_in_current_and_pulse():
    currents = np.linspace(0.5 * MTJ.i_c0, 1.05 * MTJ.i_c0, 200)
    p_i = np.array([p_switch(MTJ, float(i), MTJ.t_pulse) for i in currents])
    assert np.all(np.diff(p_i) >= 0)
    inner = (p_i > 1e-6) & (p_i < 1 - 1e-6)
    assert inner.sum() > 20 and np.all(np.diff(p_i[inner]) > 0)

    pulses = np.geomspace(1e-10, 1e-6, 200)
    p_t = np.array([p_switch(MTJ, 0.9 * MTJ.i_c0, float(t)) for t in pulses])
    assert np.all(np.diff(p_t) >= 0)
    inner = (p_t > 1e-6) & (p_t < 1 - 1e-6)
    assert inner.sum() > 20 and np.all(np.diff(p_t[inner]) > 0)


def test_p_switch_formula_by_hand():
    # I = 0.9·I_c0, t = 5 ns, Δ = 40, τ0 = 1 ns: τ = 1e-9·e^{40·0.1} = 1e-9·e^4 = 54.598 ns,
    # P = 1 − e^{−5/54.598} = 1 − e^{−0.091578} = 0.087510
    assert p_switch(MTJ, 0.9 * MTJ.i_c0, 5e-9) == pytest.approx(1 - math.exp(-5e-9 / (1e-9 * math.e ** 4)), rel=1e-12)
    assert p_switch(MTJ, 0.9 * MTJ.i_c0, 5e-9) == pytest.approx(0.087510, abs=1e-6)


@pytest.mark.parametrize("p", PS)
def test_inverse_current_roundtrip(p):
    for pulse in (1e-9, 5e-9, 20e-9):
        i = write_current(MTJ, p, pulse)
        assert abs(p_switch(MTJ, i, pulse) - p) < 1e-9


@pytest.mark.parametrize("p", PS)
def test_inverse_pulse_roundtrip(p):
    for current in (0.6 * MTJ.i_c0, 0.8 * MTJ.i_c0, 0.95 * MTJ.i_c0):
        t = pulse_width(MTJ, p, current)
        assert t > 0
        assert abs(p_switch(MTJ, current, t) - p) < 1e-9


def test_inverse_rejects_out_of_range_p():
    for p in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError):
            write_current(MTJ, p)


def test_nominal_write_current_by_hand():
    # p = 0.2, t = 5 ns: τ = 5 ns / −ln(0.8) = 22.407 ns; I = I_c0·(1 − ln(22.407)/40)
    # = 40.82 µA · (1 − 3.10938/40) = 40.82 µA · 0.922266 = 37.647 µA
    assert write_current(MTJ, 0.2) == pytest.approx(37.647e-6, rel=1e-4)


def test_config_validation():
    with pytest.raises(ValueError):
        replace(MTJ, delta=0.0)
    with pytest.raises(ValueError):
        replace(MTJ, stuck_at_drop_rate=0.6, stuck_at_keep_rate=0.5)
    with pytest.raises(ValueError):
        replace(MTJ, sigma_ic0=-0.1)


def test_supply_preset_reproduces_nvsim_write_energy():
    # NVSim sample_STTRAM.cell: 0.193895 pJ = 0.95 V · 40.82 µA · 5 ns (V·I·t); unconditional reset
    supply = get_preset("nvsim_sttram_supply").mtj
    assert supply.v_write == pytest.approx(0.95, rel=1e-12)
    assert event_energy(supply, 0.2).reset == pytest.approx(0.193895e-12, rel=1e-9)
    # The MTJ's own Joule heat of that pulse is much smaller: I²·R_P·t = 0.0500 pJ
    assert MTJ.i_reset ** 2 * MTJ.r_p * MTJ.t_reset == pytest.approx(0.0500e-12, rel=1e-3)


# ----------------------------------------------------------------------------- masks

def test_device_masks_keep_rate_binomial_bound():
    p = 0.2
    sampler = DeviceMaskSampler(MTJ, p_target=p, seed=0)
    shape, n = (64, 32, 50), 64 * 32 * 50
    torch.manual_seed(0)
    keep = sampler(shape, (1,), p, torch.device("cpu"))
    assert keep.dtype == torch.bool and tuple(keep.shape) == shape
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(keep.float().mean().item() - (1 - p)) < 4 * sigma
    # σ = 0, no faults: every module has p exactly at target
    assert torch.allclose(sampler.module_p((32,)), torch.full((32,), p, dtype=torch.float64), atol=1e-12)


def test_device_masks_follow_call_p_without_target():
    sampler = DeviceMaskSampler(MTJ, seed=0)
    torch.manual_seed(1)
    for p in (0.1, 0.5):
        keep = sampler((200, 500), (1,), p, torch.device("cpu"))
        sigma = math.sqrt(p * (1 - p) / keep.numel())
        assert abs(keep.float().mean().item() - (1 - p)) < 4 * sigma


def test_module_p_spread_grows_with_sigma():
    stds = []
    for sigma in (0.0, 0.01, 0.03, 0.1):
        cfg = replace(MTJ, sigma_delta=sigma, sigma_ic0=sigma)
        p_mod = DeviceMaskSampler(cfg, 0.2, seed=3).module_p((10_000,))
        stds.append(p_mod.std().item())
    assert stds[0] < 1e-12
    assert stds[1] < stds[2] < stds[3]


def test_variation_is_seeded_and_per_module_shape():
    cfg = replace(MTJ, sigma_delta=0.05, sigma_ic0=0.05)
    a = DeviceMaskSampler(cfg, 0.2, seed=7).module_p((500,))
    b = DeviceMaskSampler(cfg, 0.2, seed=7).module_p((500,))
    c = DeviceMaskSampler(cfg, 0.2, seed=8).module_p((500,))
    assert torch.equal(a, b) and not torch.equal(a, c)
    gen = torch.Generator().manual_seed(0)
    assert module_switching_probabilities(cfg, 0.2, (3, 4), gen).shape == (3, 4)


def test_stuck_at_faults_give_constant_modules():
    f_drop, f_keep, n, draws = 0.05, 0.03, 4000, 200
    cfg = replace(MTJ, stuck_at_drop_rate=f_drop, stuck_at_keep_rate=f_keep)
    sampler = DeviceMaskSampler(cfg, 0.2, seed=11)
    torch.manual_seed(2)
    keep = sampler((draws, n), (1,), 0.2, torch.device("cpu"))
    always_drop = (~keep).all(0).sum().item()   # modules that never keep
    always_keep = keep.all(0).sum().item()      # modules that never drop
    # A healthy module at p = 0.2 is constant over 200 draws with probability 0.8^200 ≈ 4e-20.
    for count, f in ((always_drop, f_drop), (always_keep, f_keep)):
        assert abs(count - f * n) < 4 * math.sqrt(n * f * (1 - f))


def test_zero_target_never_drops_except_stuck():
    cfg = replace(MTJ, stuck_at_drop_rate=0.1)
    p_mod = DeviceMaskSampler(cfg, 0.0, seed=0).module_p((1000,))
    assert set(p_mod.unique().tolist()) <= {0.0, 1.0}
    assert 0 < (p_mod == 1).sum().item() < 200


def _tiny_model() -> nn.Sequential:
    return nn.Sequential(
        BinaryConv2d(1, 4, 3, padding=1, binary_input=False), nn.BatchNorm2d(4),
        BinaryConv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Flatten(),
        BinaryLinear(8 * 6 * 6, 10), nn.BatchNorm1d(10),
    )


@pytest.mark.parametrize("name", spindrop.list_methods())
def test_attach_device_runs_every_method(name):
    torch.manual_seed(0)
    model = spindrop.get_method(name).attach(_tiny_model())
    attach_device(model, get_preset("nvsim_sttram_variation").mtj, seed=5)
    sites = spindrop.dropout_sites(model)
    samplers = [s.sampler for s in sites]
    assert all(isinstance(s, DeviceMaskSampler) for s in samplers)
    if any(s.shared_unit for s in sites):                        # Scale: one module for the model
        assert len({id(s) for s in samplers}) == 1
    else:
        assert len({id(s) for s in samplers}) == len(samplers)   # one per site
        assert [s.seed for s in samplers] == list(range(5, 5 + len(samplers)))
    x = torch.randn(8, 1, 6, 6)
    out = spindrop.mc_predict(model, x, T=4, seed=0)
    assert out.probs.shape == (4, 8, 10)
    if name in ("mc_dropout", "spindrop", "spatial"):
        model.train()
        a, b = model(x), model(x)
        assert a.shape == (8, 10) and not torch.equal(a, b)      # masks differ between passes
        assert not torch.allclose(out.probs[0], out.probs[1])
    detach_device(model)
    assert all(s.sampler is ideal_keep_mask for s in spindrop.dropout_sites(model))


def test_attach_device_masks_reach_the_mac():
    # With every module stuck at drop, a gated layer sees only zeros: its MAC output is 0.
    model = spindrop.get_method("spindrop").attach(_tiny_model())
    attach_device(model, replace(MTJ, stuck_at_drop_rate=1.0))
    layer = model[2]
    model.train()
    x = torch.randn(3, 4, 6, 6)
    assert torch.count_nonzero(layer(x)) == 0

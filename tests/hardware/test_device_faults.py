"""Device faults and variation reach the masks and the energy: per-method fault semantics, the
shared Scale-Dropout unit, σ = 0 equals the ideal sampler, realised-p energy (docs/hardware.md §7)."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

import spindrop
from hardware import (
    DEFAULT,
    DeviceMaskSampler,
    attach_device,
    cost_report,
    device_masks,
    event_energy,
    get_preset,
)
from hardware.device import (
    draw_module_parameters,
    module_event_energies,
    programmed_current,
    write_current,
)
from hardware.presets import HardwarePreset
from hardware.sampler import layer_events
from spindrop import BinaryConv2d, BinaryLinear, mc_predict
from spindrop.methods.base import ideal_keep_mask

MTJ = DEFAULT.mtj
STOCHASTIC = ("mc_dropout", "spindrop", "spatial", "scale")
SHAPE = (1, 8, 8)


def _model() -> nn.Sequential:
    """Three binary-input layers (two convs, one FC) after a real-input conv."""
    return nn.Sequential(
        BinaryConv2d(1, 4, 3, padding=1, binary_input=False), nn.BatchNorm2d(4),
        BinaryConv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6),
        BinaryConv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.Flatten(),
        BinaryLinear(6 * 8 * 8, 10), nn.BatchNorm1d(10),
    )


def _net(name: str, **params) -> nn.Sequential:
    torch.manual_seed(0)
    model = spindrop.get_method(name, **params).attach(_model())
    model.eval()
    return model


def _binary_input(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, 1.0, -1.0)


@torch.no_grad()
def test_stuck_at_drop_one_gates_every_word_line_of_spindrop():
    model = _net("spindrop")
    attach_device(model, replace(MTJ, stuck_at_drop_rate=1.0))
    x = _binary_input(torch.randn(3, 4, 8, 8))
    for layer, inp in ((model[2], x), (model[7], _binary_input(torch.randn(3, 6 * 8 * 8)))):
        with spindrop.mc_sampling(model):
            gated = layer(inp)
        assert torch.equal(gated, layer.mac(torch.zeros_like(inp)))  # the MAC of a zero input
        assert torch.count_nonzero(layer.mac(inp)) > 0                 # and the input was not zero


@pytest.mark.parametrize("name", STOCHASTIC)
@torch.no_grad()
def test_stuck_at_keep_one_makes_mc_samples_identical(name):
    model = _net(name, placement="mac") if name == "scale" else _net(name)
    x = torch.randn(16, *SHAPE)
    ideal = mc_predict(model, x, T=6, seed=0).probs
    assert not torch.allclose(ideal[0], ideal[1:].mean(0))  # ideal masks do vary between samples
    with device_masks(model, replace(MTJ, stuck_at_keep_rate=1.0), seed=3):
        stuck = mc_predict(model, x, T=6, seed=0).probs
    assert torch.equal(stuck, stuck[:1].expand_as(stuck))
    assert all(s.sampler is ideal_keep_mask for s in spindrop.dropout_sites(model))  # restored on exit


@pytest.mark.parametrize("placement", ["mac", "post_bn", "classifier"])
def test_scale_has_exactly_one_device_sampler(placement):
    model = _net("scale", placement=placement)
    attach_device(model, get_preset("nvsim_sttram_variation").mtj, seed=4)
    scale_sites = spindrop.dropout_sites(model)
    assert len(scale_sites) == (1 if placement == "classifier" else 3)
    samplers = {id(s.sampler) for s in scale_sites}
    assert len(samplers) == 1 and isinstance(scale_sites[0].sampler, DeviceMaskSampler)
    with torch.no_grad(), spindrop.mc_sampling(model):
        model(torch.randn(2, *SHAPE))
    delta, _, _ = scale_sites[0].sampler.drawn_modules()
    assert delta.numel() == 1  # one physical unit for the whole model, as the cost model counts it


@torch.no_grad()
def test_scale_single_stuck_unit_makes_the_network_deterministic():
    model = _net("scale", placement="mac")
    x = torch.randn(8, *SHAPE)
    for rate in ("stuck_at_drop_rate", "stuck_at_keep_rate"):
        with device_masks(model, replace(MTJ, **{rate: 1.0}), seed=0):
            probs = mc_predict(model, x, T=5, seed=1).probs
        assert torch.equal(probs, probs[:1].expand_as(probs))


def test_other_methods_get_one_sampler_per_site():
    model = _net("spatial")
    attach_device(model, MTJ, seed=10)
    assert [s.sampler.seed for s in spindrop.dropout_sites(model)] == [10, 11, 12]


@pytest.mark.parametrize("module_dims", [(1,), (1, 2)])
def test_ideal_device_matches_ideal_sampler_statistics(module_dims):
    # σ = 0, no faults, no drift: keep rate and the per-module keep-rate spread of the device
    # sampler agree with the ideal sampler within 4 standard deviations.
    p, shape = 0.2, (400, 16, 12)
    device = DeviceMaskSampler(MTJ, seed=0)
    torch.manual_seed(5)
    a = device(shape, module_dims, p, torch.device("cpu")).float()
    b = ideal_keep_mask(shape, module_dims, p, torch.device("cpu")).float()
    n = a.numel()
    assert abs(a.mean() - b.mean()) < 4 * math.sqrt(2 * p * (1 - p) / n)
    assert abs(a.mean() - (1 - p)) < 4 * math.sqrt(p * (1 - p) / n)
    # per (module position) rates over the 400 draws: binomial variance p(1-p)/400 for both
    var = p * (1 - p) / shape[0]
    for keep in (a, b):
        rates = keep.mean(0).flatten()
        m = rates.numel()
        # sample variance of m binomial rates: relative std ≈ sqrt(2/(m−1))
        assert abs(rates.var().item() / var - 1) < 4 * math.sqrt(2 / (m - 1))


def test_p_drift_moves_the_realised_p():
    for drift in (-0.1, 0.05):
        cfg = replace(MTJ, p_drift=drift)
        p_mod = DeviceMaskSampler(cfg, 0.2, seed=0).module_p((50,))
        assert torch.allclose(p_mod, torch.full((50,), 0.2 * (1 + drift), dtype=torch.float64), atol=1e-12)
    # a 10 % drift of p needs only a ~0.3 % write-current error at Δ = 40 (docs/hardware.md §7)
    rel = programmed_current(replace(MTJ, p_drift=0.1), 0.2) / write_current(MTJ, 0.2) - 1
    assert 0.002 < rel < 0.004
    with pytest.raises(ValueError, match="p_drift"):
        programmed_current(replace(MTJ, p_drift=5.0), 0.2)


def test_module_energies_of_an_ideal_device_equal_the_nominal_event():
    params = draw_module_parameters(MTJ, (7,), torch.Generator().manual_seed(0))
    for cfg in (MTJ, get_preset("nvsim_sttram_supply").mtj, replace(MTJ, conditional_reset=True)):
        nominal = event_energy(cfg, 0.2)
        for got, want in zip(module_event_energies(cfg, 0.2, params), (nominal.write, nominal.read, nominal.reset)):
            assert torch.allclose(got, torch.full_like(got, want), rtol=1e-12, atol=0)


def test_stuck_module_energies_by_hand():
    cfg = replace(MTJ, stuck_at_drop_rate=0.5, stuck_at_keep_rate=0.5)
    delta, i_c0, fault = draw_module_parameters(cfg, (200,), torch.Generator().manual_seed(1))
    assert set(fault.tolist()) == {1, -1}
    write, read, reset = module_event_energies(cfg, 0.2, (delta, i_c0, fault))
    i_w = write_current(cfg, 0.2)
    r = torch.where(fault == 1, cfg.r_ap, cfg.r_p).double()  # stuck in AP (drop) or P (keep) through every pulse
    assert torch.allclose(write, i_w ** 2 * cfg.t_pulse * r, rtol=1e-12)
    assert torch.allclose(read, cfg.v_read ** 2 * cfg.t_read / r, rtol=1e-12)
    assert torch.allclose(reset, cfg.i_reset ** 2 * cfg.t_reset * r, rtol=1e-12)


def _preset(mtj) -> HardwarePreset:
    return replace(DEFAULT, name="test_device", mtj=mtj)


@pytest.mark.parametrize("name", STOCHASTIC)
def test_realised_energy_of_an_ideal_chip_is_the_nominal_energy(name):
    # A zero-rate fault makes the preset non-ideal in form only: the realised path must agree.
    method = spindrop.get_method(name)
    nominal = cost_report(_model(), method, SHAPE, T=4)
    realised = cost_report(_model(), method, SHAPE, T=4, preset=_preset(replace(MTJ, p_drift=1e-12)))
    assert realised.events and realised.energy.dropout == pytest.approx(nominal.energy.dropout, rel=1e-9)
    assert realised.p_realised == pytest.approx(0.2, rel=1e-9)


def test_variation_changes_spindrop_energy_and_realised_p():
    method = spindrop.get_method("spindrop")
    plain = cost_report(_model(), method, SHAPE, T=4, preset="nvsim_sttram")
    varied = cost_report(_model(), method, SHAPE, T=4, preset="nvsim_sttram_variation", chip_seed=0)
    assert plain.events == {} and plain.p_realised == pytest.approx(0.2)
    assert varied.energy.dropout != pytest.approx(plain.energy.dropout, rel=1e-3)
    assert varied.p_realised > 0.25  # σ = 5 % pushes the mean module p up (docs/hardware.md §7)
    # the same chip as the masks: layer_events draws the modules attach_device(seed) draws
    events = layer_events(_model(), method, SHAPE, get_preset("nvsim_sttram_variation").mtj, seed=0)
    model = _net("spindrop")
    attach_device(model, get_preset("nvsim_sttram_variation").mtj, seed=0)
    with torch.no_grad(), spindrop.mc_sampling(model):
        model(torch.zeros(1, *SHAPE))
    for (lname, layer) in spindrop.binary_layers(model):
        if layer.site is not None:
            sampler = layer.site.sampler
            (module_shape,) = sampler._params
            p_mean = sampler.module_p(module_shape, 0.2).mean().item()
            assert events[lname].p == pytest.approx(p_mean, rel=1e-12)


def test_spindrop_on_the_compiled_kernel_realises_each_modules_p():
    """With variation, SpinDrop's conv sites take the compiled kernel (the sampler gives it its
    modules' thresholds): the layer equals the reference under the kernel's mask, and each word
    line's keep rate over 64 images × 64 windows is 1 − round(p_i·2^8)/2^8 of its own module, to
    4 sigma."""
    from spindrop.kernels import wordline
    from spindrop.methods.sites import WordLineSite, wordline_mac_reference

    if not wordline.available():
        pytest.skip("no C compiler: the kernel is not built here")
    model = _net("spindrop")
    attach_device(model, get_preset("nvsim_sttram_variation").mtj, seed=0)
    layer = model[2]
    sampler = layer.site.sampler
    x = torch.ones(64, 4, 8, 8)
    with torch.no_grad(), spindrop.mc_sampling(model):
        torch.manual_seed(3)
        seed = wordline.draw_seed()
        torch.manual_seed(3)
        out = layer.site(layer, x)
    thresholds = sampler.module_thresholds((4, 3, 3), 0.2, torch.device("cpu"))
    mask = wordline.keep_mask(tuple(x.shape), (3, 3), (1, 1), thresholds, 1.0, seed)
    replay = WordLineSite(layer.site.config)
    replay.mc = True
    replay.sampler = lambda shape, module_dims, p, device: (mask > 0).reshape(shape)
    with torch.no_grad():
        assert torch.allclose(out, wordline_mac_reference(replay, layer, x), atol=1e-4)
    q = 1 - sampler.module_p((4, 3, 3), 0.2).mul(256).round().div(256).reshape(-1)
    rates = mask.double().mean(dim=(0, 4, 5)).reshape(-1)
    n = 64 * 8 * 8
    assert ((rates - q).abs() <= 4 * (q * (1 - q) / n).sqrt() + 1e-12).all()
    assert q.std() > 0  # variation: the modules differ

"""Crossbar mapping and cost model: hand-computed values, invariants, new architectures."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

import spindrop
from hardware import (
    DEFAULT,
    CostReport,
    CrossbarConfig,
    compare_spindrop_spatial,
    cost_report,
    get_preset,
    list_presets,
    map_model,
)
from spindrop import BinaryConv2d, BinaryLinear

T = 20
SHAPE = (1, 6, 6)
# Default preset with a 16×16 tile, so tiling is non-trivial on the small model below.
TILE16 = replace(DEFAULT, name="tile16", crossbar=CrossbarConfig(rows=16, cols=16))


def small_model() -> nn.Sequential:
    """conv0: BinaryConv2d 1→4, 3×3, pad 1, full-precision input (image), 6×6 → 6×6
    conv2: BinaryConv2d 4→8, 3×3, pad 1, binary input, 6×6 → 6×6
    fc5:   BinaryLinear 8·6·6 = 288 → 20, binary input
    """
    torch.manual_seed(0)
    return nn.Sequential(
        BinaryConv2d(1, 4, 3, padding=1, binary_input=False), nn.BatchNorm2d(4),
        BinaryConv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Flatten(),
        BinaryLinear(288, 20), nn.BatchNorm1d(20),
    )


def test_mapping_by_hand():
    m = {lm.name: lm for lm in map_model(small_model(), SHAPE, TILE16.crossbar)}
    assert list(m) == ["0", "2", "5"]
    # conv0: rows = 3·3·1 = 9, cols = 4, windows = 6·6 = 36, tiles = ceil(9/16)·ceil(4/16) = 1·1
    assert (m["0"].rows, m["0"].cols, m["0"].windows, m["0"].tiles) == (9, 4, 36, 1)
    # conv2: rows = 3·3·4 = 36, cols = 8, windows = 36, tiles = ceil(36/16)·ceil(8/16) = 3·1 = 3
    assert (m["2"].rows, m["2"].cols, m["2"].windows, m["2"].row_blocks, m["2"].tiles) == (36, 8, 36, 3, 3)
    # fc5: rows = 288, cols = 20, windows = 1, tiles = ceil(288/16)·ceil(20/16) = 18·2 = 36
    assert (m["5"].rows, m["5"].cols, m["5"].windows, m["5"].row_blocks, m["5"].col_blocks,
            m["5"].tiles) == (288, 20, 1, 18, 2, 36)
    # cells = rows·cols·2 (complementary pair): 72, 576, 11520
    assert [m[k].cells for k in ("0", "2", "5")] == [72, 576, 11520]
    # default 128×128 tile: fc5 → ceil(288/128)·ceil(20/128) = 3·1
    assert map_model(small_model(), SHAPE)[2].tiles == 3


# modules and draws per pass of (conv0, conv2, fc5), shared modules
EXPECTED = {
    # no dropout
    "deterministic": ((0, 0), (0, 0), (0, 0), 0),
    # one module per input element: conv2 C_in·H·W = 4·6·6 = 144, fc5 in = 288
    "mc_dropout": ((0, 0), (144, 144), (288, 288), 0),
    # one module per word line: conv2 k²·C_in = 36 modules, 36·(6·6 windows) = 1296 draws; fc5 288
    "spindrop": ((0, 0), (36, 1296), (288, 288), 0),
    # one module per input channel: conv2 C_in = 4; fc5 reads the flattened 8×6×6 map: one module
    # per channel (fc_grouping="channel", the default) = 8
    "spatial": ((0, 0), (4, 4), (8, 8), 0),
    # one shared module; one draw per scaled (binary-input) layer
    "scale": ((0, 0), (0, 1), (0, 1), 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_modules_and_draws_by_hand(name):
    r = cost_report(small_model(), name, SHAPE, T=T, preset=TILE16)
    *per_layer, shared = EXPECTED[name]
    assert [(lc.modules, lc.draws_per_pass) for lc in r.layers] == list(per_layer)
    assert r.shared_modules == shared
    assert r.modules == sum(m for m, _ in per_layer) + shared
    stochastic = name != "deterministic"
    assert r.sampling is stochastic and r.passes == (T if stochastic else 1)
    # conv0 precedes the first stochastic layer: evaluated once and reused
    assert [lc.passes for lc in r.layers] == ([1, T, T] if stochastic else [1, 1, 1])
    assert r.draws == T * sum(d for _, d in per_layer)
    assert r.tiles == 1 + 3 + 36


def _event_energy_by_hand(p: float) -> tuple[float, float, float]:
    """Dropout-module event at the default preset, written out independently of hardware.device."""
    mtj = DEFAULT.mtj
    assert (mtj.delta, mtj.i_c0, mtj.tau0, mtj.t_pulse) == (40.0, 40.82e-6, 1e-9, 5e-9)
    assert (mtj.r_p, mtj.r_ap, mtj.v_read, mtj.t_read) == (6000.0, 12000.0, 0.25, 0.8e-9)
    assert (mtj.i_reset, mtj.t_reset, mtj.v_write, mtj.conditional_reset) == (40.82e-6, 5e-9, None, False)
    # write: τ = 5 ns / −ln(0.8) = 22.407 ns; I_w = 40.82 µA·(1 − ln(22.407)/40) = 37.647 µA;
    # time share in P = τ·p/t = p/(−ln(1 − p)) = 0.2/0.22314 = 0.89628;
    # R_w = 12 kΩ − 6 kΩ·0.89628 = 6622.3 Ω; E_w = I_w²·t·R_w = 1.4173e-9·5e-9·6622.3 = 4.6928e-14 J
    tau = 5e-9 / -math.log(1 - p)
    i_w = 40.82e-6 * (1 - math.log(tau / 1e-9) / 40)
    r_w = 12000 - 6000 * p / -math.log(1 - p)
    e_write = i_w ** 2 * 5e-9 * r_w
    # read: V²·t·(p/R_AP + (1 − p)/R_P) = 0.0625·0.8e-9·(0.2/12k + 0.8/6k) = 5e-11·1.5e-4 = 7.5e-15 J
    e_read = 0.25 ** 2 * 0.8e-9 * (p / 12000 + (1 - p) / 6000)
    # reset at I_r = I_c0: τ_r = τ0 = 1 ns, P_r = 1 − e^{−5} = 0.99326, AP share = τ_r·P_r/t_r = 0.19865,
    # R_r = 6 kΩ + 6 kΩ·0.19865 = 7191.9 Ω; switched (p) at R_r, others (1 − p) in P:
    # E_reset = (40.82 µA)²·5 ns·(0.2·7191.9 + 0.8·6000) = 1.6663e-9·5e-9·6238.4 = 5.1974e-14 J
    r_r = 6000 + 6000 * (1e-9 * (1 - math.exp(-5)) / 5e-9)
    e_reset = (40.82e-6) ** 2 * 5e-9 * (p * r_r + (1 - p) * 6000)
    return e_write, e_read, e_reset


def test_event_energy_by_hand():
    w, r, z = _event_energy_by_hand(0.2)
    assert w == pytest.approx(4.6928e-14, rel=1e-4)
    assert r == pytest.approx(7.5e-15, rel=1e-12)
    assert z == pytest.approx(5.1974e-14, rel=1e-4)
    ev = cost_report(small_model(), "spatial", SHAPE, T=T, preset=TILE16).event
    assert (ev.write, ev.read, ev.reset) == pytest.approx((w, r, z), rel=1e-9)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_energy_breakdown_by_hand(name):
    r = cost_report(small_model(), name, SHAPE, T=T, preset=TILE16)
    stochastic = name != "deterministic"
    passes = [1, T, T] if stochastic else [1, 1, 1]
    # cell read per cell per window: V²·t/R_avg, R_avg = 2/(1/6k + 1/12k) = 8 kΩ:
    # 0.0625 · 0.8e-9 / 8000 = 6.25e-15 J
    cell = 0.25 ** 2 * 0.8e-9 / 8000
    # conv0 reads the real-valued image bit-serially: 8 bit planes, each a crossbar read and a sense
    bits = [8, 1, 1]
    # cells·windows: conv0 72·36 = 2592, conv2 576·36 = 20736, fc5 11520·1 = 11520
    cells_windows = [2592, 20736, 11520]
    xbar = [n * P * b * cell for n, P, b in zip(cells_windows, passes, bits)]
    # sense events per pass = windows·cols·row_blocks·bits: conv0 36·4·1·8 = 1152, conv2 36·8·3 = 864,
    # fc5 1·20·18 = 360; E_sense = 10.26e-14 J (NVSim 45 nm)
    senses = [n * P * b for n, P, b in zip([144, 864, 360], passes, bits)]
    sense = [n * 10.26e-14 for n in senses]
    # conv0's 8 bit planes are combined by one shift-and-add per sense: 0.1 pJ (Horowitz 2014, 32-bit add)
    shift_add = [senses[0] * 0.1e-12, 0.0, 0.0]
    # Scale multiplies every output of a scaled layer: conv2 8·36 = 288, fc5 20 per pass; 1.1 pJ (FP16)
    mults = [0, 288 * T, 20 * T] if name == "scale" else [0, 0, 0]
    w, rd, z = _event_energy_by_hand(0.2)
    draws = [d * P for (_, d), P in zip(EXPECTED[name][:3], passes)]
    for lc, x, s, d, a, m in zip(r.layers, xbar, sense, draws, shift_add, mults):
        assert lc.energy.crossbar_read == pytest.approx(x, rel=1e-12)
        assert lc.energy.sense_amp == pytest.approx(s, rel=1e-12)
        assert lc.energy.dropout_write == pytest.approx(d * w, rel=1e-9)
        assert lc.energy.dropout_read == pytest.approx(d * rd, rel=1e-9)
        assert lc.energy.dropout_reset == pytest.approx(d * z, rel=1e-9)
        assert lc.energy.input_shift_add == pytest.approx(a, rel=1e-12)
        assert lc.energy.alpha_multiply == pytest.approx(m * 1.1e-12, rel=1e-12)
        assert lc.energy.mask_latch == pytest.approx(d * 1e-15, rel=1e-12)  # one latch write per draw
    # totals, e.g. spindrop: crossbar 6.25e-15·(2592·8 + 20·(20736 + 11520)) = 4.1616e-9 J,
    # sense 10.26e-14·(1152 + 20·(864 + 360)) = 2.62984e-9 J, dropout 20·1584·1.06402e-13 = 3.37082e-9 J
    e = r.energy
    extra = sum(shift_add) + sum(mults) * 1.1e-12 + sum(draws) * 1e-15
    assert e.crossbar_read == pytest.approx(sum(xbar), rel=1e-12)
    assert e.sense_amp == pytest.approx(sum(sense), rel=1e-12)
    assert e.dropout == pytest.approx(sum(draws) * (w + rd + z), rel=1e-9)
    assert e.total == pytest.approx(sum(xbar) + sum(sense) + sum(draws) * (w + rd + z) + extra, rel=1e-9)
    if name == "spindrop":
        assert e.crossbar_read == pytest.approx(4.1616e-9, rel=1e-5)
        assert e.sense_amp == pytest.approx(2.62984e-9, rel=1e-5)
        assert e.dropout == pytest.approx(3.37082e-9, rel=1e-4)


def test_deterministic_pays_one_pass_whatever_T():
    a = cost_report(small_model(), "deterministic", SHAPE, T=1)
    b = cost_report(small_model(), "deterministic", SHAPE, T=50)
    assert a.energy.total == b.energy.total and b.passes == 1 and not b.sampling
    assert "deterministic" in b.passes_note


def test_reuse_prefix_off_runs_every_layer_T_times():
    r = cost_report(small_model(), "spatial", SHAPE, T=T, reuse_prefix=False)
    assert [lc.passes for lc in r.layers] == [T, T, T]


@pytest.mark.parametrize("name", spindrop.list_methods())
@pytest.mark.parametrize("preset", list_presets())
def test_invariants_every_method(name, preset):
    model = spindrop.build_model("lenet5", (1, 28, 28), width=0.5)
    r = cost_report(model, name, (1, 28, 28), T=5, preset=preset)
    assert isinstance(r, CostReport)
    for lc in r.layers:
        for v in (lc.rows, lc.cols, lc.windows, lc.tiles, lc.cells, lc.modules, lc.draws_per_pass, lc.passes,
                  lc.draws):
            assert isinstance(v, int) and v >= 0
        e = lc.energy
        assert min(e.crossbar_read, e.sense_amp, e.dropout_write, e.dropout_read, e.dropout_reset) >= 0
    assert r.modules == spindrop.get_method(name).hardware_plan(model, (1, 28, 28)).total_modules
    frame = r.to_frame()
    assert len(frame) == r.copies * len(r.layers) + 1 and frame.iloc[-1]["layer"] == "total"
    total = frame.iloc[-1]
    assert total["E_total_J"] == pytest.approx(frame.iloc[:-1]["E_total_J"].sum(), rel=1e-12)
    assert total["draws"] == frame.iloc[:-1]["draws"].sum()
    assert total["modules"] == frame.iloc[:-1]["modules"].sum() + r.shared_modules
    assert frame.attrs["modelled"] is True


def test_new_architecture_is_priced_without_changes():
    """A topology nobody registered: stride-2 5×5 conv, 1×1 conv, pooling, two FC layers."""
    model = nn.Sequential(
        BinaryConv2d(3, 6, 5, stride=2, binary_input=False), nn.BatchNorm2d(6),   # 3×17×17 → 6×7×7
        BinaryConv2d(6, 10, 1), nn.MaxPool2d(2), nn.BatchNorm2d(10),               # → 10×7×7 → 10×3×3
        nn.Flatten(), BinaryLinear(90, 12), nn.BatchNorm1d(12),
        BinaryLinear(12, 5, binary_input=False), nn.BatchNorm1d(5),
    )
    shape = (3, 17, 17)
    sd = cost_report(model, "spindrop", shape, T=4, preset=TILE16)
    assert [(lc.rows, lc.cols, lc.windows) for lc in sd.layers] == [(75, 6, 49), (6, 10, 49), (90, 12, 1),
                                                                    (12, 5, 1)]
    # tiles: ceil(75/16)=5, ceil(6/16)=1, ceil(90/16)=6, ceil(12/16)=1
    assert [lc.tiles for lc in sd.layers] == [5, 1, 6, 1]
    # spindrop on the 1×1 conv: rows = 6 modules, 6·49 draws; FC 90 → 90
    assert [(lc.modules, lc.draws_per_pass) for lc in sd.layers] == [(0, 0), (6, 294), (90, 90), (0, 0)]
    cmp = compare_spindrop_spatial(model, shape, T=4, preset=TILE16)
    # 1×1 conv: k² = 1; the FC reads the flattened 10×3×3 map: 90 word lines / 10 channels = 9
    assert [lr.ratio for lr in cmp.layers] == [1.0, 9.0]
    for name in spindrop.list_methods():
        assert cost_report(model, name, shape, T=4).energy.total > 0


def test_hardware_code_names_no_architecture():
    root = Path(__file__).resolve().parents[2] / "hardware"
    for module in ("cost.py", "crossbar.py", "device.py", "compare.py", "presets.py"):
        text = (root / module).read_text().lower()
        for arch in ("vgg", "resnet", "lenet", "mlp"):
            assert arch not in text, f"{module} names architecture {arch}"


def test_compare_spindrop_spatial_small_model():
    cmp = compare_spindrop_spatial(small_model(), SHAPE, T=T, preset=TILE16, fc_grouping="element")
    # conv2: 3·3·4 / 4 = 9; fc5: 288 / 288 = 1
    assert [(lr.layer, lr.ratio) for lr in cmp.layers] == [("2", 9.0), ("5", 1.0)]
    # network modules: (36 + 288) / (4 + 288) = 324 / 292
    assert cmp.module_ratio.value == pytest.approx(324 / 292)
    # draws: (1296 + 288) / (4 + 288) = 1584 / 292 (same p and module ⇒ dropout energy ratio equal)
    assert cmp.draw_ratio.value == pytest.approx(1584 / 292)
    assert cmp.dropout_energy_ratio.value == pytest.approx(1584 / 292, rel=1e-9)
    assert cmp.dropout_energy_ratio.paper == 94.11
    assert 1.0 < cmp.total_energy_ratio.value < cmp.dropout_energy_ratio.value
    assert all(r.label == "modelled" for r in cmp.ratios())
    assert "modelled" in str(cmp) and len(cmp.to_frame()) == 4


def test_unknown_preset_lists_known():
    with pytest.raises(LookupError, match="nvsim_sttram"):
        get_preset("nope")
    with pytest.raises(ValueError):
        cost_report(small_model(), "spatial", SHAPE, T=0)


def test_table_main_prints_markdown(capsys):
    from hardware.table import main

    main(["--T", "2", "--width", "0.125"])
    out = capsys.readouterr().out
    assert "| vgg_small 3×32×32 | spindrop |" in out and "| lenet5 |" in out
    assert "modelled" in out and "94.11" in out


def test_classifier_real_valued_input_is_bit_serial():
    """The default LeNet-5 classifier reads real-valued BatchNorm outputs (8 bit planes); the BinaryNet
    variant binarises them (1 plane, no shift-add) and gains the method's draws instead."""
    shape = (1, 28, 28)
    plain = cost_report(spindrop.build_model("lenet5", shape, 10, 0.5), "spindrop", shape, T=4)
    binary = cost_report(spindrop.build_model("lenet5_bc", shape, 10, 0.5), "spindrop", shape, T=4)
    a, b = plain.layers[-1], binary.layers[-1]
    assert (a.input_bits, b.input_bits) == (8, 1)
    # classifier 42 → 10, one row block: 4 passes · 1 window · 10 cols · 8 bits shift-adds of 0.1 pJ
    assert a.energy.input_shift_add == pytest.approx(4 * 10 * 8 * 0.1e-12, rel=1e-12)
    assert b.energy.input_shift_add == 0.0
    assert a.energy.crossbar_read == pytest.approx(8 * b.energy.crossbar_read, rel=1e-12)
    assert (a.draws_per_pass, b.draws_per_pass) == (0, 42)


def test_area_by_hand():
    """Area of the small model on 16×16 tiles: tiles 1 + 3 + 36 = 40 of 16·16·2 cells of 57.5 F² at 45 nm,
    16 sense amplifiers of 50,000 F² per tile, one cell and one latch (4.522 µm²) per dropout module."""
    f2 = (45e-9) ** 2
    cells = 40 * 16 * 16 * 2 * 57.5 * f2          # 40 · 512 · 1.164375e-13 = 2.38464e-9 m²
    sense = 40 * 16 * 50_000 * f2                 # 640 · 1.0125e-10 = 6.48e-8 m²
    for name, ((_, _), (m2, _), (m5, _), shared) in EXPECTED.items():
        r = cost_report(small_model(), name, SHAPE, T=T, preset=TILE16)
        modules = m2 + m5 + shared
        assert r.area.cells == pytest.approx(cells, rel=1e-12)
        assert r.area.sense_amps == pytest.approx(sense, rel=1e-12)
        assert r.area.modules == pytest.approx(modules * 57.5 * f2, rel=1e-12)
        assert r.area.latches == pytest.approx(modules * 4.522e-12, rel=1e-12)
        assert r.area.total_mm2 == pytest.approx((cells + sense + modules * (57.5 * f2 + 4.522e-12)) * 1e6,
                                                 rel=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_latency_by_hand(name):
    """Latency: layers, windows and passes in sequence; t_read = 0.8 ns per bit plane; a module cycle
    t_pulse + t_read + t_reset = 5 + 0.8 + 5 = 10.8 ns each time a layer's modules fire."""
    r = cost_report(small_model(), name, SHAPE, T=T, preset=TILE16)
    stochastic = name != "deterministic"
    passes = [1, T, T] if stochastic else [1, 1, 1]
    reads = [36 * 8, 36, 1]  # windows · bit planes
    (_, _), (m2, d2), (m5, d5), shared = EXPECTED[name]
    # firings per pass: spindrop conv2 1296 / 36 = 36 (every window), others once; Scale's shared
    # module fires once per scaled layer
    rounds = [0, -(-d2 // m2) if m2 else d2, -(-d5 // m5) if m5 else d5]
    want = [P * (n * 0.8e-9 + k * 10.8e-9) for P, n, k in zip(passes, reads, rounds)]
    assert [lc.latency for lc in r.layers] == pytest.approx(want, rel=1e-12)
    assert r.latency == pytest.approx(sum(want), rel=1e-12)
    if name == "spindrop":  # 36 module cycles per pass on conv2: 20·(36·0.8 + 36·10.8 + 0.8 + 10.8) + 230.4 ns
        assert r.latency == pytest.approx(20 * (36 * 0.8 + 36 * 10.8 + 0.8 + 10.8) * 1e-9 + 230.4e-9, rel=1e-12)

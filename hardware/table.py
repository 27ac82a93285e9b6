"""Markdown tables of the modelled cost of every method on the reference models.

    python -m hardware.table [--T 20] [--preset nvsim_sttram] [--width 1.0] [--p 0.2]

Prints, per model (VGG-small and ResNet-18 on 3×32×32, LeNet-5 on 1×28×28), modules, random
draws and the energy breakdown per image of every registered method, then the SpinDrop /
MC-SpatialDropout ratios beside the paper's. Every number is modelled (see docs/hardware.md).
"""
from __future__ import annotations

import argparse
from dataclasses import fields

import spindrop

from .compare import PAPER_CLAIM, LayerRatio, compare_spindrop_spatial
from .cost import cost_report
from .device import event_energy, write_current
from .presets import REFERENCES, get_preset, list_presets

MODELS = (("vgg_small", (3, 32, 32)), ("resnet18", (3, 32, 32)), ("lenet5", (1, 28, 28)))


def _method(name: str, p: float) -> spindrop.Method:
    params = {f.name for f in fields(spindrop.method_class(name).Config)}
    return spindrop.get_method(name, **({"p": p} if "p" in params else {}))


def _kind(lr: LayerRatio) -> str:
    return f"{lr.kernel[0]}×{lr.kernel[1]} conv" if lr.kind == "conv" else "fc"


def _uj(joules: float) -> str:
    return f"{joules * 1e6:.4g}"


def cost_table(T: int = 20, preset: str = "nvsim_sttram", width: float = 1.0, p: float = 0.2) -> str:
    lines = [f"Modelled cost per image, T = {T} MC samples, preset `{preset}`, width {width}, p = {p} "
             "(energies in µJ; modelled, not measured).", "",
             "| model | method | passes | modules | draws / inference | tiles | crossbar reads µJ "
             "| sense amps µJ | dropout modules µJ | periphery µJ | total µJ | area mm² | latency µs |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for model_name, shape in MODELS:
        model = spindrop.build_model(model_name, shape, width=width)
        for name in spindrop.list_methods():
            r = cost_report(model, _method(name, p), shape, T=T, preset=preset, model_name=model_name)
            e = r.energy
            lines.append(f"| {model_name} {shape[0]}×{shape[1]}×{shape[2]} | {name} | {r.passes} | {r.modules:,} "
                         f"| {r.draws:,} | {r.tiles:,} | {_uj(e.crossbar_read)} | {_uj(e.sense_amp)} "
                         f"| {_uj(e.dropout)} | {_uj(e.periphery)} | {_uj(e.total)} | {r.area.total_mm2:.4g} "
                         f"| {r.latency * 1e6:.4g} |")
    return "\n".join(lines)


def ratio_table(T: int = 20, preset: str = "nvsim_sttram", width: float = 1.0, p: float = 0.2) -> str:
    lines = [f"SpinDrop / MC-SpatialDropout (modelled; T = {T}, preset `{preset}`, p = {p}); the abstract of "
             f"arXiv 2306.10185 says \"{PAPER_CLAIM}\" and names no baseline.", "",
             "| model | per-layer module ratio (layer type, count) | network module ratio | draw ratio "
             "| dropout-energy ratio | total-energy ratio |",
             "|---|---|---:|---:|---:|---:|"]
    for model_name, shape in MODELS:
        model = spindrop.build_model(model_name, shape, width=width)
        c = compare_spindrop_spatial(model, shape, T=T, preset=preset, model_name=model_name, p=p)
        kinds: dict[str, set[str]] = {}
        for lr in c.layers:
            kinds.setdefault(_kind(lr), set()).add(f"{lr.ratio:g}×")
        per_layer = ", ".join(f"{'/'.join(sorted(v))} ({k}, {sum(1 for lr in c.layers if _kind(lr) == k)})"
                              for k, v in sorted(kinds.items()))
        lines.append(f"| {model_name} | {per_layer} | {c.module_ratio.value:.3g}× | {c.draw_ratio.value:.4g}× "
                     f"| {c.dropout_energy_ratio.value:.4g}× | {c.total_energy_ratio.value:.4g}× |")
    lines += ["", "Formulas: network modules = Σ rows / Σ Spatial modules (conv: k²·C_in vs C_in; flatten→FC: "
              "C·H·W vs C, Spatial's default fc_grouping='channel'; other FC: in vs in); "
              "draws = T·Σ k²·C_in·H_out·W_out vs T·Σ Spatial modules (FC: as modules); dropout energy = draws · "
              "(E_write + E_read + E_reset), so it equals the draw ratio at equal p; total energy adds the "
              "crossbar cell reads and sense amplifiers, which are equal for both methods, and the periphery "
              "(one latch write per draw)."]
    return "\n".join(lines)


def preset_table(preset: str = "nvsim_sttram", p: float = 0.2) -> str:
    hw = get_preset(preset)
    m, per = hw.mtj, hw.periphery
    ev = event_energy(m, p)
    rows = [
        ("R_P / R_AP", f"{m.r_p:g} Ω / {m.r_ap:g} Ω (TMR {m.tmr:.0%})", "NVSim-cell"),
        ("V_read, t_read", f"{m.v_read:g} V, {m.t_read * 1e9:g} ns", "NVSim-cell; NVSim-SenseAmp (45 nm)"),
        ("Δ, I_c0, τ0", f"{m.delta:g}, {m.i_c0 * 1e6:g} µA, {m.tau0 * 1e9:g} ns",
         "Schnitzspan2023 (Δ ≥ 40) / assumption (I_c0) / Soumah2024 (τ0)"),
        ("stochastic write pulse", f"{m.t_pulse * 1e9:g} ns at {write_current(m, p) * 1e6:.4g} µA for p = {p}",
         "NVSim-cell pulse; current from the inverse of Koch2004"),
        ("reset pulse", f"{m.i_reset * 1e6:g} µA × {m.t_reset * 1e9:g} ns", "NVSim-cell"),
        ("σ_Δ, σ_Ic0, stuck-at drop/keep", f"{m.sigma_delta:g}, {m.sigma_ic0:g}, {m.stuck_at_drop_rate:g}/"
         f"{m.stuck_at_keep_rate:g}", "assumption" if (m.sigma_delta or m.sigma_ic0 or m.stuck_at_drop_rate
                                                        or m.stuck_at_keep_rate) else "ideal device"),
        ("write-energy definition", "I²·R·t (MTJ Joule heat)" if m.v_write is None else
         f"V·I·t, V = {m.v_write:.3g} V", "DESIGN / NVSim-MemCell"),
        ("sense amplifier", f"{hw.sense_amp_energy * 1e15:g} fJ per sense", "NVSim-SenseAmp"),
        ("tile", f"{hw.crossbar.rows}×{hw.crossbar.cols}, {hw.crossbar.cells_per_weight} cells per weight",
         "DESIGN"),
        ("technology node", f"{per.node * 1e9:g} nm (every CMOS constant below)", "NVSim-SenseAmp; Horowitz2014; "
         "NanGate45"),
        ("cell area", f"{per.cell_area_f2:g} F² per MTJ cell (= {per.cell_area * 1e12:.4g} µm²)", "NVSim-cell-area"),
        ("sense-amplifier area", f"{per.sense_amp_area_f2:g} F² (= {per.sense_amp_area * 1e12:.4g} µm²)",
         "NVSim-SenseAmp"),
        ("real-valued inputs", f"bit-serial, {per.input_bits} bits, shift-add {per.shift_add_energy * 1e12:g} pJ",
         "ISAAC2016; Horowitz2014"),
        ("α multiply (Scale)", f"{per.multiply_energy * 1e12:g} pJ", "Horowitz2014"),
        ("mask latch", f"{per.latch_energy * 1e15:g} fJ per write, {per.latch_area * 1e12:g} µm²",
         "assumption (energy); NanGate45 (area)"),
        ("module event at p", f"write {ev.write * 1e15:.4g} fJ + read {ev.read * 1e15:.4g} fJ + reset "
         f"{ev.reset * 1e15:.4g} fJ = {ev.total * 1e15:.4g} fJ", "derived"),
    ]
    out = [f"Preset `{hw.name}` — {hw.summary}", "", "| quantity | value | source |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out += ["", *(f"- [{k}] {REFERENCES[k]}" for k in hw.references)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hardware.table", description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=20, help="MC samples (default 20)")
    parser.add_argument("--preset", default="nvsim_sttram", choices=list_presets())
    parser.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    parser.add_argument("--p", type=float, default=0.2, help="drop probability of every method")
    args = parser.parse_args(argv)
    print(preset_table(args.preset, args.p))
    print()
    print(cost_table(args.T, args.preset, args.width, args.p))
    print()
    print(ratio_table(args.T, args.preset, args.width, args.p))


if __name__ == "__main__":
    main()

"""The MTJ-crossbar cost model's metrics, for the runner's modelled suites and for
:func:`spindrop.evaluate` (registered there as the cost model ``mtj``; one implementation).

Energies are per image for all T passes; the unit is part of the key (``hw/energy/total_nJ``):
:func:`energy_metrics` converts the cost model's joules (:class:`hardware.CostReport`) once, to nJ
for the evaluator and the leaderboard, to pJ for the result store's cells (the unit they have
always been stored in).
"""
from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from spindrop import Method
from spindrop.binary import BinaryLayer
from spindrop.evaluation import Priced, register_cost_model
from spindrop.methods.base import DropoutSite

from .cost import CostReport, cost_report
from .presets import DEFAULT, HardwarePreset

UNITS = {"J": 1.0, "nJ": 1e9, "pJ": 1e12}


def modules_metrics(report: CostReport) -> dict[str, float | None]:
    """Dropout modules, random draws per inference and per pass, crossbar tiles, chip area (mm²) and
    latency per inference (µs)."""
    return {"hw/modules": report.modules, "hw/draws": report.draws, "hw/draws_per_pass": report.draws_per_pass,
            "hw/tiles": report.tiles, "hw/area_mm2": report.area.total_mm2, "hw/latency_us": report.latency * 1e6}


def energy_metrics(report: CostReport, unit: str = "nJ") -> dict[str, float | None]:
    """Energy per image by part in ``unit`` (``hw/energy/<part>_<unit>``), and the mean realised drop
    probability per draw (``hw/p_realised``). A network without dropout modules has no dropout
    energy and no mask latches: None (not applicable), never 0. The periphery's parts (bit-serial
    inputs' shift-adds, α multiplies, mask latches) are ``periphery_*`` with their sum ``periphery``."""
    scale = UNITS[unit]
    e = report.energy
    parts = {"crossbar_read": e.crossbar_read, "sense_amp": e.sense_amp, "dropout_write": e.dropout_write,
             "dropout_read": e.dropout_read, "dropout_reset": e.dropout_reset, "dropout": e.dropout,
             "periphery_shift_add": e.input_shift_add, "periphery_alpha_multiply": e.alpha_multiply,
             "periphery_latch": e.mask_latch, "periphery": e.periphery, "total": e.total}
    metrics: dict[str, float | None] = {
        f"hw/energy/{k}_{unit}": None if report.modules == 0 and k.startswith(("dropout", "periphery_latch"))
        else v * scale for k, v in parts.items()}
    metrics["hw/p_realised"] = report.p_realised
    return metrics


def unpriced_layers(model: nn.Module) -> list[str]:
    """Layers with weights that the crossbar model cannot map: every module holding parameters of its
    own that is not a binary layer, a BatchNorm (folded into the column thresholds) or a dropout site."""
    return [f"{name} ({type(m).__name__})" for name, m in model.named_modules()
            if any(True for _ in m.parameters(recurse=False))
            and not isinstance(m, BinaryLayer | _BatchNorm | DropoutSite)]


@register_cost_model("mtj")
def price(model: nn.Module, method: Method | None, input_shape: tuple[int, ...], T: int,
          **options: object) -> Priced:
    """Modules, draws and energy per image (nJ) of ``model`` under ``method`` with T MC samples on
    the preset ``options["preset"]`` (default: the default preset); a network with layers the
    crossbar cannot map is not priced (pricing only its binary layers would understate it), and the
    note names them."""
    if method is None:
        return Priced(note="not priced: no method named for the network's dropout sites")
    unpriced = unpriced_layers(model)
    if unpriced:
        return Priced(note=f"not priced: the MTJ-crossbar cost model maps binary layers only, and "
                           f"{', '.join(unpriced)} are not ({len(unpriced)} layer(s)); the measured numbers stand")
    preset = options.get("preset", DEFAULT)
    if not isinstance(preset, str | HardwarePreset):
        raise TypeError(f"preset must be a preset name or a HardwarePreset, not {type(preset).__name__}")
    report = cost_report(model, method, input_shape, T=T, preset=preset)
    metrics = {**modules_metrics(report), **energy_metrics(report, "nJ")}
    units = {k: "nJ" for k in metrics if k.endswith("_nJ")}
    return Priced(metrics, units, f"modelled on preset '{report.preset}': {report.passes_note}")

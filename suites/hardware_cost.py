"""The two modelled suites: dropout modules/draws and energy on the MTJ-crossbar cost model.

Neither needs a trained network: the cost comes from the model's layers and input shape
(:func:`hardware.cost_report`), priced with the run's hardware preset. With a non-ideal device (variation,
stuck-at faults, p drift) the dropout events are priced at the realised per-module p of the chip the
measured suites draw their masks from (docs/hardware.md §7).
"""
from __future__ import annotations

from .base import MODELLED_PROVENANCE, Suite, SuiteResult, Target, register_suite
from spindrop.store import MODELLED

PJ = 1e12


class _CostSuite(Suite):
    group = "Hardware"
    kind = MODELLED
    needs_training = False
    provenance = MODELLED_PROVENANCE


@register_suite
class ModulesSuite(_CostSuite):
    name = "modules"
    summary = "physical dropout modules, random draws and crossbar tiles (modelled)"

    def run(self, bench, target: Target) -> SuiteResult:
        report = bench.cost(target)
        plan = bench.hardware_plan(target)
        metrics = {"hw/modules": report.modules, "hw/draws": report.draws,
                   "hw/draws_per_pass": report.draws_per_pass, "hw/tiles": report.tiles}
        layers = [{"name": g.name, "kind": g.kind, "kernel": list(g.kernel), "binary_input": g.binary_input,
                   "modules": hw.modules, "draws": hw.draws} for g, hw in plan.layers]
        return SuiteResult(metrics, {"layers": layers, "shared_modules": plan.shared_modules})


@register_suite
class EnergySuite(_CostSuite):
    name = "energy"
    summary = "energy per image for T MC samples: crossbar, sense amps, dropout modules (modelled)"

    def run(self, bench, target: Target) -> SuiteResult:
        report = bench.cost(target)
        e = report.energy
        parts = {"crossbar_read": e.crossbar_read, "sense_amp": e.sense_amp,
                 "dropout_write": e.dropout_write, "dropout_read": e.dropout_read,
                 "dropout_reset": e.dropout_reset, "dropout": e.dropout, "total": e.total}
        # A method without dropout modules has no dropout energy: not applicable, not 0 pJ.
        metrics = {f"hw/energy/{k}_pJ": None if report.modules == 0 and k.startswith("dropout")
                   else v * PJ for k, v in parts.items()}
        # the mean drop probability per draw the modules realise (≠ p on a non-ideal device)
        metrics["hw/p_realised"] = report.p_realised
        return SuiteResult(metrics)

"""The two modelled suites: dropout modules/draws and energy on the MTJ-crossbar cost model.

Neither needs a trained network: the cost comes from the model's layers and input shape
(:func:`hardware.cost_report`), priced with the run's hardware preset. With a non-ideal device (variation,
stuck-at faults, p drift) the dropout events are priced at the realised per-module p of the chip the
measured suites draw their masks from (docs/hardware.md §7).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from hardware.evaluation import UNITS, energy_metrics, modules_metrics
from spindrop.report_spec import LOWER, ReportColumn, ReportTable, energy_parts, fixed_table
from spindrop.store import MODELLED

from .base import MODELLED_PROVENANCE, Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench

PJ = UNITS["pJ"]
"""Joules → pJ, the unit of the store's energy cells."""


class _CostSuite(Suite):
    group = "Hardware"
    kind = MODELLED
    needs_training = False
    provenance = MODELLED_PROVENANCE


@register_suite
class ModulesSuite(_CostSuite):
    name = "modules"
    summary = "physical dropout modules, random draws, crossbar tiles, chip area and latency (modelled)"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        metrics = modules_metrics(bench.cost(target))
        plan = bench.hardware_plan(target)
        layers = [{"name": g.name, "kind": g.kind, "kernel": list(g.kernel), "binary_input": g.binary_input,
                   "modules": hw.modules, "draws": hw.draws} for g, hw in plan.layers]
        return SuiteResult(metrics, {"layers": layers, "shared_modules": plan.shared_modules})

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        return [fixed_table("Hardware: dropout modules and random draws",
                            (("Modules", "hw/modules"), ("Draws / inference", "hw/draws"),
                             ("Draws / pass", "hw/draws_per_pass"), ("Tiles", "hw/tiles"),
                             ("Area mm²", "hw/area_mm2"), ("Latency µs / inference", "hw/latency_us")), metric_names)]


@register_suite
class EnergySuite(_CostSuite):
    name = "energy"
    summary = "energy per image for T MC samples: crossbar, sense amps, dropout modules (modelled)"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        # pJ: the unit the store's cells have always held (the report shows nJ or µJ)
        metrics = energy_metrics(bench.cost(target), "pJ")
        return SuiteResult(metrics)

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """One table of the top-level parts (e.g. crossbar read, sense amp, dropout, total), one per
        aggregate with its components (e.g. dropout write/read/reset); the report shows each column
        in nJ or µJ, whichever suits its largest value."""
        leaves, aggregates = energy_parts(metric_names)
        split = [a for a in aggregates if a != "total"]
        top = [p for p in [*leaves, *aggregates] if not any(p.startswith(a + "_") for a in split)]
        per_image = f"per image, T = {bench.T} MC samples"
        tables = [(f"Hardware: energy {per_image}", top)]
        tables += [(f"Hardware: {a} energy by component, {per_image}", [p for p in leaves if p.startswith(a + "_")])
                   for a in split]
        return [ReportTable(title, tuple(ReportColumn(p.replace("_", " "), (f"hw/energy/{p}_pJ",), LOWER, "energy")
                                         for p in parts)) for title, parts in tables]

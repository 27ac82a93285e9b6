"""Calibration suite: ECE and MCE of the MC predictive mean (15 bins, L1, top-label), with their
bootstrap replicates over the test images (docs/design.md "Statistics"); computed by
:func:`spindrop.evaluation.measures.calibration`, as :func:`spindrop.evaluate` computes them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.evaluation.measures import calibration
from spindrop.report_spec import ReportColumn, ReportTable, fixed_table, metric_column
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench


@register_suite
class CalibrationSuite(Suite):
    name = "calibration"
    group = "Calibration"
    kind = MEASURED
    summary = "ECE and MCE (15 bins, top-label; MCE with its bin's image count), reliability diagram data"

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """ECE only: the MCE of a bin with a handful of images is noise, so it stays in results.csv
        with the number of images in its bin (``test/cal/MCE_images``)."""
        return [fixed_table("Calibration (15 bins, top-label)", (("ECE", "test/cal/ECE"),), metric_names)]

    def headline(self, metric_names: list[str]) -> list[ReportColumn]:
        return [metric_column("ECE", ("test/cal/ECE",))] if "test/cal/ECE" in metric_names else []

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        found = calibration(*bench.test_predictions(target))
        return SuiteResult(found.metrics, found.extras, found.replicates)

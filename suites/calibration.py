"""Calibration suite: ECE and MCE of the MC predictive mean (15 bins, L1, top-label), with their
bootstrap replicates over the test images (docs/design.md "Statistics")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.metrics import N_BINS, calibration_bins
from spindrop.report_spec import ReportTable, fixed_table
from spindrop.stats import Replicates, calibration_replicates
from spindrop.stats.terms import confidence, correct
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench


@register_suite
class CalibrationSuite(Suite):
    name = "calibration"
    group = "Calibration"
    kind = MEASURED
    summary = "ECE and MCE (15 bins, top-label), reliability diagram data"

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        return [fixed_table("Calibration (15 bins, top-label)", (("ECE", "test/cal/ECE"), ("MCE", "test/cal/MCE")),
                            metric_names)]

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        out, labels = bench.test_predictions(target)
        bins = calibration_bins(out.mean, labels)
        metrics = {"test/cal/ECE": bins.ece, "test/cal/MCE": bins.mce}
        reps = Replicates()
        with reps.timed():
            ece, mce = calibration_replicates(reps.weights("test", len(labels)), confidence(out.mean),
                                              correct(out.mean, labels), N_BINS)
            reps.add("test/cal/ECE", ("test",), ece)
            reps.add("test/cal/MCE", ("test",), mce)
        return SuiteResult(metrics, {"reliability": bins.to_dict()}, reps)

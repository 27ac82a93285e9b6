"""Calibration suite: ECE and MCE of the MC predictive mean (15 bins, L1, top-label)."""
from __future__ import annotations

from spindrop.metrics import calibration_bins

from .base import Suite, SuiteResult, Target, register_suite
from .store import MEASURED


@register_suite
class CalibrationSuite(Suite):
    name = "calibration"
    group = "Calibration"
    kind = MEASURED
    summary = "ECE and MCE (15 bins, top-label), reliability diagram data"

    def run(self, bench, target: Target) -> SuiteResult:
        out, labels = bench.test_predictions(target)
        bins = calibration_bins(out.mean, labels)
        metrics = {"test/cal/ECE": bins.ece, "test/cal/MCE": bins.mce}
        return SuiteResult(metrics, {"reliability": bins.to_dict()})

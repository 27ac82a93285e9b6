"""Classification suite: accuracy, NLL and Brier of the MC predictive mean (measured),
plus the accuracy of one deterministic pass with the masks off (sites at expectation)."""
from __future__ import annotations

from spindrop.metrics import evaluate_classification
from spindrop.mc import MCOutput

from .base import Suite, SuiteResult, Target, register_suite
from .store import MEASURED


@register_suite
class AccuracySuite(Suite):
    name = "accuracy"
    group = "Classification"
    kind = MEASURED
    summary = "test accuracy, NLL, Brier (MC mean) and deterministic-pass accuracy"

    def run(self, bench, target: Target) -> SuiteResult:
        out, labels = bench.test_predictions(target)
        metrics = evaluate_classification(out.mean, labels, prefix="test")
        det: MCOutput = bench.deterministic_predictions(target)
        metrics["test/det/acc"] = float((det.mean.argmax(-1) == labels).float().mean())
        return SuiteResult(metrics)

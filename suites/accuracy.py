"""Classification suite: accuracy, NLL and Brier of the MC predictive mean (measured),
plus the accuracy of one deterministic pass with the masks off (sites at expectation)."""
from __future__ import annotations

from spindrop.metrics import accuracy, brier, namespaced, nll

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
        det = bench.deterministic_predictions(target)
        metrics = namespaced("test", {"acc": accuracy(out.mean, labels), "nll": nll(out.mean, labels),
                                      "brier": brier(out.mean, labels), "det/acc": accuracy(det.mean, labels)})
        # the report finds the training curves under <out>/logs/<checkpoint key> (spindrop.training.curves)
        return SuiteResult(metrics, {"checkpoint_key": bench.trained(target).spec.key()})

"""Classification suite: accuracy, NLL and Brier of the MC predictive mean (measured),
plus the accuracy of one deterministic pass with the masks off (sites at expectation), each with
its bootstrap replicates over the test images (docs/design.md "Statistics")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.metrics import accuracy, brier, namespaced, nll
from spindrop.report_spec import ReportTable, fixed_table
from spindrop.stats import Replicates, weighted_mean
from spindrop.stats.terms import brier_terms, correct, nll_terms
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench


@register_suite
class AccuracySuite(Suite):
    name = "accuracy"
    group = "Classification"
    kind = MEASURED
    summary = "test accuracy, NLL, Brier (MC mean) and deterministic-pass accuracy"

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        return [fixed_table("Classification", (("Acc", "test/acc"), ("NLL", "test/nll"), ("Brier", "test/brier"),
                                               ("Det. acc", "test/det/acc")), metric_names)]

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        out, labels = bench.test_predictions(target)
        det = bench.deterministic_predictions(target)
        metrics = namespaced("test", {"acc": accuracy(out.mean, labels), "nll": nll(out.mean, labels),
                                      "brier": brier(out.mean, labels), "det/acc": accuracy(det.mean, labels)})
        reps = Replicates()
        with reps.timed():
            w = reps.weights("test", len(labels))
            terms = {"acc": correct(out.mean, labels), "nll": nll_terms(out.mean, labels),
                     "brier": brier_terms(out.mean, labels), "det/acc": correct(det.mean, labels)}
            for name, values in terms.items():
                reps.add(f"test/{name}", ("test",), weighted_mean(w, values))
        # the report finds the training curves under <out>/logs/<checkpoint key> (spindrop.training.curves)
        return SuiteResult(metrics, {"checkpoint_key": bench.trained(target).spec.key()}, reps)

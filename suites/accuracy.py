"""Classification suite: accuracy, NLL and Brier of the MC predictive mean (measured),
plus the accuracy of one deterministic pass with the masks off (sites at expectation), each with
its bootstrap replicates over the test images (docs/design.md "Statistics"); computed by
:func:`spindrop.evaluation.measures.classification`, as :func:`spindrop.evaluate` computes them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.evaluation.measures import classification
from spindrop.report_spec import ReportColumn, ReportTable, fixed_table, metric_column
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

    def headline(self, metric_names: list[str]) -> list[ReportColumn]:
        return [metric_column("Accuracy", ("test/acc",))] if "test/acc" in metric_names else []

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        out, labels = bench.test_predictions(target)
        found = classification(out, labels, bench.deterministic_predictions(target))
        # the report finds the training curves under <out>/logs/<checkpoint key> (spindrop.training.curves)
        return SuiteResult(found.metrics, {"checkpoint_key": bench.trained(target).spec.key()}, found.replicates)

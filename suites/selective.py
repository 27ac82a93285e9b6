"""Selective prediction suite: AURC, E-AURC (Geifman et al., ICLR 2019) and AUGRC (Traub et al.,
NeurIPS 2024) of the MC predictive mean, the confidence being its maximum probability max_c p̄_c
(:mod:`spindrop.metrics.selective`), each with its bootstrap replicates over the test images
(docs/design.md "Statistics")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.evaluation.measures import selective
from spindrop.metrics.selective import SELECTIVE_METRICS
from spindrop.report_spec import LOWER, ReportColumn, ReportTable
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench


@register_suite
class SelectiveSuite(Suite):
    name = "selective"
    group = "Selective prediction"
    kind = MEASURED
    summary = "AURC, E-AURC, AUGRC of the MC predictive (confidence = its max probability)"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        found = selective(*bench.test_predictions(target))
        return SuiteResult(found.metrics, {}, found.replicates)

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        return [ReportTable("Selective prediction (confidence: max probability of the MC predictive)",
                            tuple(ReportColumn(f"{name} %", (f"test/sel/{name}",), LOWER, "percent")
                                  for name in SELECTIVE_METRICS if f"test/sel/{name}" in metric_names))]

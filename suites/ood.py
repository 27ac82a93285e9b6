"""OOD suite: detect out-of-distribution sets with entropy, mutual information and 1 − MSP
(OOD = positive class), plus the papers' "% OOD detected"; each with its bootstrap replicates,
the ID test images and each OOD set resampled independently (docs/design.md "Statistics");
computed by :func:`spindrop.evaluation.measures.ood`, as :func:`spindrop.evaluate` computes them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.data.shift import ood_sets, ood_source_datasets
from spindrop.evaluation.measures import ood
from spindrop.report_spec import ReportColumn, ReportTable, direction
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench

SCORE_TITLES = {"entropy": "entropy", "mutual_info": "mutual information", "one_minus_msp": "1 − MSP"}
# (score, metric) of the report's OOD tables, main table first; the rest are in results.csv.
OOD_TABLES = (("entropy", "AUROC"), ("entropy", "detected"), ("entropy", "FPR95"), ("entropy", "AUPR"),
              ("mutual_info", "AUROC"), ("one_minus_msp", "AUROC"))
OOD_TITLES = {"AUROC": "AUROC %", "detected": "% OOD detected", "FPR95": "FPR@95%TPR %", "AUPR": "AUPR %"}


@register_suite
class OODSuite(Suite):
    name = "ood"
    group = "OOD"
    kind = MEASURED
    summary = "AUROC / AUPR / FPR95 per OOD set and score, % OOD detected"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        test, _ = bench.test_predictions(target)
        sets = ood_sets(target.dataset, bench.data_root, n=bench.profile.evaluation(target.dataset).ood_subset, seed=0)
        found = ood(test, ((name, bench.predict(target, images, f"ood/{name}")) for name, images in sets.items()))
        return SuiteResult(found.metrics, found.extras, found.replicates)

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *ood_source_datasets(dataset))

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """One table per (score, metric) of :data:`OOD_TABLES`, one column per OOD set."""
        sets = list(dict.fromkeys(n.split("/")[1] for n in metric_names if n.startswith("ood/") and n.count("/") == 3))
        return [ReportTable(f"OOD: {OOD_TITLES[metric]} ({SCORE_TITLES[score]} score)",
                            tuple(ReportColumn(s, (f"ood/{s}/{score}/{metric}",), direction(metric), "percent")
                                  for s in sets if f"ood/{s}/{score}/{metric}" in metric_names))
                for score, metric in OOD_TABLES]


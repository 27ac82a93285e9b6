"""OOD suite: detect out-of-distribution sets with entropy, mutual information and 1 − MSP
(OOD = positive class; AUROC, AUPR-In, AUPR-Out, FPR95), plus the papers' "% OOD detected" with its
threshold from the validation split; each with its bootstrap replicates, the ID test images and
each OOD set resampled independently (docs/design.md "Statistics"). The report's tables average the
near-OOD and the far-OOD sets (:func:`spindrop.data.shift.ood_group`) in two columns of their own,
and the suite's headline is the near-OOD mean of the entropy AUROC;
computed by :func:`spindrop.evaluation.measures.ood`, as :func:`spindrop.evaluate` computes them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.data.shift import FAR, NEAR, ood_group, ood_sets, ood_source_datasets
from spindrop.evaluation.measures import ood
from spindrop.report_spec import ReportColumn, ReportTable, direction
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench

SCORE_TITLES = {"entropy": "entropy", "mutual_info": "mutual information", "one_minus_msp": "1 − MSP"}
# (score, metric) of the report's OOD tables, main table first; the rest are in results.csv.
OOD_TABLES = (("entropy", "AUROC"), ("entropy", "detected"), ("entropy", "FPR95"), ("entropy", "AUPR_In"),
              ("entropy", "AUPR_Out"), ("mutual_info", "AUROC"), ("one_minus_msp", "AUROC"))
OOD_TITLES = {"AUROC": "AUROC %", "detected": "% OOD detected (threshold from the validation split)",
              "FPR95": "FPR@95%TPR %", "AUPR_In": "AUPR-In % (ID positive)", "AUPR_Out": "AUPR-Out % (OOD positive)"}
HEADLINE = ("entropy", "AUROC")
"""The suite's key quantity: the entropy AUROC, averaged over the near-OOD (real) sets."""


@register_suite
class OODSuite(Suite):
    name = "ood"
    group = "OOD"
    kind = MEASURED
    summary = "AUROC / AUPR-In / AUPR-Out / FPR95 per OOD set and score, near/far means, % OOD detected"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        test, _ = bench.test_predictions(target)
        sets = ood_sets(target.dataset, bench.data_root, n=bench.profile.evaluation(target.dataset).ood_subset, seed=0)
        found = ood(test, ((name, bench.predict(target, images, f"ood/{name}")) for name, images in sets.items()),
                    bench.validation_predictions(target)[0])
        return SuiteResult(found.metrics, found.extras, found.replicates)

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *ood_source_datasets(dataset))

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """One table per (score, metric) of :data:`OOD_TABLES`: one column per OOD set, then the mean
        over the near-OOD sets and the mean over the far-OOD sets."""
        return [ReportTable(f"OOD: {OOD_TITLES[metric]} ({SCORE_TITLES[score]} score)",
                            (*(ReportColumn(s, (m,), direction(metric), "percent")
                               for s, m in _per_set(metric_names, score, metric)),
                             *(c for group in (NEAR, FAR) if (c := _group_mean(metric_names, score, metric, group)))))
                for score, metric in OOD_TABLES]

    def headline(self, metric_names: list[str]) -> list[ReportColumn]:
        near = _group_mean(metric_names, *HEADLINE, NEAR)
        if near is None:
            return []
        return [ReportColumn("Near-OOD AUROC % (entropy)", near.metrics, near.better, near.format)]


def _per_set(metric_names: list[str], score: str, metric: str) -> list[tuple[str, str]]:
    """(set, metric name) of every OOD set with ``ood/<set>/<score>/<metric>``, in the order written (a group
    mean ``ood/near/...``, as :func:`spindrop.evaluate` writes, is no set)."""
    sets = dict.fromkeys(n.split("/")[1] for n in metric_names if n.startswith("ood/") and n.count("/") == 3
                         and n.split("/")[1] not in (NEAR, FAR))
    return [(s, f"ood/{s}/{score}/{metric}") for s in sets if f"ood/{s}/{score}/{metric}" in metric_names]


def _group_mean(metric_names: list[str], score: str, metric: str, group: str) -> ReportColumn | None:
    """The column of the mean over the sets of ``group`` (per seed; None: the group has no set)."""
    members = tuple(m for s, m in _per_set(metric_names, score, metric) if ood_group(s) == group)
    return ReportColumn(f"{group} mean", members, direction(metric), "percent") if members else None


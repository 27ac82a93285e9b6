"""OOD suite: detect out-of-distribution sets with entropy, mutual information and 1 − MSP
(OOD = positive class), plus the papers' "% OOD detected"; each with its bootstrap replicates,
the ID test images and each OOD set resampled independently (docs/design.md "Statistics")."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from spindrop.data.shift import ood_sets, ood_source_datasets
from spindrop.metrics import EPISTEMIC, evaluate_ood, ood_scores
from spindrop.report_spec import ReportColumn, ReportTable, direction
from spindrop.stats import Replicates, ood_replicates
from spindrop.stats.bootstrap import RankedID
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench

HIST_BINS = 30
TPR = DETECT_QUANTILE = 0.95  # FPR at 95 % TPR, entropy above the ID 95th percentile (spindrop.metrics.evaluate_ood)

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
        id_scores = ood_scores(test.probs)
        n_classes = test.probs.shape[-1]
        edges = torch.linspace(0.0, math.log(n_classes), HIST_BINS + 1)
        hist = {"edges": edges.tolist(), "id": _hist(test.entropy, edges)}
        metrics: dict[str, float] = {}
        # MI is identically 0 without sampling: its AUROC etc. would be tie-breaking artefacts
        scores = [s for s in id_scores if test.stochastic or s != EPISTEMIC]
        reps = Replicates()
        with reps.timed():
            ranked = {s: RankedID.of(reps.weights("test", len(test.mean)), id_scores[s]) for s in scores}
        sets = ood_sets(target.dataset, bench.data_root, n=bench.profile.evaluation(target.dataset).ood_subset, seed=0)
        for name, images in sets.items():
            out = bench.predict(target, images, f"ood/{name}")
            set_scores = ood_scores(out.probs)
            metrics.update(evaluate_ood(id_scores, set_scores, name))
            hist[name] = _hist(out.entropy, edges)
            with reps.timed():
                w = reps.weights(f"ood/{name}", len(images))
                for s in scores:
                    quantile = DETECT_QUANTILE if s == "entropy" else None
                    found = ood_replicates(ranked[s], w, set_scores[s], TPR, quantile)
                    for metric, values in found.items():
                        reps.add(f"ood/{name}/{s}/{metric}", ("test", f"ood/{name}"), values)
        if not test.stochastic:
            metrics = {k: None if f"/{EPISTEMIC}/" in k else v for k, v in metrics.items()}
        return SuiteResult(metrics, {"entropy_hist": hist}, reps)

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *ood_source_datasets(dataset))

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """One table per (score, metric) of :data:`OOD_TABLES`, one column per OOD set."""
        sets = list(dict.fromkeys(n.split("/")[1] for n in metric_names if n.startswith("ood/") and n.count("/") == 3))
        return [ReportTable(f"OOD: {OOD_TITLES[metric]} ({SCORE_TITLES[score]} score)",
                            tuple(ReportColumn(s, (f"ood/{s}/{score}/{metric}",), direction(metric), "percent")
                                  for s in sets if f"ood/{s}/{score}/{metric}" in metric_names))
                for score, metric in OOD_TABLES]


def _hist(values: torch.Tensor, edges: torch.Tensor) -> list[int]:
    clipped = values.clamp(float(edges[0]), float(edges[-1]))
    return torch.histogram(clipped.float(), bins=edges).hist.long().tolist()

"""OOD suite: detect out-of-distribution sets with entropy, mutual information and 1 − MSP
(OOD = positive class), plus the papers' "% OOD detected"."""
from __future__ import annotations

import math

import torch

from spindrop.data.shift import ood_source_datasets, ood_sets
from spindrop.metrics import evaluate_ood, ood_scores

from .base import Suite, SuiteResult, Target, register_suite
from .store import MEASURED

HIST_BINS = 30
EPISTEMIC = "mutual_info"  # the score key of mutual information (spindrop.metrics.ood_scores)


@register_suite
class OODSuite(Suite):
    name = "ood"
    group = "OOD"
    kind = MEASURED
    summary = "AUROC / AUPR / FPR95 per OOD set and score, % OOD detected"

    def run(self, bench, target: Target) -> SuiteResult:
        test, _ = bench.test_predictions(target)
        id_scores = ood_scores(test.probs)
        n_classes = test.probs.shape[-1]
        edges = torch.linspace(0.0, math.log(n_classes), HIST_BINS + 1)
        hist = {"edges": edges.tolist(), "id": _hist(test.entropy, edges)}
        metrics: dict[str, float] = {}
        sets = ood_sets(target.dataset, bench.data_root, n=bench.profile.evaluation(target.dataset).ood_subset, seed=0)
        for name, images in sets.items():
            out = bench.predict(target, images, f"ood/{name}")
            metrics.update(evaluate_ood(id_scores, ood_scores(out.probs), name))
            hist[name] = _hist(out.entropy, edges)
        if not test.stochastic:  # MI is identically 0: its AUROC etc. would be tie-breaking artefacts
            metrics = {k: None if f"/{EPISTEMIC}/" in k else v for k, v in metrics.items()}
        return SuiteResult(metrics, {"entropy_hist": hist})

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *ood_source_datasets(dataset))


def _hist(values: torch.Tensor, edges: torch.Tensor) -> list[int]:
    clipped = values.clamp(float(edges[0]), float(edges[-1]))
    return torch.histogram(clipped.float(), bins=edges).hist.long().tolist()

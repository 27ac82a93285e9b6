"""The measured metrics of MC predictions, each with its bootstrap replicates over the images.

One implementation for the runner's suites (accuracy, calibration, ood: they wrap these in their
cells) and for :func:`spindrop.evaluate`: the same keys (``test/acc``, ``test/cal/ECE``,
``ood/<set>/<score>/AUROC`` ...), values and intervals from both (docs/design.md "Metrics",
"Statistics"). The bootstrap resamples are shared per set (:meth:`spindrop.stats.Replicates.weights`),
so replicates of two networks on the same images pair.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..mc import MCOutput
from ..metrics import (
    EPISTEMIC,
    N_BINS,
    accuracy,
    brier,
    calibration_bins,
    detection_threshold,
    evaluate_ood,
    namespaced,
    nll,
    ood_scores,
)
from ..metrics.selective import SELECTIVE_METRICS, selective_risks
from ..stats import Replicates, calibration_replicates, mean_replicates, ood_replicates
from ..stats.bootstrap import RankedID
from ..stats.terms import brier_terms, confidence, correct, nll_terms

HIST_BINS = 30
TPR = DETECT_QUANTILE = 0.95
"""FPR at 95 % TPR; "% detected": entropy above the 95th percentile of held-out ID entropies
(:func:`spindrop.metrics.evaluate_ood`)."""


@dataclass
class Measured:
    """Metrics (None: not applicable), their bootstrap ``replicates`` and plot data (``extras``)."""

    metrics: dict[str, float | None]
    replicates: Replicates
    extras: dict = field(default_factory=dict)


def classification(out: MCOutput, labels: Tensor, det: MCOutput) -> Measured:
    """Accuracy, NLL and Brier of the MC predictive mean and the accuracy of the deterministic pass
    ``det`` (``test/det/acc``), each with its replicates over the test images."""
    metrics: dict[str, float | None] = {**namespaced("test", {
        "acc": accuracy(out.mean, labels), "nll": nll(out.mean, labels), "brier": brier(out.mean, labels),
        "det/acc": accuracy(det.mean, labels)})}
    terms = {"acc": correct(out.mean, labels), "nll": nll_terms(out.mean, labels),
             "brier": brier_terms(out.mean, labels), "det/acc": correct(det.mean, labels)}
    return Measured(metrics, mean_replicates({f"test/{name}": values for name, values in terms.items()}))


def calibration(out: MCOutput, labels: Tensor) -> Measured:
    """ECE and MCE of the MC predictive mean (15 bins, L1, top-label) with their replicates, and the
    number of images in the MCE's bin (``test/cal/MCE_images``); the reliability diagram's bins in
    ``extras["reliability"]``."""
    bins = calibration_bins(out.mean, labels)
    reps = Replicates()
    with reps.timed():
        ece, mce = calibration_replicates(reps.weights("test", len(labels)), confidence(out.mean),
                                          correct(out.mean, labels), N_BINS)
        reps.add("test/cal/ECE", ("test",), ece)
        reps.add("test/cal/MCE", ("test",), mce)
    return Measured({"test/cal/ECE": bins.ece, "test/cal/MCE": bins.mce, "test/cal/MCE_images": bins.mce_count}, reps,
                    {"reliability": bins.to_dict()})


def selective(out: MCOutput, labels: Tensor) -> Measured:
    """AURC, E-AURC and AUGRC (``test/sel/<name>``) of the MC predictive mean, the confidence being
    its maximum probability (:mod:`spindrop.metrics.selective`), with their replicates."""
    kappa, right = confidence(out.mean), correct(out.mean, labels)
    point = selective_risks(kappa, right)
    reps = Replicates()
    with reps.timed():
        replicates = selective_risks(kappa, right, reps.weights("test", len(labels)))
        for name in SELECTIVE_METRICS:
            reps.add(f"test/sel/{name}", ("test",), replicates[name])
    return Measured({f"test/sel/{name}": point[name].item() for name in SELECTIVE_METRICS}, reps)


def ood(test: MCOutput, sets: Iterable[tuple[str, MCOutput]], reference: MCOutput | None = None) -> Measured:
    """AUROC / AUPR-In / AUPR-Out / FPR95 per OOD set and score, with replicates (the ID test images and
    each OOD set resampled independently), and, given ``reference`` (predictions on held-out ID images:
    the validation split), "% detected" with its threshold from them (kept fixed in the replicates;
    ``extras["detect_threshold"]``); the entropy histograms in
    ``extras["entropy_hist"]``. ``sets`` yields (name, MC predictions) one set at a time, so a caller
    may predict each set only when it is asked for. The mutual information of a network without
    sampling is identically 0: its metrics are None (its AUROC would be a tie-breaking artefact)."""
    id_scores = ood_scores(test.probs)
    edges = torch.linspace(0.0, math.log(test.probs.shape[-1]), HIST_BINS + 1)
    hist: dict[str, list] = {"edges": edges.tolist(), "id": _hist(test.entropy, edges)}
    metrics: dict[str, float | None] = {}
    scores = [s for s in id_scores if test.stochastic or s != EPISTEMIC]
    threshold = None if reference is None else detection_threshold(reference.entropy, DETECT_QUANTILE)
    reps = Replicates()
    with reps.timed():
        ranked = {s: RankedID.of(reps.weights("test", len(test.mean)), id_scores[s]) for s in scores}
    for name, out in sets:
        set_scores = ood_scores(out.probs)
        metrics.update(evaluate_ood(id_scores, set_scores, name, None if reference is None else reference.entropy))
        hist[name] = _hist(out.entropy, edges)
        with reps.timed():
            w = reps.weights(f"ood/{name}", out.probs.shape[1])
            for s in scores:
                detect = threshold if s == "entropy" else None
                for metric, values in ood_replicates(ranked[s], w, set_scores[s], TPR, detect).items():
                    reps.add(f"ood/{name}/{s}/{metric}", ("test", f"ood/{name}"), values)
    if not test.stochastic:
        metrics = {k: None if f"/{EPISTEMIC}/" in k else v for k, v in metrics.items()}
    return Measured(metrics, reps, {"entropy_hist": hist, "detect_threshold": threshold})


def _hist(values: Tensor, edges: Tensor) -> list[int]:
    clipped = values.clamp(float(edges[0]), float(edges[-1]))
    return torch.histogram(clipped.float(), bins=edges).hist.long().tolist()

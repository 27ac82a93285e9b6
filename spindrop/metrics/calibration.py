"""Calibration of the top-label confidence (Guo et al., ICML 2017; Naeini et al., AAAI 2015).

Convention (docs/design.md "Metrics"): M = 15 equal-width bins over [0, 1], bin k holds confidences
in [k/M, (k+1)/M) and the last bin is closed, [(M−1)/M, 1], so a confidence of exactly 1.0 lands
in bin M−1. This is why ECE/MCE stay hand-written here: torchmetrics' ``calibration_error``
bucketizes with ``right=True`` and sends conf = 1.0 to an extra, (M+1)-th bin of its own
(torchmetrics issue #3510), so its ECE differs from this one whenever such samples share the
last bin with others (tests/metrics/test_calibration.py shows both values).

  confidence_i = max_c p_ic,   correct_i = 1[argmax_c p_ic = y_i]
  ECE = Σ_k (n_k/N) |acc_k − conf_k|   (L1),   MCE = max_{k: n_k > 0} |acc_k − conf_k|
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .classification import _check

N_BINS = 15


@dataclass(frozen=True, eq=False)
class CalibrationBins:
    """Per-bin mean confidence, accuracy and sample count (empty bins: conf = acc = 0)."""

    edges: Tensor
    confidence: Tensor
    accuracy: Tensor
    count: Tensor

    @property
    def gap(self) -> Tensor:
        """|acc_k − conf_k| per bin."""
        return (self.accuracy - self.confidence).abs()

    @property
    def ece(self) -> float:
        """Σ_k (n_k/N) |acc_k − conf_k|."""
        return (self.count / self.count.sum() * self.gap).sum().item()

    @property
    def mce(self) -> float:
        """max over non-empty bins of |acc_k − conf_k|."""
        return self.gap[self.count > 0].max().item()

    @property
    def mce_count(self) -> int:
        """n_k of the bin that gives the MCE (the first such bin on a tie): a gap over a handful of
        images is noise, so the MCE is read together with it."""
        gap = torch.where(self.count > 0, self.gap, torch.full_like(self.gap, -1.0))
        return int(self.count[int(gap.argmax())].item())

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists (edges, confidence, accuracy, count) for a reliability diagram."""
        return {"edges": self.edges.tolist(), "confidence": self.confidence.tolist(),
                "accuracy": self.accuracy.tolist(), "count": self.count.tolist()}


def calibration_bins(probs: Tensor, labels: Tensor, n_bins: int = N_BINS) -> CalibrationBins:
    """Bin the top-label confidences of ``probs`` (N, C) against ``labels`` (N,)."""
    _check(probs, labels)
    conf, pred = probs.double().max(1)
    correct = (pred == labels).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    # edges[k] <= conf < edges[k+1] → k; conf = 1.0 would give n_bins, so clamp into the last bin.
    index = (torch.bucketize(conf, edges, right=True) - 1).clamp(0, n_bins - 1)
    count = torch.bincount(index, minlength=n_bins).double()
    conf_sum = torch.bincount(index, weights=conf, minlength=n_bins)
    acc_sum = torch.bincount(index, weights=correct, minlength=n_bins)
    denom = count.clamp_min(1.0)
    return CalibrationBins(edges, conf_sum / denom, acc_sum / denom, count)


def ece(probs: Tensor, labels: Tensor, n_bins: int = N_BINS) -> float:
    """Expected calibration error, L1, top-label, ``n_bins`` uniform bins."""
    return calibration_bins(probs, labels, n_bins).ece


def mce(probs: Tensor, labels: Tensor, n_bins: int = N_BINS) -> float:
    """Maximum calibration error over the non-empty bins."""
    return calibration_bins(probs, labels, n_bins).mce

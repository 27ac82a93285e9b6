"""Selective prediction: the risk–coverage curve of a confidence score (docs/design.md "Metrics").

Images are accepted in order of decreasing confidence κ_i (the suites use κ = max_c p̄_c, the
maximum probability of the MC predictive mean); accepting the k most confident of n gives

  selective risk      R(k) = (1/k) Σ_{r ≤ k} e_(r)      (Geifman et al., ICLR 2019, §2)
  generalised risk    G(k) = (1/n) Σ_{r ≤ k} e_(r)      (Traub et al., NeurIPS 2024, eq. 2)

with e_(r) = 1 if the image at rank r (1 = most confident) is misclassified. Over the coverages
k/n, k = 1…n:

  AURC   = (1/n) Σ_k R(k) = (1/n) Σ_{errors i} (H_n − H_{r_i − 1})      (H_j the harmonic numbers)
  AUGRC  = (1/n) Σ_k G(k) = (1/n²) Σ_{errors i} (n − r_i + 1)
  E-AURC = AURC − AURC*, AURC* the AURC of a ranking with every error last:
           AURC* = (1/n) Σ_{k > n_c} (k − n_c)/k = (1/n) (n_e − n_c (H_n − H_{n_c}))
  (n_c correct, n_e = n − n_c errors). Geifman et al. give the continuous approximation
  r + (1 − r) ln(1 − r) of AURC* (r = n_e/n); the exact discrete form is used here, so E-AURC is 0
  for a perfect ranking and never negative.

Ties: images of equal confidence are accepted together in an order nobody chose, so each metric is
its expectation over the orders of every tied group (an error's rank is uniform over its group's
ranks A+1…A+m, A images being strictly more confident). By linearity this is exact:
E[H_n − H_{r−1}] = H_n − (S(A+m) − S(A))/m with S(J) = Σ_{j<J} H_j = J (H_J − 1), and
E[n − r + 1] = n − A − (m − 1)/2. A deterministic binary network saturates many confidences at
1.0, so ties are common, not a corner case.

The same code computes the bootstrap replicates: with counts W (B, n) (:mod:`spindrop.stats`),
replicate b is the metric of the resample holding image i W_bi times (its copies are tied).
"""
from __future__ import annotations

import torch
from torch import Tensor

SELECTIVE_METRICS = ("AURC", "E-AURC", "AUGRC")
_CHUNK = 128
"""Replicates computed at once: (chunk, distinct confidences) float64 matrices bound the memory."""


def _harmonic(j: Tensor) -> Tensor:
    """H_j = Σ_{i=1}^{j} 1/i for real j ≥ 0 (ψ(j + 1) + γ; exact at integers)."""
    return torch.digamma(j + 1.0) + 0.5772156649015329


def _prefix_harmonic(j: Tensor) -> Tensor:
    """S(J) = Σ_{j=0}^{J−1} H_j = J (H_J − 1)."""
    return j * (_harmonic(j) - 1.0)


def selective_risks(confidence: Tensor, correct: Tensor, weights: Tensor | None = None) -> dict[str, Tensor]:
    """AURC, E-AURC and AUGRC (module docstring) of ``confidence`` (n,) and ``correct`` (n,) in {0, 1};
    with ``weights`` (B, n) of resample counts, their B bootstrap replicates, else one value each
    (shape (1,)). Float64."""
    if confidence.dim() != 1 or confidence.shape != correct.shape or len(confidence) == 0:
        raise ValueError(f"expected confidence (n,) and correct (n,) with n > 0, got "
                         f"{tuple(confidence.shape)} and {tuple(correct.shape)}")
    if not torch.isfinite(confidence).all():
        raise ValueError("confidence holds NaN or infinite values; drop those images first")
    n = len(confidence)
    weights = torch.ones(1, n) if weights is None else weights
    distinct, group = torch.unique(confidence.double(), return_inverse=True)  # ascending
    error = 1.0 - correct.double()
    h_n = _harmonic(torch.tensor(float(n), dtype=torch.float64))
    out: dict[str, list[Tensor]] = {name: [] for name in SELECTIVE_METRICS}
    for start in range(0, len(weights), _CHUNK):
        w = weights[start:start + _CHUNK].double()
        size = torch.zeros(len(w), len(distinct), dtype=torch.float64).index_add_(1, group, w)
        errors = torch.zeros_like(size).index_add_(1, group, w * error)
        # A: images strictly more confident than the group (groups ascend, acceptance descends)
        above = w.sum(1, keepdim=True) - size.cumsum(1)
        mean_h = (_prefix_harmonic(above + size) - _prefix_harmonic(above)) / size.clamp_min(1.0)
        aurc = (errors * (h_n - mean_h)).sum(1) / n
        augrc = (errors * (n - above - (size - 1.0) / 2.0)).sum(1) / n ** 2
        n_e = errors.sum(1)
        n_c = n - n_e
        optimal = (n_e - n_c * (h_n - _harmonic(n_c))) / n
        out["AURC"].append(aurc)
        out["E-AURC"].append(aurc - optimal)
        out["AUGRC"].append(augrc)
    return {name: torch.cat(parts) for name, parts in out.items()}


def _point(probs: Tensor, labels: Tensor) -> dict[str, float]:
    confidence, prediction = probs.max(1)
    return {k: v.item() for k, v in selective_risks(confidence, (prediction == labels).double()).items()}


def aurc(probs: Tensor, labels: Tensor) -> float:
    """Area under the risk–coverage curve of the max-probability confidence of ``probs`` (N, C)."""
    return _point(probs, labels)["AURC"]


def e_aurc(probs: Tensor, labels: Tensor) -> float:
    """Excess AURC: AURC minus that of the best ranking of the same predictions."""
    return _point(probs, labels)["E-AURC"]


def augrc(probs: Tensor, labels: Tensor) -> float:
    """Area under the generalised risk–coverage curve (Traub et al., NeurIPS 2024)."""
    return _point(probs, labels)["AUGRC"]


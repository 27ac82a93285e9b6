"""Vectorised, seeded bootstrap over the images of an evaluated set (docs/design.md "Statistics").

Resampling (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 6): replicate b
draws n images of a set of n with replacement. It is drawn once per set as indices and kept as
a count matrix W (n, B): W[i, b] = how often image i is in replicate b. Every metric of the set
is then a weighted statistic of per-image quantities, so all B replicates of all metrics come
from a few matrix products and cumulative sums (no loop over replicates), and the column of
ones (W = 1) gives the point estimate itself.

The draw depends only on (set name, n, B, seed): every method and every training seed evaluated
on the same set gets the same resamples, so replicate b of two cells is computed on the same
images and their difference is a paired bootstrap replicate (:mod:`spindrop.stats.intervals`).
"""
from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass

import torch
from torch import Tensor

RESAMPLES = 1000
"""B, bootstrap replicates per set (Efron & Tibshirani 1993, §19.3: B ≈ 1000 for percentile intervals)."""
SEED = 0
"""Base seed of the resamples; each set adds the CRC-32 of its name."""


def _generator(set_name: str, seed: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(set_name.encode())) % (1 << 63))


@functools.lru_cache(maxsize=4)
def resample_weights(set_name: str, n: int, resamples: int = RESAMPLES, seed: int = SEED) -> Tensor:
    """Counts (B, n) float32 of B resamples with replacement of the n images of ``set_name``:
    indices drawn once (``torch.randint``, seeded by the set's name and ``seed``), then counted.
    Counts are integers ≤ n, exact in float32 below 2^24. Cached: the suites of one target share it."""
    if n < 1 or resamples < 1:
        raise ValueError(f"need n >= 1 images and resamples >= 1, got n={n}, resamples={resamples}")
    idx = torch.randint(n, (resamples, n), generator=_generator(set_name, seed))
    return torch.zeros(resamples, n).scatter_add_(1, idx, torch.ones(1, 1).expand(resamples, n))


def weights_fingerprint(set_name: str, n: int, resamples: int = RESAMPLES, seed: int = SEED) -> str:
    """Digest of the resamples of a set (its size and its first and last replicates): two cells
    pair replicate by replicate only when their sets' fingerprints agree (a different torch RNG
    or set size would otherwise pair unlike resamples)."""
    w = resample_weights(set_name, n, resamples, seed)
    blob = f"{set_name}|{n}|{resamples}|{seed}|".encode() + w[0].numpy().tobytes() + w[-1].numpy().tobytes()
    return hashlib.sha256(blob).hexdigest()[:16]


# --- estimators: weights (B, n) × per-image quantities → replicates (B,) ----------------------------

def weighted_mean(weights: Tensor, values: Tensor) -> Tensor:
    """Replicates of the mean of per-image ``values`` (n,): Σ_i W_bi x_i / n (float32 products,
    float64 result)."""
    return (weights @ values.float()).double() / weights.shape[1]


def calibration_replicates(weights: Tensor, confidence: Tensor, correct: Tensor,
                           n_bins: int) -> tuple[Tensor, Tensor]:
    """Replicates (ECE, MCE) with the binning of :func:`spindrop.metrics.calibration_bins`
    (bin k = [k/M, (k+1)/M), confidence 1.0 in the last bin):
    ECE_b = Σ_k |Σ_{i∈k} W_bi (correct_i − conf_i)| / n,  MCE_b = max_{k: n_kb > 0} |·| / n_kb."""
    conf = confidence.double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    index = (torch.bucketize(conf, edges, right=True) - 1).clamp(0, n_bins - 1)
    onehot = torch.nn.functional.one_hot(index, n_bins).float()                # (n, M)
    count = weights @ onehot                                                    # (B, M), exact
    gap = (weights @ (onehot * (correct.double() - conf).float().unsqueeze(1))).double().abs()
    ece = gap.sum(1) / weights.shape[1]
    mce = torch.where(count > 0, gap / count.clamp_min(1.0), torch.zeros_like(gap)).max(1).values
    return ece, mce


@dataclass(frozen=True, eq=False)
class RankedID:
    """The in-distribution side of the OOD replicates, shared by every OOD set of one score:
    the ID scores sorted once (``values``, float64) and, per replicate, the cumulative resampled
    counts in that order with a leading 0 (``cum``, (B, n₀ + 1)): cum[b, k] = Σ_{i<k} W_b,order(i)."""

    values: Tensor
    cum: Tensor

    @classmethod
    def of(cls, weights: Tensor, scores: Tensor) -> RankedID:
        values, order = scores.double().sort()
        cum = torch.nn.functional.pad(weights[:, order].cumsum(1), (1, 0))
        return cls(values, cum)

    @property
    def n(self) -> int:
        return len(self.values)

    def below(self, scores: Tensor, inclusive: bool) -> Tensor:
        """(B, m): resampled ID images with score < s (≤ s if ``inclusive``) for each of ``scores``."""
        at = torch.searchsorted(self.values, scores.double(), right=inclusive)
        return self.cum[:, at]


def ood_replicates(ranked_id: RankedID, w_ood: Tensor, scores_ood: Tensor, tpr: float = 0.95,
                   detect_threshold: float | None = None) -> dict[str, Tensor]:
    """Replicates of AUROC, AUPR-Out, AUPR-In and FPR at ``tpr`` (OOD positive, flagged when score ≥ t)
    with the conventions of :mod:`spindrop.metrics.ood`; with ``detect_threshold`` (fixed: it comes
    from held-out images, which are not resampled here) also ``detected``, the share of OOD scores
    strictly above it.

    Per replicate b, with OOD weights w_bj, L_bj / E_bj the resampled ID images with score below /
    equal to s_j, and T_bj the resampled OOD images with score ≥ s_j:
    AUROC = Σ_j w_bj (L_bj + ½ E_bj) / (n₀ n₁) = Σ_j w_bj (L_bj + U_bj) / (2 n₀ n₁), U = L + E (Mann–Whitney, ties ½);
    AUPR_Out = Σ_j (w_bj / n₁) · T_bj / (T_bj + n₀ − L_bj) (average precision; tied OOD images share
    one threshold); AUPR_In = Σ_i (W_bi / n₀) · U_bi / (U_bi + O_bi), the same with the ID images
    positive and the score negated (U_bi: resampled ID images with score ≤ s_i, O_bi: resampled OOD
    images with score ≤ s_i); FPR = min_j {(n₀ − L_bj)/n₀ : T_bj/n₁ ≥ tpr}, the rate compared in float32
    as in torchmetrics' ROC (a threshold between two OOD scores flags no fewer ID images than the OOD
    score above it, so the OOD scores are the only candidates). Counts are exact in float32 below 2^24;
    the sums over images are float32 (relative rounding ≈ 1e-7, far below any interval's width).
    """
    n0, n1 = ranked_id.n, w_ood.shape[1]
    below, upto = ranked_id.below(scores_ood, False), ranked_id.below(scores_ood, True)     # (B, n1)
    ood_sorted, order = scores_ood.double().sort()
    cum_ood = torch.nn.functional.pad(w_ood[:, order].cumsum(1), (1, 0))                  # (B, n1 + 1)
    tp = n1 - cum_ood[:, torch.searchsorted(ood_sorted, scores_ood.double(), right=False)]  # OOD ≥ s_j
    out = {"AUROC": (w_ood * (below + upto)).sum(1).double() / (2 * n0 * n1)}
    fp = n0 - below
    out["AUPR_Out"] = (w_ood * tp / (tp + fp).clamp_min(1.0)).sum(1).double() / n1
    w_id = ranked_id.cum.diff(dim=1)                                                       # (B, n0), sorted order
    id_upto = ranked_id.cum[:, torch.searchsorted(ranked_id.values, ranked_id.values, right=True)]
    ood_upto = cum_ood[:, torch.searchsorted(ood_sorted, ranked_id.values, right=True)]
    out["AUPR_In"] = (w_id * id_upto / (id_upto + ood_upto).clamp_min(1.0)).sum(1).double() / n0
    reached = tp / n1 >= tpr
    out["FPR95"] = torch.where(reached, fp, torch.full_like(fp, torch.inf)).min(1).values.double() / n0
    if detect_threshold is not None:
        out["detected"] = (w_ood * (scores_ood.double() > detect_threshold)).sum(1).double() / n1
    return out

"""Out-of-distribution detection metrics; the OOD set is the POSITIVE class (DESIGN.md "Metrics").

A score is "higher = more likely OOD" (predictive entropy, mutual information, 1 − MSP); a
sample is flagged as OOD when its score is ≥ a threshold t. The functions take the complete
score vectors of the in-distribution (ID) and OOD sets and compute once.

Why not torchmetrics' stateful AUROC/AP with per-batch ``update``: its binary curve metrics apply
a sigmoid to a batch whose values leave [0, 1] (torchmetrics issues #2195 and #3179). Entropies
reach log C (2.30 nats for 10 classes), so some batches would be squashed and others not, and
the pooled ranking — which is all AUROC depends on — breaks. Here everything is rank-based on the
concatenated vector in float64, and ties are handled exactly: in AUROC a tied ID/OOD pair counts
½ (Mann–Whitney U with mid-ranks), and the ROC/PR curves step once per distinct score value.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _pooled(scores_id: Tensor, scores_ood: Tensor) -> tuple[Tensor, Tensor]:
    """Concatenated scores (float64) and labels (OOD = 1)."""
    for name, s in (("scores_id", scores_id), ("scores_ood", scores_ood)):
        if s.dim() != 1 or len(s) == 0:
            raise ValueError(f"{name} must be a non-empty 1-D tensor, got shape {tuple(s.shape)}")
        if not torch.isfinite(s).all():
            raise ValueError(f"{name} holds NaN or infinite values")
    scores = torch.cat([scores_id, scores_ood]).double()
    labels = torch.cat([torch.zeros(len(scores_id)), torch.ones(len(scores_ood))]).double()
    return scores, labels


def _midranks(x: Tensor) -> Tensor:
    """1-based ranks of x ascending, tied values sharing the mean of their ranks."""
    order = torch.argsort(x, stable=True)
    _, inverse, counts = torch.unique_consecutive(x[order], return_inverse=True,
                                                  return_counts=True)
    last = counts.cumsum(0).double()
    mid = last - (counts.double() - 1) / 2
    ranks = torch.empty_like(x, dtype=torch.float64)
    ranks[order] = mid[inverse]
    return ranks


def auroc(scores_id: Tensor, scores_ood: Tensor) -> float:
    """Area under the ROC curve, OOD positive: P(s_ood > s_id) + ½·P(s_ood = s_id).

    Mann–Whitney: U = Σ_{i ∈ OOD} rank_i − n₁(n₁+1)/2 with mid-ranks over the pooled scores,
    AUROC = U / (n₁·n₀), n₁ = #OOD, n₀ = #ID.
    """
    scores, labels = _pooled(scores_id, scores_ood)
    n_pos, n_neg = len(scores_ood), len(scores_id)
    u = _midranks(scores)[labels == 1].sum().item() - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def roc_points(scores_id: Tensor, scores_ood: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Points of the ROC curve, one per distinct score, thresholds descending.

    Returns (thresholds, tp, fp, n_pos), float64: tp/fp count the OOD/ID samples with
    score ≥ threshold; n_pos (0-d) is the number of OOD samples.
    """
    scores, labels = _pooled(scores_id, scores_ood)
    order = torch.argsort(scores, descending=True, stable=True)
    s, y = scores[order], labels[order]
    tp, fp = y.cumsum(0), (1 - y).cumsum(0)
    last = torch.ones_like(s, dtype=torch.bool)
    last[:-1] = s[1:] != s[:-1]
    return s[last], tp[last], fp[last], labels.sum()


def aupr(scores_id: Tensor, scores_ood: Tensor) -> float:
    """Area under the precision–recall curve with OOD positive, as average precision:
    AP = Σ_k (R_k − R_{k−1}) P_k over the distinct thresholds (R_0 = 0), P_k = tp/(tp + fp),
    R_k = tp/n₁ (the step-wise definition of scikit-learn's ``average_precision_score``)."""
    _, tp, fp, n_pos = roc_points(scores_id, scores_ood)
    recall = tp / n_pos
    precision = tp / (tp + fp)
    steps = torch.diff(recall, prepend=recall.new_zeros(1))
    return (steps * precision).sum().item()


def fpr_at_tpr(scores_id: Tensor, scores_ood: Tensor, tpr: float = 0.95) -> float:
    """FPR at the highest threshold whose TPR ≥ ``tpr`` (FPR95 for tpr = 0.95).

    FPR = share of ID samples flagged as OOD. Both rates fall as the threshold rises, so this is
    the smallest FPR that still detects at least ``tpr`` of the OOD samples.
    """
    if not 0.0 < tpr <= 1.0:
        raise ValueError(f"tpr must be in (0, 1], not {tpr}")
    _, tp, fp, n_pos = roc_points(scores_id, scores_ood)
    reached = torch.nonzero(tp / n_pos >= tpr)
    return (fp[reached[0, 0]] / len(scores_id)).item()


def percent_detected(entropy_id: Tensor, entropy_ood: Tensor, q: float = 0.95) -> float:
    """Share of OOD samples whose entropy exceeds the q-quantile of the ID entropies.

    The papers' "% OOD detected" (×100 for a percentage); the quantile interpolates linearly
    between order statistics (numpy's default), and "exceeds" is strict (>).
    """
    scores, _ = _pooled(entropy_id, entropy_ood)
    threshold = torch.quantile(scores[:len(entropy_id)], q)
    return (scores[len(entropy_id):] > threshold).double().mean().item()

"""Out-of-distribution detection metrics; the OOD set is the POSITIVE class (docs/design.md "Metrics").

A score is "higher = more likely OOD" (predictive entropy, mutual information, 1 − MSP); a
sample is flagged as OOD when its score is ≥ a threshold t. The functions take the complete
score vectors of the in-distribution (ID) and OOD sets and compute once.

AUROC, AUPR and the ROC curve behind FPR95 are torchmetrics' functional binary metrics
(``binary_auroc``, ``binary_average_precision``, ``binary_roc``, exact: ``thresholds=None``),
called once on the whole pooled vector. Their ROC/PR curves step once per distinct score, so
tied scores are never split: in AUROC a tied ID/OOD pair counts ½ (Mann–Whitney U with
mid-ranks), and AUPR is the step-wise average precision of scikit-learn.

Why whole vectors and no stateful ``update`` per batch: torchmetrics applies a sigmoid to
inputs outside [0, 1] (torchmetrics issues #2195 and #3179), and entropies reach log C (2.30
nats for 10 classes), so a per-batch sigmoid would squash some batches and not others. On the
whole vector a sigmoid keeps the ranking in exact arithmetic, but in floating point it maps
large scores to 1.0 (every score above ≈ 37 in float64) and so merges them. These metrics depend
only on the order of the scores, so :func:`_pooled` hands torchmetrics the dense ranks scaled
into (0, 1] instead: no sigmoid is applied, and order and ties are kept exactly.
torchmetrics computes the rates in float32 (counts are exact below 2^24 samples).

torchmetrics is imported inside the functions, on first use: importing it pulls in scipy (about
1.4 s), which a command that only lists or validates should not pay (docs/performance.md).
"""
from __future__ import annotations

import torch
from torch import Tensor


def _check(name: str, scores: Tensor) -> None:
    if scores.dim() != 1 or len(scores) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor, got shape {tuple(scores.shape)}")
    if not torch.isfinite(scores).all():
        raise ValueError(f"{name} holds NaN or infinite values; drop those samples first")


def _pooled(scores_id: Tensor, scores_ood: Tensor) -> tuple[Tensor, Tensor]:
    """(preds, target) for torchmetrics: the pooled scores as dense ranks / number of distinct
    scores (float64, in (0, 1], same order and ties as the scores) and labels (OOD = 1)."""
    _check("scores_id", scores_id)
    _check("scores_ood", scores_ood)
    distinct, rank = torch.unique(torch.cat([scores_id, scores_ood]).double(), return_inverse=True)
    preds = (rank + 1).double() / len(distinct)
    target = torch.cat([torch.zeros(len(scores_id), dtype=torch.long),
                        torch.ones(len(scores_ood), dtype=torch.long)])
    return preds, target


def auroc(scores_id: Tensor, scores_ood: Tensor) -> float:
    """Area under the ROC curve, OOD positive: P(s_ood > s_id) + ½·P(s_ood = s_id)
    (trapezoids between the ROC points of the distinct scores; torchmetrics ``binary_auroc``)."""
    from torchmetrics.functional.classification import binary_auroc
    return binary_auroc(*_pooled(scores_id, scores_ood)).item()


def aupr(scores_id: Tensor, scores_ood: Tensor) -> float:
    """AUPR-Out: area under the precision–recall curve with OOD positive, as average precision:
    AP = Σ_k (R_k − R_{k−1}) P_k over the distinct thresholds (R_0 = 0), P_k = tp/(tp + fp),
    R_k = tp/n₁ (scikit-learn's ``average_precision_score``; torchmetrics
    ``binary_average_precision``)."""
    from torchmetrics.functional.classification import binary_average_precision
    return binary_average_precision(*_pooled(scores_id, scores_ood)).item()


def aupr_in(scores_id: Tensor, scores_ood: Tensor) -> float:
    """AUPR-In: the average precision with the in-distribution images positive and the score
    negated (a lower score = more likely ID), :func:`aupr` with the roles swapped. OpenOOD (Zhang et
    al., arXiv 2306.09301) reports it beside AUPR-Out, so that neither base rate (ID:OOD is 10:1
    here) can make one of them look good alone."""
    return aupr(-scores_ood, -scores_id)


def fpr_at_tpr(scores_id: Tensor, scores_ood: Tensor, tpr: float = 0.95) -> float:
    """FPR at the highest threshold whose TPR ≥ ``tpr`` (FPR95 for tpr = 0.95).

    Convention: the thresholds are the distinct scores (a sample is flagged when its score is
    ≥ t), so a group of tied scores is flagged all together, never in part; TPR = flagged OOD
    / n₁, FPR = flagged ID / n₀. Both fall as t rises, so this is the smallest FPR among the ROC
    points (torchmetrics ``binary_roc``) with TPR ≥ ``tpr``: the first point that reaches it,
    no interpolation. It equals ``fpr[argmax(tpr >= 0.95)]`` of scikit-learn's
    ``roc_curve(..., drop_intermediate=False)`` (the default ``drop_intermediate=True`` may drop
    that point when it lies on a straight segment). torchmetrics' rates are float32: TPR is
    compared in float32 (exact for fewer than 10^6 OOD samples), and the FPR is returned as the
    exact ratio fp/n₀, with fp = round(FPR·n₀).
    """
    if not 0.0 < tpr <= 1.0:
        raise ValueError(f"tpr must be in (0, 1], not {tpr}")
    from torchmetrics.functional.classification import binary_roc
    fpr, tprs, _ = binary_roc(*_pooled(scores_id, scores_ood))
    n_id = len(scores_id)
    return round(fpr[tprs >= tpr].min().item() * n_id) / n_id


def detection_threshold(entropy_reference: Tensor, q: float = 0.95) -> float:
    """The q-quantile of in-distribution entropies, linear interpolation between order statistics
    (numpy's default). The reference images must be held out of the set the threshold is evaluated
    against (the suites use the validation split, never the ID test set)."""
    _check("entropy_reference", entropy_reference)
    return torch.quantile(entropy_reference.double(), q).item()


def percent_detected(entropy_reference: Tensor, entropy_ood: Tensor, q: float = 0.95) -> float:
    """Share of OOD samples whose entropy exceeds (strictly) the :func:`detection_threshold` of the
    held-out in-distribution entropies ``entropy_reference``.

    The papers' "% OOD detected" (×100 for a percentage); torchmetrics has no such metric, so it
    is computed here.
    """
    _check("entropy_ood", entropy_ood)
    return (entropy_ood.double() > detection_threshold(entropy_reference, q)).double().mean().item()

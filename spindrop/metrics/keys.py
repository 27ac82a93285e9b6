"""Metric keys and the evaluation helpers that produce them.

Keys are slash-separated paths:
  <prefix>/acc, <prefix>/nll, <prefix>/brier, <prefix>/cal/ECE, <prefix>/cal/MCE   (prefix "test")
  ood/<set>/<score>/AUROC, ood/<set>/<score>/AUPR_In, ood/<set>/<score>/AUPR_Out, ood/<set>/<score>/FPR95
  ood/<set>/entropy/detected     (share of OOD above the 95th percentile of held-out ID entropies)
  shift/<corruption>/<severity>/acc, shift/<corruption>/<severity>/ECE
with <score> one of ``SCORE_NAMES`` (entropy, mutual_info, one_minus_msp).
"""
from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from .calibration import ece, mce
from .classification import accuracy, brier, nll
from .ood import aupr, aupr_in, auroc, fpr_at_tpr, percent_detected
from .uncertainty import SCORE_NAMES


def namespaced(prefix: str, metrics: Mapping[str, float]) -> dict[str, float]:
    """``{f"{prefix}/{key}": value}``; an empty prefix leaves the keys as they are."""
    prefix = prefix.strip("/")
    return {f"{prefix}/{k}" if prefix else k: v for k, v in metrics.items()}


def evaluate_classification(probs_mean: Tensor, labels: Tensor,
                            prefix: str = "test") -> dict[str, float]:
    """Accuracy, NLL, Brier, ECE and MCE of the predictive mean (N, C) under ``prefix``."""
    return namespaced(prefix, {
        "acc": accuracy(probs_mean, labels),
        "nll": nll(probs_mean, labels),
        "brier": brier(probs_mean, labels),
        "cal/ECE": ece(probs_mean, labels),
        "cal/MCE": mce(probs_mean, labels),
    })


def evaluate_ood(scores_id: Mapping[str, Tensor], scores_ood: Mapping[str, Tensor], set_name: str,
                 entropy_reference: Tensor | None = None) -> dict[str, float]:
    """AUROC, AUPR-In, AUPR-Out and FPR95 per score (OOD positive), plus ``entropy/detected``.

    ``scores_id``/``scores_ood`` map score names (``SCORE_NAMES``) to the complete score vectors
    of the ID test set and of OOD set ``set_name``; scores present in both are evaluated.
    ``entropy_reference``: entropies of held-out ID images (the validation split), the threshold of
    "% detected"; without them it is not computed (a threshold from the ID test set itself would be
    evaluated on the images it was fitted to).
    """
    unknown = set(scores_id) - set(SCORE_NAMES)
    if unknown:
        raise ValueError(f"unknown score names {sorted(unknown)}; expected {SCORE_NAMES}")
    out: dict[str, float] = {}
    for score in SCORE_NAMES:
        if score not in scores_id or score not in scores_ood:
            continue
        sid, sood = scores_id[score], scores_ood[score]
        out[f"{score}/AUROC"] = auroc(sid, sood)
        out[f"{score}/AUPR_In"] = aupr_in(sid, sood)
        out[f"{score}/AUPR_Out"] = aupr(sid, sood)
        out[f"{score}/FPR95"] = fpr_at_tpr(sid, sood, 0.95)
        if score == "entropy" and entropy_reference is not None:
            out["entropy/detected"] = percent_detected(entropy_reference, sood, 0.95)
    return namespaced(f"ood/{set_name}", out)


def evaluate_shift(probs_mean: Tensor, labels: Tensor, corruption: str,
                   severity: int) -> dict[str, float]:
    """Accuracy and ECE on one corrupted test set, under ``shift/<corruption>/<severity>``."""
    return namespaced(f"shift/{corruption}/{severity}", {
        "acc": accuracy(probs_mean, labels),
        "ECE": ece(probs_mean, labels),
    })

"""Uncertainty summaries of MC samples (Gal 2016, "Uncertainty in Deep Learning", §3.3;
Depeweg et al., ICML 2018, for the total = aleatoric + epistemic split).

All take per-sample probabilities ``probs`` of shape (T, B, C) and return shape (B,) or (B, C);
entropies are in nats. spindrop/mc.py imports predictive_mean, predictive_entropy,
expected_entropy, mutual_information and max_softmax from here.
"""
from __future__ import annotations

from typing import Protocol

from torch import Tensor

_EPS = 1e-12

EPISTEMIC = "mutual_info"
"""The key of the epistemic score (mutual information): exactly 0, so not applicable, without dropout."""
SCORE_NAMES = ("entropy", EPISTEMIC, "one_minus_msp")


class SupportsProbs(Protocol):
    """What has MC probabilities: :class:`spindrop.MCOutput` (which imports this module)."""

    @property
    def probs(self) -> Tensor: ...


def mc_probs(value: Tensor | SupportsProbs) -> Tensor:
    """The (T, B, C) probabilities of ``value``: a tensor of that shape, or an MC output's ``probs``;
    anything else is a TypeError naming what was passed."""
    probs = getattr(value, "probs", value)
    if not isinstance(probs, Tensor) or probs.dim() != 3:
        what = f"a tensor of shape {tuple(probs.shape)}" if isinstance(probs, Tensor) else type(value).__name__
        raise TypeError(f"expected MC probabilities of shape (T, B, C) or an MCOutput, got {what}; "
                        "for one pass's probabilities (B, C) pass probs.unsqueeze(0)")
    return probs


def _entropy(p: Tensor) -> Tensor:
    """H[p] = −Σ_c p_c log p_c over the last dimension (nats), with 0·log 0 = 0."""
    return -(p * p.clamp_min(_EPS).log()).sum(-1)


def predictive_mean(probs: Tensor) -> Tensor:
    """p̄ = (1/T) Σ_t p_t."""
    return probs.mean(0)


def predictive_entropy(probs: Tensor) -> Tensor:
    """Total uncertainty H[p̄]."""
    return _entropy(predictive_mean(probs))


def expected_entropy(probs: Tensor) -> Tensor:
    """Aleatoric part (1/T) Σ_t H[p_t]."""
    return _entropy(probs).mean(0)


def mutual_information(probs: Tensor) -> Tensor:
    """Epistemic part I = H[p̄] − (1/T) Σ_t H[p_t] ≥ 0 (clamped against rounding)."""
    return (predictive_entropy(probs) - expected_entropy(probs)).clamp_min(0.0)


def max_softmax(probs: Tensor) -> Tensor:
    """Maximum softmax probability of the predictive mean, max_c p̄_c."""
    return predictive_mean(probs).max(-1).values


def ood_scores(probs: Tensor | SupportsProbs) -> dict[str, Tensor]:
    """The three OOD scores (higher = more likely OOD) of (T, B, C) MC probabilities, or of an
    :class:`spindrop.MCOutput` (its ``probs``): ``entropy`` H[p̄], ``mutual_info`` I,
    ``one_minus_msp`` 1 − max_c p̄_c."""
    probs = mc_probs(probs)
    return {"entropy": predictive_entropy(probs), EPISTEMIC: mutual_information(probs),
            "one_minus_msp": 1.0 - max_softmax(probs)}

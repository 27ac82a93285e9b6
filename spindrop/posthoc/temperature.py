"""Temperature scaling of the MC predictive (Guo et al., "On calibration of modern neural
networks", ICML 2017, §4.2), fitted on the validation split (docs/design.md "Temperature scaling").

What is scaled: the log of the MC predictive mean, p̃ = softmax(log p̄ / τ), one τ > 0 per trained
network. Why the mean and not each pass's logits: p̃ keeps the predictive's argmax for every τ
(x ↦ x/τ is increasing), so the accuracy of the MC predictive is unchanged, which is the contract
of temperature scaling; scaling each pass's logits and then averaging can move the argmax of the
mean. For a network without dropout (p̄ = one pass) log p̄ = z − logsumexp(z), so p̃ = softmax(z/τ),
Guo et al.'s temperature scaling exactly.

Fit: τ̂ = argmin_τ −(1/N) Σ_i log p̃_{i,y_i} on validation images. The NLL is convex in a = 1/τ
(a log-sum-exp of functions linear in a, minus a linear one), hence unimodal in log τ, so a
golden-section search over log τ in :data:`TAU_RANGE` finds its minimum to ``tol``
(deterministic, no gradient, no learning rate).
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

LOG_EPS = 1e-12
"""Clamp of p̄ before its log (the clamp of :func:`spindrop.metrics.nll`)."""
TAU_RANGE = (0.01, 100.0)
"""Where τ̂ is searched; a minimum at either end is returned as that end."""
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def tempered(probs: Tensor, tau: float) -> Tensor:
    """p̃ = softmax(log max(p̄, 1e-12) / τ) for a predictive mean ``probs`` (N, C) (float64)."""
    if not tau > 0.0:
        raise ValueError(f"temperature τ={tau} must be > 0")
    return F.softmax(probs.double().clamp_min(LOG_EPS).log() / tau, dim=1)


def _nll(log_probs: Tensor, labels: Tensor, tau: float) -> float:
    return F.cross_entropy(log_probs / tau, labels).item()


def fit_temperature(probs: Tensor, labels: Tensor, tol: float = 1e-6) -> float:
    """τ̂ minimising the NLL of :func:`tempered` ``probs`` (N, C, validation predictive means)
    against ``labels`` (N,): golden-section search over log τ in :data:`TAU_RANGE` to ``tol``."""
    if probs.dim() != 2 or labels.shape != (len(probs),) or len(probs) == 0:
        raise ValueError(f"expected probs (N, C) and labels (N,) with N > 0, got "
                         f"{tuple(probs.shape)} and {tuple(labels.shape)}")
    log_probs = probs.double().clamp_min(LOG_EPS).log()
    lo, hi = math.log(TAU_RANGE[0]), math.log(TAU_RANGE[1])
    a, b = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    fa, fb = _nll(log_probs, labels, math.exp(a)), _nll(log_probs, labels, math.exp(b))
    while hi - lo > tol:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - _GOLDEN * (hi - lo)
            fa = _nll(log_probs, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + _GOLDEN * (hi - lo)
            fb = _nll(log_probs, labels, math.exp(b))
    return math.exp((lo + hi) / 2.0)

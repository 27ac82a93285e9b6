"""The drop probability a chip's modules realise (modelled; docs/hardware.md §7).

A module's realised p_i comes from its drawn Δ_i and I_c0,i and its fault
(:func:`hardware.device.probabilities_from_parameters`). This module summarises that distribution
for a device (mean, 5 % and 95 % quantiles, a histogram) and gives the probability that **one**
module is out of order, which for Scale-Dropout's single shared unit is the probability that a
whole chip fails:

    P(fail) = r_drop·[1 ∉ B] + r_keep·[0 ∉ B] + (1 − r_drop − r_keep)·P(p_i ∉ B | healthy)

with B = [p/``band``, p·``band``] the tolerated band around the target p. The healthy module's term
is an expectation over z_Δ, z_I ~ N(0, 1) of 1[p(z_Δ, z_I) ∉ B]: closed form in z_Δ, a 1-D
quadrature over z_I (:func:`unit_failure`); :func:`unit_failure_measured`
counts failing chips drawn by the device model's own sampler (:class:`hardware.DeviceMaskSampler`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .device import MTJConfig, draw_module_parameters, probabilities_from_parameters, programmed_current
from .sampler import DeviceMaskSampler

HIST_BINS = 10
"""Histogram bins of p_i on [0, 1]."""
BAND = 2.0
"""A module is out of order when its realised p_i is outside [p/2, 2p] (stuck modules included)."""


@dataclass(frozen=True)
class RealisedP:
    """Summary of p_i over ``n`` modules drawn from one device at target ``p`` (modelled): mean, 5 % and
    95 % quantiles, and the share of modules in each of :data:`HIST_BINS` equal bins of [0, 1]."""

    p: float
    n: int
    mean: float
    q05: float
    q95: float
    shares: tuple[float, ...]


def realised_p(config: MTJConfig, p: float, n: int = 100_000, seed: int = 0) -> RealisedP:
    """p_i of ``n`` modules drawn with ``seed`` from ``config`` at target ``p``."""
    gen = torch.Generator().manual_seed(seed)
    values = probabilities_from_parameters(config, p, draw_module_parameters(config, (n,), gen)).numpy()
    # rounded to 1e-9 first: an ideal device's p_i = p ± rounding would fall on either side of a bin edge
    counts, _ = np.histogram(np.round(values, 9), bins=HIST_BINS, range=(0.0, 1.0))
    q05, q95 = np.quantile(values, [0.05, 0.95])
    return RealisedP(p, n, float(values.mean()), float(q05), float(q95), tuple(float(c) / n for c in counts))


def _outside(values: np.ndarray, p: float, band: float) -> np.ndarray:
    return (values < p / band) | (values > p * band)


def unit_failure(config: MTJConfig, p: float, band: float = BAND, grid: int = 20_001) -> float:
    """P(one module's p_i ∉ [p/band, p·band]) for target ``p`` ∈ (0, 1), analytic (module docstring).

    A healthy module has p_i = 1 − exp(−t_w/τ_i), τ_i = τ0·exp(a_i), a_i = Δ_i·k_i with
    k_i = 1 − I_w/I_c0,i, so p_i ∈ B ⟺ a_i ∈ [A_lo, A_hi], A = ln(τ(p)/τ0) at the band's ends
    (τ(p) = t_w/(−ln(1 − p))). Given z_I, a_i is linear in z_Δ (Δ_i = Δ(1 + σ_Δ·z_Δ)): the z_Δ interval
    is closed-form and P(p_i ∈ B | z_I) = Φ(z_hi) − Φ(z_lo); the remaining expectation over z_I is a
    trapezoid rule on ``grid`` points of [−10, 10] (one point when σ_Ic0 = 0). The 10⁻³ clamp of the
    drawn parameters is ignored (it matters only for σ ≳ 0.2).
    """
    p_lo, p_hi = p / band, min(p * band, 1.0)
    stuck = config.stuck_at_drop_rate * (1.0 > p_hi) + config.stuck_at_keep_rate * (0.0 < p_lo)
    healthy = 1.0 - config.stuck_at_drop_rate - config.stuck_at_keep_rate
    i_w = programmed_current(config, p)
    t = config.t_pulse

    def a_of(q: float) -> float:  # a = ln(τ/τ0) of the τ that gives p_i = q in one pulse
        return math.log(t / -math.log1p(-q) / config.tau0) if q < 1.0 else -math.inf

    a_lo, a_hi = a_of(p_hi), a_of(p_lo)
    z_i = torch.linspace(-10.0, 10.0, grid, dtype=torch.float64) if config.sigma_ic0 > 0 else torch.zeros(1,
                                                                                                       dtype=torch.float64)
    k = 1.0 - i_w / (config.i_c0 * (1.0 + config.sigma_ic0 * z_i))
    if config.sigma_delta > 0:
        with torch.no_grad():
            lo = (a_lo / (config.delta * k) - 1.0) / config.sigma_delta
            hi = (a_hi / (config.delta * k) - 1.0) / config.sigma_delta
        lo, hi = torch.minimum(lo, hi), torch.maximum(lo, hi)  # k < 0 flips the interval
        inside = torch.special.ndtr(hi) - torch.special.ndtr(lo)
    else:
        a = config.delta * k
        inside = ((a >= a_lo) & (a <= a_hi)).to(torch.float64)
    if config.sigma_ic0 > 0:
        phi = torch.exp(-0.5 * z_i ** 2) / math.sqrt(2 * math.pi)
        p_in = float(torch.trapezoid(phi * inside, z_i))
    else:
        p_in = float(inside[0])
    return float(stuck) + healthy * (1.0 - p_in)


def unit_failure_measured(config: MTJConfig, p: float, chips: int, band: float = BAND, first_seed: int = 0) -> float:
    """The share of ``chips`` chips (seeds ``first_seed`` …) whose single shared unit, drawn as
    :func:`hardware.attach_device` draws Scale-Dropout's one module (a sampler with no module
    dimensions), realises p outside [p/band, p·band]."""
    values = np.array([float(DeviceMaskSampler(config, p, seed=first_seed + c).module_p(())) for c in range(chips)])
    return float(_outside(values, p, band).mean())

"""The realised drop probability of a device (hardware.realised): its summary against an independent
Monte Carlo of the switching law, and the failure probability of one unit (Scale-Dropout's single
shared module: the chip's) analytic against chips drawn by the device model's sampler, to 4 sigma."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from hardware import get_preset, write_current
from hardware.realised import BAND, HIST_BINS, realised_p, unit_failure, unit_failure_measured

MTJ = get_preset("nvsim_sttram").mtj
P = 0.2
CHIPS = 2000


def _binomial_ok(share: float, q: float, n: int) -> bool:
    return abs(share - q) <= 4 * math.sqrt(max(q * (1 - q), 1 / n) / n)


@pytest.mark.parametrize("preset", ["nvsim_sttram", "low_barrier"])
def test_ideal_device_realises_the_target_exactly(preset):
    """Every module at p (to rounding): one histogram bin, [0.2, 0.3), for every ideal preset."""
    r = realised_p(get_preset(preset).mtj, P, n=1000)
    assert r.mean == pytest.approx(P, abs=1e-9) and r.q05 == pytest.approx(P, abs=1e-9)
    assert r.q95 == pytest.approx(P, abs=1e-9)
    assert r.shares[int(P * HIST_BINS)] == 1.0 and sum(r.shares) == pytest.approx(1.0)
    assert unit_failure(get_preset(preset).mtj, P) == 0.0


@pytest.mark.parametrize("sigma", [0.005, 0.01, 0.02])
def test_realised_p_matches_an_independent_monte_carlo(sigma):
    """p_i = 1 − exp(−t/τ0·exp(−Δ_i(1 − I_w/I_c0,i))) written out here with numpy draws."""
    cfg = replace(MTJ, sigma_delta=sigma, sigma_ic0=sigma)
    r = realised_p(cfg, P, n=100_000, seed=1)
    rng = np.random.default_rng(7)
    n = 100_000
    delta = 40.0 * (1 + sigma * rng.standard_normal(n))
    i_c0 = 40.82e-6 * (1 + sigma * rng.standard_normal(n))
    tau = 1e-9 * np.exp(delta * (1 - write_current(MTJ, P) / i_c0))
    p_i = 1 - np.exp(-5e-9 / tau)
    se = p_i.std() / math.sqrt(n)
    assert abs(r.mean - p_i.mean()) <= 4 * math.sqrt(2) * se
    for q, got in ((0.05, r.q05), (0.95, r.q95)):
        # the quantile's own spread: a binomial count of modules below it
        assert _binomial_ok(float((p_i < got).mean()), q, n)
    assert sum(r.shares) == pytest.approx(1.0)


@pytest.mark.parametrize("drop,keep", [(0.05, 0.0), (0.03, 0.07)])
def test_single_unit_stuck_faults(drop, keep):
    """Without variation a unit fails exactly when it is stuck: P = r_drop + r_keep (0 and 1 lie
    outside [p/2, 2p])."""
    cfg = replace(MTJ, stuck_at_drop_rate=drop, stuck_at_keep_rate=keep)
    assert unit_failure(cfg, P) == pytest.approx(drop + keep, abs=1e-12)
    assert _binomial_ok(unit_failure_measured(cfg, P, CHIPS), drop + keep, CHIPS)


@pytest.mark.parametrize("sigma,drop", [(0.01, 0.0), (0.02, 0.0), (0.02, 0.05), (0.05, 0.0)])
def test_single_unit_failure_analytic_equals_measured(sigma, drop):
    """Scale-Dropout's one module per chip: the share of failing chips among 2,000 drawn by the
    sampler lies within 4 sigma of the analytic probability."""
    cfg = replace(MTJ, sigma_delta=sigma, sigma_ic0=sigma, stuck_at_drop_rate=drop)
    analytic = unit_failure(cfg, P)
    assert 0.0 < analytic < 1.0
    assert _binomial_ok(unit_failure_measured(cfg, P, CHIPS), analytic, CHIPS), (sigma, drop, analytic)


def test_band_is_a_factor_of_two():
    assert BAND == 2.0
    cfg = replace(MTJ, sigma_delta=0.02, sigma_ic0=0.02)
    assert unit_failure(cfg, P, band=1.5) > unit_failure(cfg, P) > unit_failure(cfg, P, band=3.0)

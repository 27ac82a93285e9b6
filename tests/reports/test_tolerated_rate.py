"""The tolerated fault rate with its interval (reports.robustness.tolerated): losses paired per
(training seed, chip) against the fault-free point, the rule on the upper end of their 95 % t-interval,
checked against a t-interval computed here with scipy."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from reports.robustness import key, loss_bound, losses, tolerated

AXIS = "stuck_drop"
CHIPS = 8


def _cells(acc_loss_by_rate: dict[float, list[float]], seeds: int = 2) -> list[tuple[int, dict]]:
    """Per seed: chip accuracies 0.9 at the fault-free point and 0.9 − loss (points / 100) at each rate;
    the AUROC never moves."""
    cells = []
    for seed in range(seeds):
        chips = {key(AXIS, 0.0, "acc"): [0.9] * CHIPS, key(AXIS, 0.0, "ood/entropy/AUROC"): [0.8] * CHIPS}
        for rate, loss in acc_loss_by_rate.items():
            chips[key(AXIS, rate, "acc")] = [0.9 - x / 100 for x in loss[seed * CHIPS:(seed + 1) * CHIPS]]
            chips[key(AXIS, rate, "ood/entropy/AUROC")] = [0.8] * CHIPS
        cells.append((seed, {"chips": chips}))
    return cells


def _res(cells):
    names = sorted({k for _, e in cells for k in e["chips"]})
    return SimpleNamespace(extras=lambda suite, d, m: {"scale": cells}, metric_names=lambda suite, d, m: names)


def test_loss_bound_is_the_upper_end_of_the_t_interval():
    x = [0.2, 0.9, 0.4, 1.3, 0.1, 0.6]
    mean, sem = np.mean(x), stats.sem(x)
    assert loss_bound(x) == pytest.approx(mean + stats.t.ppf(0.975, len(x) - 1) * sem, rel=1e-12)
    assert loss_bound([0.5]) == 0.5 and loss_bound([0.0, 0.0, 0.0]) == 0.0


def test_a_mean_below_the_bound_with_a_wide_interval_is_not_tolerated():
    rng = np.random.default_rng(0)
    # rate 0.05: loss 0.2 ± 0.1 pt on 16 (seed, chip) pairs: tolerated. Rate 0.2: mean 0.8 pt (below
    # the 1-point bound, so the old rule on means tolerated it) but a lottery over chips (one chip in
    # four loses 3.2 pt): the interval's upper end passes 1 pt, so not tolerated.
    cells = _cells({0.05: list(0.2 + 0.1 * rng.standard_normal(16)), 0.2: [3.2, 0, 0, 0] * 4})
    got = losses(cells, AXIS, 0.2, "acc")
    assert len(got) == 16 and np.mean(got) == pytest.approx(0.8)
    assert loss_bound(got) > 1.0
    assert tolerated(_res(cells), "mnist", "lenet5", AXIS) == {"scale": (0.05, False)}


def test_every_rate_within_the_bound_holds():
    cells = _cells({0.05: [0.1] * 16, 0.2: [0.3, 0.4] * 8})
    assert tolerated(_res(cells), "mnist", "lenet5", AXIS) == {"scale": (0.2, True)}

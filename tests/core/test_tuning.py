"""spindrop.tuning: the selection rule on a fixed toy objective (the known best grid point), the
1-point accuracy window, the grid declaration, and the cache (a hit calls nothing, a corrupt entry
is a miss)."""
from __future__ import annotations

import pytest

import spindrop
from spindrop.methods.scale import PLACEMENTS
from spindrop.tuning import Trial, TuningCache, grid_settings, search, select

GRID = {"p": (0.05, 0.1, 0.2, 0.3), "placement": ("mac", "classifier")}


def _toy(params):
    """Accuracy peaks at p = 0.1 and is 2 points lower at "classifier"; NLL is least at p = 0.2,
    whose accuracy is 0.5 point below the peak (eligible), and at p = 0.3 (3 points below: not)."""
    p, placement = dict(params)["p"], dict(params)["placement"]
    acc = {0.05: 0.975, 0.1: 0.98, 0.2: 0.975, 0.3: 0.95}[p] - (0.02 if placement == "classifier" else 0.0)
    nll = {0.05: 0.09, 0.1: 0.08, 0.2: 0.07, 0.3: 0.01}[p] + (0.05 if placement == "mac" else -0.05)
    return acc, nll


def test_toy_objective_selects_the_known_best_point():
    calls = []
    record = search(lambda s: calls.append(s) or _toy(s), GRID, {"method": "toy"})
    assert len(calls) == 8 and len(record.trials) == 8
    # eligible (acc >= 0.97): mac at p 0.05, 0.1, 0.2; least NLL among them: p = 0.2 (0.12)
    assert record.selected == (("p", 0.2), ("placement", "mac"))


def test_accuracy_window_is_one_point():
    trials = [Trial((("p", 0.1),), 0.90, 0.50), Trial((("p", 0.2),), 0.8905, 0.30), Trial((("p", 0.3),), 0.889, 0.10)]
    assert select(trials).params == (("p", 0.2),)           # 0.95 point below: eligible; 1.1 points: not
    assert select(trials, window=0.02).params == (("p", 0.3),)
    with pytest.raises(ValueError, match="empty"):
        select([])


def test_grid_settings_and_the_declared_grids():
    assert grid_settings({"b": (1, 2), "a": ("x",)}) == [(("a", "x"), ("b", 1)), (("a", "x"), ("b", 2))]
    assert spindrop.get_method("mc_dropout").grid() == {"p": (0.05, 0.1, 0.2, 0.3)}
    assert spindrop.get_method("deterministic").grid() == {}
    placements = spindrop.get_method("scale").grid()["placement"]
    assert set(placements) <= set(PLACEMENTS) and "mac" in placements and len(placements) >= 2
    for name in spindrop.list_methods():  # every declared value is a valid parameter of its method
        method = spindrop.get_method(name)
        for params in grid_settings(method.grid()):
            spindrop.get_method(name, **dict(params))


def test_cache_round_trip_and_corrupt_entry(tmp_path):
    cache = TuningCache(tmp_path)
    record = search(_toy, GRID, {"method": "toy"})
    cache.put("k", record)
    assert cache.get("k") == record
    assert cache.get("other") is None
    (tmp_path / "tuning" / "k.json").write_text("{ truncated")
    assert cache.get("k") is None

"""spindrop.tradeoff: the Pareto set and the cheapest configuration within δ, on small fixed
arrays worked out by hand, and the declaration's JSON round trip."""
from __future__ import annotations

import pytest

from spindrop.tradeoff import Quality, TradeOff, cheapest_within, pareto_front

# energy, AUROC (higher better) of six configurations
ENERGY = [1.0, 2.0, 2.0, 4.0, 8.0, 16.0]
AUROC = [0.80, 0.85, 0.83, 0.85, 0.90, 0.90]


def test_pareto_front_by_hand():
    # 0: cheapest; 1: better than 0; 2: dominated by 1 (same energy, worse); 3: dominated by 1 (costlier,
    # equal); 4: better than all cheaper; 5: dominated by 4 (costlier, equal)
    assert pareto_front(ENERGY, AUROC, "higher") == [True, True, False, False, True, False]
    # lower is better: read as NLL, only the cheapest-best points survive
    assert pareto_front(ENERGY, AUROC, "lower") == [True, False, False, False, False, False]


def test_identical_configurations_are_both_on_the_front():
    assert pareto_front([1.0, 1.0], [0.5, 0.5], "higher") == [True, True]


@pytest.mark.parametrize(("delta", "expected"), [(0.0, 4), (0.05, 1), (0.049, 4), (0.1, 0), (0.099, 1)])
def test_cheapest_within_delta_by_hand(delta, expected):
    # best 0.90 (index 4 is the cheaper of the two); within 0.05: 0.85 at energy 2 (index 1, not 3 at 4);
    # exactly δ from the best counts as within δ
    assert cheapest_within(ENERGY, AUROC, "higher", delta) == expected


def test_cheapest_within_delta_lower_is_better():
    nll = [0.30, 0.20, 0.25, 0.18]
    energy = [1.0, 2.0, 1.5, 9.0]
    assert cheapest_within(energy, nll, "lower", 0.0) == 3
    assert cheapest_within(energy, nll, "lower", 0.03) == 1
    assert cheapest_within(energy, nll, "lower", 0.07) == 2
    assert cheapest_within(energy, nll, "lower", 0.2) == 0


def test_declaration_round_trips_and_checks_its_values():
    decl = TradeOff("tsweep_energy", "tsweep/T{T}/hw/energy/total_pJ", (1, 2),
                    (Quality(("tsweep/T{T}/test/nll",), "NLL", "lower", "number", (0.01,)),))
    assert TradeOff.from_json(decl.to_json()) == decl
    with pytest.raises(ValueError, match="better"):
        Quality(("m",), "M", "up", "number", ())
    with pytest.raises(ValueError, match="δ"):
        Quality(("m",), "M", "lower", "number", (-0.1,))

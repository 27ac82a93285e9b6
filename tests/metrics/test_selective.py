"""AURC, E-AURC and AUGRC (spindrop.metrics.selective) against hand computations: the risk–coverage
curve written out image by image, every order of tied confidences enumerated, and the bootstrap
replicates against the metric on the explicitly resampled arrays."""
from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
import torch

from spindrop.metrics.selective import augrc, aurc, e_aurc, selective_risks
from spindrop.stats import resample_weights


def _by_hand(confidence: list[float], correct: list[int]) -> dict[str, Fraction]:
    """The three metrics in exact arithmetic, averaged over every acceptance order that sorts the
    confidences in decreasing order (all orders of each tied group, equally likely)."""
    n = len(confidence)
    orders = [o for o in itertools.permutations(range(n))
              if all(confidence[o[k]] >= confidence[o[k + 1]] for k in range(n - 1))]
    total = {"AURC": Fraction(0), "AUGRC": Fraction(0)}
    for order in orders:
        errors = 0
        for k, i in enumerate(order, start=1):
            errors += 1 - correct[i]
            total["AURC"] += Fraction(errors, k) / n       # selective risk at coverage k/n
            total["AUGRC"] += Fraction(errors, n) / n      # generalised risk at coverage k/n
    out = {name: value / len(orders) for name, value in total.items()}
    best = sorted(range(n), key=lambda i: -correct[i])  # every error last
    errors, optimal = 0, Fraction(0)
    for k, i in enumerate(best, start=1):
        errors += 1 - correct[i]
        optimal += Fraction(errors, k) / n
    out["E-AURC"] = out["AURC"] - optimal
    return out


CASES = {
    "distinct": ([0.95, 0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 1, 0, 1]),
    "ties": ([0.9, 0.8, 0.8, 0.8, 0.6, 1.0, 1.0], [1, 0, 1, 1, 0, 1, 0]),
    "perfect ranking": ([0.99, 0.9, 0.7, 0.4], [1, 1, 0, 0]),
    "all tied": ([0.5, 0.5, 0.5, 0.5], [1, 0, 0, 1]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_metrics_equal_the_hand_computation(case):
    confidence, correct = CASES[case]
    got = selective_risks(torch.tensor(confidence), torch.tensor(correct, dtype=torch.float64))
    for name, value in _by_hand(confidence, correct).items():
        assert got[name].item() == pytest.approx(float(value), abs=1e-12), name


def test_a_small_case_written_out():
    """κ = (0.9, 0.8, 0.7), second image wrong: R = (0, 1/2, 1/3) so AURC = (0 + 1/2 + 1/3)/3 = 5/18;
    G = (0, 1/3, 1/3) so AUGRC = 2/9; the best order (wrong image last) has R = (0, 0, 1/3), AURC* = 1/9."""
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    labels = torch.tensor([0, 0, 0])
    assert aurc(probs, labels) == pytest.approx(5 / 18, abs=1e-12)
    assert augrc(probs, labels) == pytest.approx(2 / 9, abs=1e-12)
    assert e_aurc(probs, labels) == pytest.approx(5 / 18 - 1 / 9, abs=1e-12)


def test_perfect_ranking_has_zero_excess_and_errors_first_the_largest():
    confidence = torch.linspace(1.0, 0.1, 10)
    good = torch.tensor([1.0] * 7 + [0.0] * 3)
    assert selective_risks(confidence, good)["E-AURC"].item() == pytest.approx(0.0, abs=1e-12)
    worst = selective_risks(confidence, good.flip(0))
    assert worst["E-AURC"].item() > 0.3 and worst["AURC"].item() > selective_risks(confidence, good)["AURC"].item()


def test_replicates_equal_the_metric_on_each_resample():
    g = torch.Generator().manual_seed(4)
    confidence = (torch.rand(200, generator=g) * 12).round() / 12  # coarse: many ties
    correct = (torch.rand(200, generator=g) < 0.5 + 0.4 * confidence).double()
    w = resample_weights("selective-test", 200, 6, seed=1)
    reps = selective_risks(confidence, correct, w)
    for b in range(6):
        counts = w[b].long()
        one = selective_risks(confidence.repeat_interleave(counts), correct.repeat_interleave(counts))
        for name in reps:
            assert reps[name][b].item() == pytest.approx(one[name].item(), abs=1e-10), (name, b)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="confidence"):
        selective_risks(torch.tensor([0.5, float("nan")]), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"\(n,\)"):
        selective_risks(torch.tensor([0.5, 0.4]), torch.tensor([1.0]))

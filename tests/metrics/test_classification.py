"""Accuracy, NLL and Brier against hand arithmetic and numpy."""
import math

import numpy as np
import pytest
import torch

from spindrop.metrics import accuracy, brier, nll


def test_accuracy_hand():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]], dtype=torch.float64)
    labels = torch.tensor([0, 2, 2])
    # argmax = [0, 1, 2]; correct = [1, 0, 1] → 2/3
    assert accuracy(probs, labels) == pytest.approx(2 / 3)


def test_nll_with_zero_probability_is_finite():
    probs = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([1, 1])
    # −(log 0.5 + log max(0, 1e-12)) / 2 = (0.693147… + 27.631021…) / 2
    expected = (math.log(2) - math.log(1e-12)) / 2
    value = nll(probs, labels)
    assert math.isfinite(value)
    assert value == pytest.approx(expected, rel=1e-12)
    assert nll(probs[1:], labels[1:]) == pytest.approx(-math.log(1e-12))


def test_brier_hand():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]], dtype=torch.float64)
    labels = torch.tensor([0, 2])
    # sample 1: 0.3² + 0.2² + 0.1² = 0.14; sample 2: 0.1² + 0.6² + 0.7² = 0.86; mean 0.5
    assert brier(probs, labels) == pytest.approx(0.5)


def test_against_numpy_on_random_probs():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 10))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 10, size=500)
    probs, labels = torch.from_numpy(p), torch.from_numpy(y)
    assert accuracy(probs, labels) == pytest.approx(np.mean(p.argmax(1) == y))
    assert nll(probs, labels) == pytest.approx(-np.mean(np.log(p[np.arange(500), y])))
    onehot = np.eye(10)[y]
    assert brier(probs, labels) == pytest.approx(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        accuracy(torch.rand(3, 2), torch.tensor([0, 1]))

"""Temperature scaling (spindrop.posthoc.temperature): the argmax (so the accuracy) never moves, a
deliberately over-confident toy model gets a temperature near the one that made it over-confident
and a lower NLL, and the fitted τ is the NLL's minimiser."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spindrop.metrics import accuracy, ece, nll
from spindrop.posthoc import TAU_RANGE, fit_temperature, tempered

OVERCONFIDENCE = 4.0


def _overconfident(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels drawn from softmax(z) (so softmax(z) is calibrated), predictions softmax(4 z): a
    network 4× too confident, whose best temperature is 4."""
    g = torch.Generator().manual_seed(seed)
    z = 1.5 * torch.randn(n, 10, generator=g, dtype=torch.float64)
    labels = torch.multinomial(F.softmax(z, 1), 1, generator=g).squeeze(1)
    return F.softmax(OVERCONFIDENCE * z, 1), labels


@pytest.mark.parametrize("tau", [0.05, 0.5, 1.0, 3.0, 50.0])
def test_tempering_keeps_every_argmax(tau):
    probs, labels = _overconfident(2000, 0)
    scaled = tempered(probs, tau)
    assert torch.equal(scaled.argmax(1), probs.argmax(1))
    assert accuracy(scaled, labels) == accuracy(probs, labels)
    assert torch.allclose(scaled.sum(1), torch.ones(len(probs), dtype=torch.float64))


def test_tau_one_is_the_identity_and_a_deterministic_network_gets_guo_et_al():
    logits = torch.randn(50, 7, dtype=torch.float64)
    probs = F.softmax(logits, 1)
    assert torch.allclose(tempered(probs, 1.0), probs, atol=1e-12)
    assert torch.allclose(tempered(probs, 2.5), F.softmax(logits / 2.5, 1), atol=1e-12)


def test_overconfident_toy_model_gets_its_temperature_and_a_lower_validation_nll():
    probs, labels = _overconfident(4000, 1)
    tau = fit_temperature(probs, labels)
    # the MLE of the scale from 4000 images: its standard error is a few %, 15 % is > 4σ
    assert tau == pytest.approx(OVERCONFIDENCE, rel=0.15)
    assert nll(tempered(probs, tau), labels) < nll(probs, labels) - 0.1
    assert ece(tempered(probs, tau), labels) < ece(probs, labels)
    assert accuracy(tempered(probs, tau), labels) == accuracy(probs, labels)


def test_fitted_tau_minimises_the_nll_on_a_grid():
    probs, labels = _overconfident(1000, 2)
    tau = fit_temperature(probs, labels)
    best = nll(tempered(probs, tau), labels)
    for other in torch.logspace(-1, 1.5, 60).tolist():
        assert best <= nll(tempered(probs, other), labels) + 1e-9


def test_an_underconfident_model_gets_tau_below_one_and_range_ends_hold():
    probs, labels = _overconfident(2000, 3)
    soft = tempered(probs, OVERCONFIDENCE * 3)  # 3× under-confident
    assert fit_temperature(soft, labels) == pytest.approx(1 / 3, rel=0.15)
    perfect = F.one_hot(torch.arange(10).repeat(5), 10).double() * 0.9 + 0.01
    assert fit_temperature(perfect, torch.arange(10).repeat(5)) == pytest.approx(TAU_RANGE[0], rel=1e-3)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="τ"):
        tempered(torch.ones(2, 2) / 2, 0.0)
    with pytest.raises(ValueError, match=r"labels \(N,\)"):
        fit_temperature(torch.ones(3, 2) / 2, torch.zeros(2, dtype=torch.long))

"""MC uncertainty summaries of (T, B, C) probabilities."""
import math

import numpy as np
import pytest
import torch

from spindrop.metrics import (
    expected_entropy,
    max_softmax,
    mutual_information,
    ood_scores,
    predictive_entropy,
    predictive_mean,
)


def _random_probs(t: int, b: int, c: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(t, b, c, generator=gen, dtype=torch.float64) * 2, -1)


def test_disagreeing_samples_hand():
    probs = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]], dtype=torch.float64)  # T=2, B=1
    # p̄ = [½, ½] → H = log 2; each p_t one-hot → E_t H[p_t] = 0; MI = log 2; MSP = ½
    assert predictive_mean(probs).tolist() == [[0.5, 0.5]]
    assert predictive_entropy(probs).item() == pytest.approx(math.log(2))
    assert expected_entropy(probs).item() == pytest.approx(0.0)
    assert mutual_information(probs).item() == pytest.approx(math.log(2))
    assert max_softmax(probs).item() == pytest.approx(0.5)


def test_mutual_information_zero_when_samples_identical():
    one = _random_probs(1, 32, 10, seed=0)
    probs = one.expand(20, -1, -1)
    # zero up to the rounding of the mean of 20 equal numbers
    assert torch.allclose(mutual_information(probs), torch.zeros(32, dtype=torch.float64),
                          atol=1e-14)
    mi32 = mutual_information(probs.float())
    assert (mi32 >= 0).all() and mi32.max() < 1e-6


def test_against_numpy_and_nonnegative():
    probs = _random_probs(20, 64, 10, seed=1)
    p = probs.numpy()
    mean = p.mean(0)
    h_mean = -(mean * np.log(mean)).sum(-1)
    e_h = (-(p * np.log(p)).sum(-1)).mean(0)
    assert np.allclose(predictive_entropy(probs).numpy(), h_mean)
    assert np.allclose(expected_entropy(probs).numpy(), e_h)
    mi = mutual_information(probs)
    assert np.allclose(mi.numpy(), h_mean - e_h)
    assert (mi >= 0).all()
    assert np.allclose(max_softmax(probs).numpy(), mean.max(-1))


def test_ood_scores_names_and_values():
    probs = _random_probs(5, 8, 4, seed=2)
    scores = ood_scores(probs)
    assert list(scores) == ["entropy", "mutual_info", "one_minus_msp"]
    assert torch.allclose(scores["one_minus_msp"], 1 - max_softmax(probs))
    assert all(s.shape == (8,) for s in scores.values())


def test_ood_scores_take_an_mc_output_as_its_probabilities():
    """Issue 24: ``ood_scores(out)`` with an MCOutput failed with "'Tensor' object is not callable"."""
    from spindrop.mc import MCOutput
    probs = _random_probs(5, 7, 3, seed=3)
    from_output, from_probs = ood_scores(MCOutput(probs)), ood_scores(probs)
    assert from_output.keys() == from_probs.keys()
    for name in from_probs:
        assert torch.equal(from_output[name], from_probs[name])


@pytest.mark.parametrize("bad", [torch.rand(7, 3), [[0.5, 0.5]]])
def test_ood_scores_name_what_they_were_given(bad):
    with pytest.raises(TypeError, match=r"\(T, B, C\)") as err:
        ood_scores(bad)
    assert "\n" not in str(err.value)

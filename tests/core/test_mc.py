"""Monte-Carlo inference: loop and batched modes, seeding, prefix reuse, uncertainty summaries."""
from __future__ import annotations

import math

import pytest
import torch

import spindrop
from spindrop import dropout_sites, mc_predict, mc_predict_loader
from spindrop.mc import split_prefix

from .helpers import NUM_CLASSES, build

MODEL, B = "lenet5", 4


def _x(seed=0, batch=B):
    return torch.randn(batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _model(method_name, seed=0, **params):
    model, method, _ = build(MODEL, method_name, seed=seed, width=0.25, **params)
    return model, type(method).stochastic


def test_loop_and_batched_agree(method_name):
    """Stochastic methods: per (sample, class) the two means differ by at most 4 standard
    errors of the difference, sqrt((s_loop² + s_batched²)/T). Deterministic: exactly equal."""
    T = 200
    model, stochastic = _model(method_name)
    x = _x()
    loop = mc_predict(model, x, T=T, mode="loop", seed=1).probs
    batched = mc_predict(model, x, T=T, mode="batched", chunk=64, seed=2).probs  # 64+64+64+8
    assert loop.shape == batched.shape == (T, B, NUM_CLASSES)
    if not stochastic:
        assert torch.equal(loop, batched)
        return
    se = ((loop.var(0) + batched.var(0)) / T).sqrt()
    diff = (loop.mean(0) - batched.mean(0)).abs()
    assert torch.all(diff <= 4 * se + 1e-6), f"max |diff|/se = {float((diff / (se + 1e-12)).max()):.2f}"
    # replicas inside one batched chunk are independent passes, not copies of one mask
    assert any(not torch.equal(batched[0], batched[t]) for t in range(1, 64))
    assert any(not torch.equal(loop[0], loop[t]) for t in range(1, T))


@pytest.mark.parametrize("mode", ["loop", "batched"])
def test_seed_reproducible_and_distinct(method_name, mode):
    model, stochastic = _model(method_name)
    x = _x()
    a = mc_predict(model, x, T=8, mode=mode, chunk=3, seed=123).probs
    b = mc_predict(model, x, T=8, mode=mode, chunk=3, seed=123).probs
    c = mc_predict(model, x, T=8, mode=mode, chunk=3, seed=124).probs
    assert torch.equal(a, b)
    assert torch.equal(a, c) != stochastic


def test_seed_leaves_global_rng_alone(method_name):
    model, _ = _model(method_name)
    torch.manual_seed(7)
    state = torch.get_rng_state()
    mc_predict(model, _x(), T=4, seed=0)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("mode", ["loop", "batched"])
def test_reuse_prefix_gives_same_samples(method_name, mode):
    model, _ = _model(method_name)
    prefix, _ = split_prefix(model)
    assert len(prefix) > 0, "lenet5's first conv/pool/BN form a deterministic prefix"
    assert not dropout_sites(prefix)
    x = _x()
    on = mc_predict(model, x, T=6, mode=mode, chunk=4, seed=5, reuse_prefix=True).probs
    off = mc_predict(model, x, T=6, mode=mode, chunk=4, seed=5, reuse_prefix=False).probs
    if mode == "loop":
        assert torch.equal(on, off)
    else:  # the prefix runs on a differently sized batch: allow float rounding
        assert torch.allclose(on, off, atol=1e-5)


def test_prefix_is_computed_once_per_call():
    model, _ = _model("spatial")
    calls = []
    model[0].register_forward_hook(lambda *args: calls.append(1))
    mc_predict(model, _x(), T=5, mode="loop", seed=0, reuse_prefix=True)
    assert len(calls) == 1
    mc_predict(model, _x(), T=5, mode="loop", seed=0, reuse_prefix=False)
    assert len(calls) == 1 + 5


def test_split_prefix_stops_before_first_site():
    model, _ = _model("spindrop")
    prefix, rest = split_prefix(model)
    assert list(prefix) + list(rest) == list(model)
    assert not dropout_sites(prefix) and dropout_sites(rest[0])


def test_summaries_are_consistent(method_name):
    model, stochastic = _model(method_name)
    out = mc_predict(model, _x(batch=6), T=16, seed=0)
    probs = out.probs
    assert torch.all(probs >= 0)
    assert torch.allclose(probs.sum(-1), torch.ones(16, 6), atol=1e-5)
    assert torch.allclose(out.mean.sum(-1), torch.ones(6), atol=1e-5)
    log_c = math.log(NUM_CLASSES)
    assert torch.all(out.entropy >= -1e-6) and torch.all(out.entropy <= log_c + 1e-5)
    assert torch.all(out.mutual_info >= 0)
    assert torch.all(out.mutual_info <= out.entropy + 1e-5)
    assert torch.all(out.msp >= 1.0 / NUM_CLASSES - 1e-6) and torch.all(out.msp <= 1.0 + 1e-6)
    # H[p̄] from its definition
    ref_h = -(out.mean * out.mean.clamp_min(1e-12).log()).sum(-1)
    assert torch.allclose(out.entropy, ref_h, atol=1e-5)
    if not stochastic:
        assert torch.allclose(out.mutual_info, torch.zeros(6), atol=1e-6)
    else:
        assert float(out.mutual_info.max()) > 0


def test_mutual_information_of_disagreeing_samples():
    """Two confident samples that disagree: H[p̄] = log 2, E[H[p_t]] = 0, so MI = log 2."""
    probs = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    out = spindrop.MCOutput(probs)
    assert torch.allclose(out.entropy, torch.tensor([math.log(2)]))
    assert torch.allclose(out.mutual_info, torch.tensor([math.log(2)]))
    assert torch.allclose(out.msp, torch.tensor([0.5]))


@pytest.mark.parametrize("T", [0, -3])
def test_nonpositive_T_raises(T):
    model, _ = _model("spatial")
    with pytest.raises(ValueError, match="T"):
        mc_predict(model, _x(), T=T)


def test_unknown_mode_raises():
    model, _ = _model("spatial")
    with pytest.raises(ValueError, match="mode"):
        mc_predict(model, _x(), T=2, mode="parallel")


def test_mc_predict_restores_training_mode_and_site_flags():
    model, _ = _model("spindrop")
    model.train()
    mc_predict(model, _x(), T=3, mode="batched", seed=0)
    assert model.training
    assert all(s.training and not s.mc for s in dropout_sites(model))


def test_model_without_sites_returns_identical_samples():
    model, stochastic = _model("deterministic")
    assert not stochastic and not dropout_sites(model)
    out = mc_predict(model, _x(), T=5)
    model.eval()
    with torch.no_grad():
        ref = model(_x()).softmax(-1)
    assert out.probs.shape == (5, B, NUM_CLASSES)
    assert all(torch.equal(out.probs[t], ref) for t in range(5))


def test_loader_concatenates_batches_with_per_batch_seeds():
    model, _ = _model("mc_dropout")
    batches = [(_x(seed=i, batch=3), torch.arange(3) + i) for i in range(3)]
    out, labels = mc_predict_loader(model, batches, T=4, seed=10)
    assert out.probs.shape == (4, 9, NUM_CLASSES)
    assert torch.equal(labels, torch.cat([y for _, y in batches]))
    for i, (x, _) in enumerate(batches):
        assert torch.equal(out.probs[:, 3 * i:3 * i + 3], mc_predict(model, x, T=4, seed=10 + i).probs)

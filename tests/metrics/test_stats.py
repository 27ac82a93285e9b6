"""spindrop.stats: the vectorised bootstrap against closed forms, scipy.stats.bootstrap and the
metrics themselves; the t-interval; the paired interval; the replicates file."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from spindrop.metrics import (
    accuracy,
    aupr,
    aupr_in,
    auroc,
    brier,
    detection_threshold,
    ece,
    fpr_at_tpr,
    mce,
    nll,
    percent_detected,
)
from spindrop.stats import (
    Replicates,
    calibration_replicates,
    ood_replicates,
    paired_difference,
    percentile_interval,
    resample_weights,
    t_interval,
    weighted_mean,
)
from spindrop.stats.bootstrap import RankedID
from spindrop.stats.terms import brier_terms, confidence, correct, nll_terms

Z975 = 1.959963984540054  # standard normal 97.5 % quantile


def _probs(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(3 * torch.randn(n, 10, generator=g), 1)
    labels = torch.where(torch.rand(n, generator=g) < 0.7, probs.argmax(1), torch.randint(10, (n,), generator=g))
    return probs, labels


def test_weights_are_resamples_of_n():
    w = resample_weights("unit-test", 300, 50, seed=3)
    assert w.shape == (50, 300)
    assert torch.all(w.sum(1) == 300) and torch.all(w == w.round()) and w.min() >= 0
    assert torch.equal(w, resample_weights("unit-test", 300, 50, seed=3))          # seeded
    assert not torch.equal(w, resample_weights("other-set", 300, 50, seed=3))     # per set


def test_identity_weights_give_the_metrics():
    """With W = 1 (the sample itself) every estimator returns the metric of spindrop.metrics."""
    probs, labels = _probs(2000)
    one = torch.ones(1, len(labels))
    assert weighted_mean(one, correct(probs, labels)).item() == pytest.approx(accuracy(probs, labels), abs=1e-6)
    assert weighted_mean(one, nll_terms(probs, labels)).item() == pytest.approx(nll(probs, labels), rel=1e-6)
    assert weighted_mean(one, brier_terms(probs, labels)).item() == pytest.approx(brier(probs, labels), rel=1e-6)
    e, m = calibration_replicates(one, confidence(probs), correct(probs, labels), 15)
    assert e.item() == pytest.approx(ece(probs, labels), abs=1e-6)
    assert m.item() == pytest.approx(mce(probs, labels), abs=1e-6)


@pytest.mark.parametrize("ties", [False, True])
def test_identity_weights_give_the_ood_metrics(ties):
    g = torch.Generator().manual_seed(1)
    sid, sood = torch.rand(1500, generator=g), torch.rand(400, generator=g) + 0.25
    if ties:  # coarse scores: many ID/OOD ties, as for saturated entropies
        sid, sood = (sid * 20).round() / 20, (sood * 20).round() / 20
    reference = torch.rand(700, generator=g)  # held-out ID entropies: the detection threshold
    threshold = detection_threshold(reference)
    out = ood_replicates(RankedID.of(torch.ones(1, 1500), sid), torch.ones(1, 400), sood, 0.95, threshold)
    assert out["AUROC"].item() == pytest.approx(auroc(sid, sood), abs=1e-6)
    assert out["AUPR_Out"].item() == pytest.approx(aupr(sid, sood), abs=1e-6)
    assert out["AUPR_In"].item() == pytest.approx(aupr_in(sid, sood), abs=1e-6)
    assert out["FPR95"].item() == pytest.approx(fpr_at_tpr(sid, sood, 0.95), abs=1e-12)
    assert out["detected"].item() == pytest.approx(percent_detected(reference, sood, 0.95), abs=1e-12)


def test_resampled_ood_replicate_equals_the_metric_on_the_resample():
    """Replicate b computed from counts = the metric on the explicitly resampled vectors."""
    g = torch.Generator().manual_seed(2)
    sid, sood = (torch.rand(300, generator=g) * 30).round(), (torch.rand(80, generator=g) * 30 + 5).round()
    wid, wood = resample_weights("id", 300, 5, seed=9), resample_weights("ood", 80, 5, seed=9)
    reference = (torch.rand(200, generator=g) * 30).round()
    out = ood_replicates(RankedID.of(wid, sid), wood, sood, 0.95, detection_threshold(reference))
    for b in range(5):
        rid = sid.repeat_interleave(wid[b].long())
        rood = sood.repeat_interleave(wood[b].long())
        assert out["AUROC"][b].item() == pytest.approx(auroc(rid, rood), abs=1e-6)
        assert out["AUPR_Out"][b].item() == pytest.approx(aupr(rid, rood), abs=1e-6)
        assert out["AUPR_In"][b].item() == pytest.approx(aupr_in(rid, rood), abs=1e-6)
        assert out["FPR95"][b].item() == pytest.approx(fpr_at_tpr(rid, rood), abs=1e-12)
        assert out["detected"][b].item() == pytest.approx(percent_detected(reference, rood), abs=1e-12)


def test_bernoulli_mean_interval_matches_the_normal_approximation():
    """n = 10,000 Bernoulli(0.9) outcomes: the percentile interval of B = 4,000 replicates is
    p̂ ± 1.96 √(p̂(1 − p̂)/n) within 6 % of that half-width (Monte-Carlo error of a 2.5 % quantile
    with B = 4,000 plus the discreteness of the counts)."""
    n = 10_000
    x = (torch.rand(n, generator=torch.Generator().manual_seed(4)) < 0.9).double()
    low, high = percentile_interval(weighted_mean(resample_weights("bern", n, 4000), x).numpy())
    p = x.mean().item()
    half = Z975 * math.sqrt(p * (1 - p) / n)
    assert low == pytest.approx(p - half, abs=0.06 * half)
    assert high == pytest.approx(p + half, abs=0.06 * half)


def test_paired_interval_matches_the_normal_approximation():
    """Two correlated Bernoulli vectors on the same n images: the paired interval of the difference
    of means is d̄ ± 1.96 s_d/√n (s_d the std of the per-image differences), within 6 %."""
    n = 10_000
    g = torch.Generator().manual_seed(5)
    a = (torch.rand(n, generator=g) < 0.9).double()
    b = torch.where(torch.rand(n, generator=g) < 0.9, a, 1 - a)                        # agrees 90 % of the time
    w = resample_weights("paired", n, 4000)
    got = paired_difference(a.mean().item(), b.mean().item(), weighted_mean(w, a).numpy(), weighted_mean(w, b).numpy())
    d = (a - b)
    half = Z975 * d.std().item() / math.sqrt(n)
    assert got.value == pytest.approx(d.mean().item(), abs=1e-12)
    assert got.low == pytest.approx(d.mean().item() - half, abs=0.06 * half)
    assert got.high == pytest.approx(d.mean().item() + half, abs=0.06 * half)


def _scipy_interval(data: tuple, statistic, paired: bool = False) -> tuple[float, float]:
    """scipy's percentile interval, B = 4,000; ``statistic`` is vectorised along the last axis."""
    res = scipy_stats.bootstrap(data, statistic, n_resamples=4000, method="percentile", paired=paired,
                                vectorized=True, batch=500, rng=np.random.default_rng(0))
    return res.confidence_interval.low, res.confidence_interval.high


def test_mean_interval_agrees_with_scipy_bootstrap():
    """Same array, same percentile method, independent resamples (B = 4,000 each): the endpoints
    agree within 8 % of the interval's width (two Monte-Carlo errors of a 2.5 % quantile)."""
    probs, labels = _probs(3000, seed=6)
    terms = nll_terms(probs, labels)
    ours = percentile_interval(weighted_mean(resample_weights("scipy-nll", 3000, 4000), terms).numpy())
    theirs = _scipy_interval((terms.numpy(),), lambda x, axis=-1: x.mean(axis))
    width = theirs[1] - theirs[0]
    assert ours == pytest.approx(theirs, abs=0.08 * width)


def test_auroc_interval_agrees_with_scipy_bootstrap():
    """Two-sample bootstrap (ID and OOD resampled independently, as scipy does for several samples):
    endpoints within 8 % of the interval's width."""
    g = torch.Generator().manual_seed(7)
    sid, sood = torch.randn(600, generator=g), torch.randn(200, generator=g) + 1.0
    out = ood_replicates(RankedID.of(resample_weights("s-id", 600, 4000), sid), resample_weights("s-ood", 200, 4000),
                         sood)
    ours = percentile_interval(out["AUROC"].numpy())

    def stat(x_id, x_ood, axis=-1):  # Mann–Whitney U / (n0 n1) with mid-ranks (= ROC AUC)
        ranks = scipy_stats.rankdata(np.concatenate([x_id, x_ood], axis=-1), axis=-1)[..., x_id.shape[-1]:]
        n0, n1 = x_id.shape[-1], x_ood.shape[-1]
        return (ranks.sum(-1) - n1 * (n1 + 1) / 2) / (n0 * n1)
    assert stat(sid.numpy(), sood.numpy()) == pytest.approx(auroc(sid, sood), abs=1e-6)
    theirs = _scipy_interval((sid.numpy(), sood.numpy()), stat)
    assert ours == pytest.approx(theirs, abs=0.08 * (theirs[1] - theirs[0]))


def test_paired_interval_agrees_with_scipy_paired_bootstrap():
    probs, labels = _probs(2000, seed=8)
    noise = torch.randn(probs.shape, generator=torch.Generator().manual_seed(9))
    other = torch.softmax(torch.log(probs) + 0.8 * noise, 1)
    a, b = correct(probs, labels), correct(other, labels)
    w = resample_weights("scipy-paired", 2000, 4000)
    ours = paired_difference(a.mean().item(), b.mean().item(), weighted_mean(w, a).numpy(), weighted_mean(w, b).numpy())
    theirs = _scipy_interval((a.numpy(), b.numpy()), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), paired=True)
    assert (ours.low, ours.high) == pytest.approx(theirs, abs=0.08 * (theirs[1] - theirs[0]))


def test_t_interval_by_hand():
    mean, std, low, high = t_interval([0.91, 0.93, 0.95])
    assert mean == pytest.approx(0.93) and std == pytest.approx(0.02)
    half = 4.302652729911275 * 0.02 / math.sqrt(3)  # t_{0.975, 2} (Student-t table)
    assert (low, high) == pytest.approx((0.93 - half, 0.93 + half))
    with pytest.raises(ValueError, match="at least 2"):
        t_interval([0.9])


def test_paired_difference_is_one_pair_of_networks():
    """One pair: Δ = a − b and the percentile interval of the replicate differences; (S, B) replicates
    of several seeds are refused (verdicts over seeds come from the paired t-test)."""
    rng = np.random.default_rng(0)
    reps_b = rng.normal(0.9, 0.001, size=1000)
    reps_a = reps_b + 0.02 + rng.normal(0, 0.001, size=1000)
    got = paired_difference(0.92, 0.9, reps_a, reps_b)
    assert got.value == pytest.approx(0.02)
    assert (got.low, got.high) == pytest.approx(tuple(np.percentile(reps_a - reps_b, [2.5, 97.5])))
    with pytest.raises(ValueError, match="one pair"):
        paired_difference(0.92, 0.9, reps_a[None], reps_b[None])


def test_replicates_round_trip_and_pairing():
    reps = Replicates()
    w = reps.weights("rt", 100)
    reps.add("test/acc", ("rt",), weighted_mean(w, torch.ones(100)))
    back = Replicates.from_bytes(reps.to_bytes())
    assert np.array_equal(back.values["test/acc"], reps.values["test/acc"])
    assert back.pairs_with(reps, "test/acc") and back.interval("test/acc")[2] == 100
    back.fingerprints["rt"] = "different"
    assert not back.pairs_with(reps, "test/acc")
    with pytest.raises((ValueError, OSError)):
        Replicates.from_bytes(b"not an npz file")

"""ECE/MCE: 15 uniform bins, L1, top-label, confidence 1.0 in the last bin; torchmetrics' value
beside it differs exactly by its extra bin for confidence 1.0 (torchmetrics issue #3510)."""
import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from spindrop.metrics import calibration_bins, ece, mce


def _ece_numpy(p: np.ndarray, y: np.ndarray, n_bins: int = 15,
               one_apart: bool = False) -> tuple[float, float]:
    """Independent loop implementation: bin k = [k/M, (k+1)/M), the last bin closed at 1; with
    ``one_apart`` confidence 1.0 gets a bin of its own (torchmetrics' binning)."""
    conf, pred = p.max(1), p.argmax(1)
    correct = (pred == y).astype(float)
    total, worst = 0.0, 0.0
    bins = [(k / n_bins, (k + 1) / n_bins) for k in range(n_bins)] + [(1.0, 1.0)] * one_apart
    for k, (lo, hi) in enumerate(bins):
        last = k == n_bins - 1 and not one_apart or k == n_bins
        in_bin = (conf >= lo) & ((conf <= hi) if last else (conf < hi))
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - conf[in_bin].mean())
            total += in_bin.mean() * gap
            worst = max(worst, gap)
    return total, worst


def test_confidence_one_goes_into_last_bin():
    probs = torch.tensor([[1.0, 0.0],     # conf 1.00, correct
                          [0.0, 1.0],     # conf 1.00, wrong
                          [0.95, 0.05],   # conf 0.95, correct (last bin [14/15, 1])
                          [0.62, 0.38]],  # conf 0.62, wrong   (bin 9 = [0.6, 0.667))
                         dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1])
    # last bin: conf = (1 + 1 + 0.95)/3 = 0.98333…, acc = 2/3 → gap 0.31667, weight 3/4
    # bin 9:    conf = 0.62, acc = 0 → gap 0.62, weight 1/4
    # ECE = 0.75·0.316667 + 0.25·0.62 = 0.2375 + 0.155 = 0.3925;  MCE = 0.62
    # torchmetrics puts the two 1.0s into a 16th bin of their own (issue #3510) and gets
    # 0.5·|0.5 − 1| + 0.25·|1 − 0.95| + 0.25·0.62 = 0.4175.
    bins = calibration_bins(probs, labels)
    assert bins.count.tolist() == [0] * 9 + [1] + [0] * 4 + [3]
    assert bins.confidence[14].item() == pytest.approx(2.95 / 3)
    assert bins.accuracy[14].item() == pytest.approx(2 / 3)
    assert ece(probs, labels) == pytest.approx(0.3925)
    assert mce(probs, labels) == pytest.approx(0.62)
    assert (bins.ece, bins.mce) == (ece(probs, labels), mce(probs, labels))
    diagram = bins.to_dict()
    assert len(diagram["edges"]) == 16 and diagram["count"][14] == 3
    torchmetrics_ece = multiclass_calibration_error(probs, labels, num_classes=2, n_bins=15, norm="l1").item()
    assert torchmetrics_ece == pytest.approx(0.4175)


def _torchmetrics(probs: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    c = probs.shape[1]
    return tuple(multiclass_calibration_error(probs, labels, num_classes=c, n_bins=15, norm=norm).item()
                 for norm in ("l1", "max"))


def test_torchmetrics_differs_exactly_by_the_confidence_one_bin():
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=3.0, size=(3000, 10))
    p = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    p[:80] = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=80)]  # confidence exactly 1.0
    y = rng.integers(0, 10, size=3000)
    # the rest of the last bin [14/15, 1) right (under-confident), the 1.0 samples 75 % right
    # (over-confident): pooled, the two gaps partly cancel; apart, they add up
    near_one = (p.max(1) >= 14 / 15) & (p.max(1) < 1.0)
    y[near_one] = p[near_one].argmax(1)
    y[:60] = p[:60].argmax(1)
    # float32 probabilities, so that both implementations see the same confidences
    probs, labels = torch.from_numpy(p), torch.from_numpy(y)
    ours, theirs = (ece(probs, labels), mce(probs, labels)), _torchmetrics(probs, labels)
    assert ours == pytest.approx(_ece_numpy(p.astype(np.float64), y), abs=1e-12)
    assert theirs == pytest.approx(_ece_numpy(p.astype(np.float64), y, one_apart=True), abs=1e-6)
    assert abs(ours[0] - theirs[0]) > 1e-3  # the conf = 1.0 bin is the whole difference …
    has_one = p.max(1) == 1.0
    rest = torch.from_numpy(p[~has_one]), torch.from_numpy(y[~has_one])
    assert (ece(*rest), mce(*rest)) == pytest.approx(_torchmetrics(*rest), abs=1e-6)  # … without it, equal


def test_perfectly_calibrated_bin_has_zero_ece():
    # 4 samples at confidence 0.75 (one bin), 3 of them right → acc = conf → ECE 0
    probs = torch.tensor([[0.75, 0.25]] * 4, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1])
    assert ece(probs, labels) == pytest.approx(0.0)
    assert mce(probs, labels) == pytest.approx(0.0)


def test_against_numpy_on_random_probs():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3.0, size=(2000, 10))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p[:50] = np.eye(10)[rng.integers(0, 10, size=50)]  # some confidences exactly 1.0
    y = rng.integers(0, 10, size=2000)
    want_ece, want_mce = _ece_numpy(p, y)
    probs, labels = torch.from_numpy(p), torch.from_numpy(y)
    assert ece(probs, labels) == pytest.approx(want_ece, abs=1e-12)
    assert mce(probs, labels) == pytest.approx(want_mce, abs=1e-12)
    assert calibration_bins(probs, labels).count.sum().item() == 2000

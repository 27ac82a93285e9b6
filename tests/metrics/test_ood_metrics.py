"""OOD metrics (OOD = positive class) against hand values and scikit-learn.

AUROC and AUPR come from torchmetrics in float32: compared with ``abs=F32``."""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from spindrop.metrics import aupr, aupr_in, auroc, fpr_at_tpr, percent_detected

F32 = 1e-6


def _sk_inputs(s_id: torch.Tensor, s_ood: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    y = np.r_[np.zeros(len(s_id)), np.ones(len(s_ood))]
    return y, torch.cat([s_id, s_ood]).double().numpy()


def test_auroc_ties_count_half():
    s_id = torch.tensor([0.1, 0.5, 0.5])
    s_ood = torch.tensor([0.5, 2.3])
    # OOD–ID pairs: (0.5, 0.1) = 1, (0.5, 0.5) = ½, (0.5, 0.5) = ½, (2.3, ·) = 3 → 5/6
    assert auroc(s_id, s_ood) == pytest.approx(5 / 6)
    assert auroc(s_id, s_ood) == pytest.approx(roc_auc_score(*_sk_inputs(s_id, s_ood)))


def test_scores_across_one_split_in_batches_equal_sklearn_on_concatenation():
    # Entropies of a 10-class model lie in [0, log 10 ≈ 2.30]: some batches stay inside [0, 1],
    # others do not — the case where a per-batch sigmoid (torchmetrics #2195/#3179) breaks the
    # ranking. Accumulate every batch, then compute once.
    gen = torch.Generator().manual_seed(0)
    id_batches = [torch.rand(64, generator=gen) * 0.9 for _ in range(3)]
    id_batches.append(torch.rand(64, generator=gen) * 2.3)
    ood_batches = [torch.rand(64, generator=gen) * 2.3 for _ in range(2)]
    ood_batches.append(torch.rand(64, generator=gen))
    # quantise so that ties occur within and across the two sets
    s_id = (torch.cat(id_batches) * 20).round() / 20
    s_ood = (torch.cat(ood_batches) * 20).round() / 20
    y, s = _sk_inputs(s_id, s_ood)
    assert auroc(s_id, s_ood) == pytest.approx(roc_auc_score(y, s), abs=F32)
    assert aupr(s_id, s_ood) == pytest.approx(average_precision_score(y, s), abs=F32)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert fpr_at_tpr(s_id, s_ood) == pytest.approx(fpr[np.argmax(tpr >= 0.95)], abs=1e-15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_scores_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    s_id = torch.from_numpy(rng.gamma(2.0, 0.4, size=700))
    s_ood = torch.from_numpy(rng.gamma(3.0, 0.4, size=300))
    y, s = _sk_inputs(s_id, s_ood)
    assert auroc(s_id, s_ood) == pytest.approx(roc_auc_score(y, s), abs=F32)
    assert aupr(s_id, s_ood) == pytest.approx(average_precision_score(y, s), abs=F32)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    for target in (0.5, 0.9, 0.95):
        assert fpr_at_tpr(s_id, s_ood, target) == pytest.approx(fpr[np.argmax(tpr >= target)], abs=1e-15)


def test_fpr95_hand():
    s_id = torch.arange(20.0)          # 0 … 19
    s_ood = torch.arange(20.0) + 10    # 10 … 29
    # TPR ≥ 0.95 needs ≥ 19 of 20 OOD flagged → highest threshold 11; ID with score ≥ 11:
    # 11 … 19 = 9 of 20 → FPR = 0.45
    assert fpr_at_tpr(s_id, s_ood) == pytest.approx(0.45)


def test_aupr_hand():
    s_id = torch.tensor([0.2, 0.6])
    s_ood = torch.tensor([0.4, 0.8])
    # descending: 0.8 (OOD) P=1 R=½; 0.6 (ID) P=½ R=½; 0.4 (OOD) P=⅔ R=1; 0.2 (ID) R=1
    # AP = ½·1 + 0·½ + ½·⅔ + 0 = 5/6
    assert aupr(s_id, s_ood) == pytest.approx(5 / 6)


def test_perfect_separation():
    s_id, s_ood = torch.zeros(10), torch.ones(5) * 2
    assert auroc(s_id, s_ood) == 1.0
    assert aupr(s_id, s_ood) == 1.0
    assert fpr_at_tpr(s_id, s_ood) == 0.0


@pytest.mark.parametrize("ties", [False, True])
def test_aupr_in_is_sklearn_average_precision_with_id_positive(ties):
    """AUPR-In (OpenOOD): ID images positive, score negated; AUPR-Out: OOD positive. With 10:1 ID:OOD
    the two differ (the base rate), and both match scikit-learn."""
    rng = np.random.default_rng(5)
    s_id, s_ood = rng.normal(0, 1, 2000), rng.normal(1, 1, 200)
    if ties:
        s_id, s_ood = np.round(s_id * 4) / 4, np.round(s_ood * 4) / 4
    y_ood = np.r_[np.zeros(2000), np.ones(200)]
    scores = np.r_[s_id, s_ood]
    got_in = aupr_in(torch.from_numpy(s_id), torch.from_numpy(s_ood))
    got_out = aupr(torch.from_numpy(s_id), torch.from_numpy(s_ood))
    assert got_in == pytest.approx(average_precision_score(1 - y_ood, -scores), abs=F32)
    assert got_out == pytest.approx(average_precision_score(y_ood, scores), abs=F32)
    assert got_in > 0.9 > got_out


def test_percent_detected_hand_and_numpy():
    entropy_id = torch.arange(101.0)   # 95th percentile = 95.0 (linear interpolation)
    entropy_ood = torch.tensor([94.0, 95.0, 95.5, 96.0, 200.0])
    # strictly above 95: 95.5, 96, 200 → 3 of 5
    assert percent_detected(entropy_id, entropy_ood) == pytest.approx(0.6)
    rng = np.random.default_rng(4)
    e_id, e_ood = rng.gamma(2.0, 0.5, size=999), rng.gamma(4.0, 0.5, size=501)
    want = np.mean(e_ood > np.quantile(e_id, 0.95))
    assert percent_detected(torch.from_numpy(e_id), torch.from_numpy(e_ood)) == pytest.approx(want)


def test_rejects_nan_and_empty():
    with pytest.raises(ValueError):
        auroc(torch.tensor([0.1, float("nan")]), torch.tensor([0.2]))
    with pytest.raises(ValueError):
        aupr(torch.tensor([]), torch.tensor([0.2]))

"""The torchmetrics-backed metrics equal the rank-based implementations they replaced and
scikit-learn, on score vectors with ties; the FPR95 convention; why the scores are handed to
torchmetrics as ranks.

The reference implementations below are the former library code (Mann–Whitney AUROC with
mid-ranks; ROC points per distinct score for AUPR and FPR95), kept here in float64 as the
independent check. torchmetrics computes rates and areas in float32, hence ``abs=F32``.
"""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from torchmetrics.functional.classification import binary_auroc

from spindrop.metrics import accuracy, aupr, auroc, fpr_at_tpr

F32 = 1e-6


# --- reference: the rank-based implementations (float64) ------------------------------------------

def _ref_pooled(s_id: torch.Tensor, s_ood: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.cat([s_id, s_ood]).double()
    labels = torch.cat([torch.zeros(len(s_id)), torch.ones(len(s_ood))]).double()
    return scores, labels


def _ref_midranks(x: torch.Tensor) -> torch.Tensor:
    """1-based ranks ascending, tied values sharing the mean of their ranks."""
    order = torch.argsort(x, stable=True)
    _, inverse, counts = torch.unique_consecutive(x[order], return_inverse=True, return_counts=True)
    mid = counts.cumsum(0).double() - (counts.double() - 1) / 2
    ranks = torch.empty_like(x, dtype=torch.float64)
    ranks[order] = mid[inverse]
    return ranks


def ref_auroc(s_id: torch.Tensor, s_ood: torch.Tensor) -> float:
    """Mann–Whitney U / (n₁·n₀) with mid-ranks."""
    scores, labels = _ref_pooled(s_id, s_ood)
    n_pos, n_neg = len(s_ood), len(s_id)
    u = _ref_midranks(scores)[labels == 1].sum().item() - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def _ref_roc_points(s_id, s_ood):
    """(tp, fp, n_pos) at each distinct score, thresholds descending (flag: score ≥ t)."""
    scores, labels = _ref_pooled(s_id, s_ood)
    order = torch.argsort(scores, descending=True, stable=True)
    s, y = scores[order], labels[order]
    tp, fp = y.cumsum(0), (1 - y).cumsum(0)
    last = torch.ones_like(s, dtype=torch.bool)
    last[:-1] = s[1:] != s[:-1]
    return tp[last], fp[last], labels.sum()


def ref_aupr(s_id, s_ood) -> float:
    tp, fp, n_pos = _ref_roc_points(s_id, s_ood)
    recall, precision = tp / n_pos, tp / (tp + fp)
    return (torch.diff(recall, prepend=recall.new_zeros(1)) * precision).sum().item()


def ref_fpr_at_tpr(s_id, s_ood, tpr: float = 0.95) -> float:
    tp, fp, n_pos = _ref_roc_points(s_id, s_ood)
    first = torch.nonzero(tp / n_pos >= tpr)[0, 0]
    return (fp[first] / len(s_id)).item()


def _sklearn(s_id, s_ood):
    y = np.r_[np.zeros(len(s_id)), np.ones(len(s_ood))]
    return y, torch.cat([s_id, s_ood]).double().numpy()


# --- score vectors with ties ------------------------------------------------------------------------

def _tied_scores(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Entropy-like scores in [0, 2.3] quantised to 0.05, so ties occur within and across sets."""
    gen = torch.Generator().manual_seed(seed)
    s_id = (torch.rand(400, generator=gen) * 1.6 * 20).round() / 20
    s_ood = (torch.rand(150, generator=gen) * 2.3 * 20).round() / 20
    return s_id, s_ood


CASES = {
    "quantised": _tied_scores(0),
    "quantised-2": _tied_scores(1),
    "one_minus_msp": (torch.tensor([0.0, 0.0, 0.1, 0.1, 0.4, 0.5, 0.5]), torch.tensor([0.1, 0.5, 0.5, 0.9])),
    "all tied": (torch.full((5,), 0.7), torch.full((3,), 0.7)),
    "integers": (torch.tensor([1.0, 2, 2, 3, 3, 3, 7]), torch.tensor([2.0, 3, 3, 9, 9])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_ranking_metrics_equal_reference_and_sklearn(case):
    s_id, s_ood = CASES[case]
    y, s = _sklearn(s_id, s_ood)
    assert auroc(s_id, s_ood) == pytest.approx(ref_auroc(s_id, s_ood), abs=F32)
    assert auroc(s_id, s_ood) == pytest.approx(roc_auc_score(y, s), abs=F32)
    assert aupr(s_id, s_ood) == pytest.approx(ref_aupr(s_id, s_ood), abs=F32)
    assert aupr(s_id, s_ood) == pytest.approx(average_precision_score(y, s), abs=F32)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    for target in (0.5, 0.9, 0.95, 1.0):
        want = ref_fpr_at_tpr(s_id, s_ood, target)
        assert fpr_at_tpr(s_id, s_ood, target) == want  # a ratio of counts: exact
        assert want == fpr[np.argmax(tpr >= target)]


def test_all_tied_is_chance():
    s_id, s_ood = CASES["all tied"]
    # one threshold: everything flagged; AUROC ½ (every pair tied), AP = n₁/N, FPR95 = 1
    assert (auroc(s_id, s_ood), aupr(s_id, s_ood), fpr_at_tpr(s_id, s_ood)) == (0.5, 3 / 8, 1.0)


def test_metrics_depend_only_on_the_order_of_the_scores():
    # Scores far outside [0, 1]: torchmetrics would apply a sigmoid, and float64's sigmoid is 1.0
    # for every score above ~37, merging them. The ranks handed over keep order and ties.
    s_id, s_ood = CASES["quantised"]
    want = (auroc(s_id, s_ood), aupr(s_id, s_ood), fpr_at_tpr(s_id, s_ood))
    for transform in (lambda s: 1000 * s + 40, lambda s: -1 / (s + 1), torch.exp, lambda s: s - 5):
        got = (auroc(transform(s_id), transform(s_ood)), aupr(transform(s_id), transform(s_ood)),
               fpr_at_tpr(transform(s_id), transform(s_ood)))
        assert got == want
    # the raw scores through torchmetrics' sigmoid: all saturate to 1.0 → chance
    y = torch.cat([torch.zeros(len(s_id)), torch.ones(len(s_ood))]).long()
    raw = torch.cat([1000 * s_id + 40, 1000 * s_ood + 40]).double()
    assert binary_auroc(raw, y).item() == pytest.approx(0.5)
    assert want[0] > 0.6


def test_fpr95_threshold_includes_a_whole_tie_group():
    # 20 OOD: 18 at 5.0, 2 at 1.0; ID: 10 at 1.0, 10 at 0.0. TPR ≥ 0.95 needs the threshold 1.0
    # (18/20 = 0.90 is short): all 10 tied ID samples at 1.0 are flagged with it → FPR = 0.5.
    s_ood = torch.tensor([5.0] * 18 + [1.0] * 2)
    s_id = torch.tensor([1.0] * 10 + [0.0] * 10)
    assert fpr_at_tpr(s_id, s_ood) == 0.5
    assert fpr_at_tpr(s_id, s_ood, 0.9) == 0.0


def test_fpr95_reached_exactly_and_on_a_straight_segment():
    # 20 OOD at 10 … 29, 20 ID at 0 … 19. TPR 19/20 = 0.95 exactly at threshold 11 (≥ holds):
    # ID 11 … 19 flagged → FPR 9/20. Between thresholds 10 and 19 the ROC points lie on a straight
    # line, which scikit-learn's default drop_intermediate=True thins out; the convention is
    # the point itself (drop_intermediate=False).
    s_id, s_ood = torch.arange(20.0), torch.arange(20.0) + 10
    assert fpr_at_tpr(s_id, s_ood) == 0.45
    y, s = _sklearn(s_id, s_ood)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert fpr[np.argmax(tpr >= 0.95)] == 0.45
    fpr_thin, tpr_thin, _ = roc_curve(y, s)
    assert fpr_thin[np.argmax(tpr_thin >= 0.95)] != 0.45


def test_accuracy_equals_reference_with_argmax_ties():
    gen = torch.Generator().manual_seed(3)
    probs = torch.softmax((torch.randn(300, 10, generator=gen) * 2).round(), -1)  # rounded logits: ties
    probs[:20] = 0.1  # every class tied: argmax takes the first
    labels = torch.randint(0, 10, (300,), generator=gen)
    labels[:10] = 0
    want = np.mean(probs.numpy().argmax(1) == labels.numpy())  # numpy's argmax: first maximum too
    assert accuracy(probs, labels) == pytest.approx(want, abs=F32)
    assert accuracy(probs.double(), labels) == pytest.approx(want, abs=F32)

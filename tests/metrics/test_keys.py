"""Namespaced metric keys and the evaluation helpers."""
import pytest
import torch

from spindrop.metrics import (
    auroc,
    ece,
    evaluate_classification,
    evaluate_ood,
    evaluate_shift,
    namespaced,
    nll,
    percent_detected,
)


def test_namespaced():
    assert namespaced("test", {"acc": 1.0, "cal/ECE": 0.1}) == {"test/acc": 1.0,
                                                                "test/cal/ECE": 0.1}
    assert namespaced("", {"acc": 1.0}) == {"acc": 1.0}


def test_evaluate_classification_keys_and_values():
    gen = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(100, 10, generator=gen), -1)
    labels = torch.randint(0, 10, (100,), generator=gen)
    out = evaluate_classification(probs, labels)
    assert list(out) == ["test/acc", "test/nll", "test/brier", "test/cal/ECE", "test/cal/MCE"]
    assert out["test/nll"] == nll(probs, labels)
    assert out["test/cal/ECE"] == ece(probs, labels)
    assert next(iter(evaluate_classification(probs, labels, prefix="val"))) == "val/acc"


def test_evaluate_ood_keys_and_values():
    gen = torch.Generator().manual_seed(1)
    ids = {k: torch.rand(50, generator=gen) for k in ("entropy", "mutual_info", "one_minus_msp")}
    ood = {k: torch.rand(40, generator=gen) + 0.3 for k in ids}
    reference = 0.5 * torch.rand(60, generator=gen)  # held-out ID entropies: the threshold of "% detected"
    out = evaluate_ood(ids, ood, "tinyimagenet32", reference)
    expected = [f"ood/tinyimagenet32/{s}/{m}" for s in ids for m in ("AUROC", "AUPR_In", "AUPR_Out", "FPR95")]
    expected.insert(4, "ood/tinyimagenet32/entropy/detected")
    assert list(out) == expected
    assert out["ood/tinyimagenet32/mutual_info/AUROC"] == auroc(ids["mutual_info"],
                                                                ood["mutual_info"])
    assert out["ood/tinyimagenet32/entropy/detected"] == percent_detected(reference, ood["entropy"])
    assert out["ood/tinyimagenet32/entropy/detected"] != percent_detected(ids["entropy"], ood["entropy"])
    assert "ood/tinyimagenet32/entropy/detected" not in evaluate_ood(ids, ood, "tinyimagenet32")
    with pytest.raises(ValueError):
        evaluate_ood({"msp": torch.rand(3)}, {"msp": torch.rand(3)}, "x")


def test_evaluate_shift_keys():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    labels = torch.tensor([0, 0])
    out = evaluate_shift(probs, labels, "blur", 3)
    assert out == {"shift/blur/3/acc": 0.5, "shift/blur/3/ECE": ece(probs, labels)}

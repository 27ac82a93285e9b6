"""``spindrop.evaluate`` on a network trained outside the suite (issue 24).

The acceptance test trains a tiny binary network with a plain PyTorch loop (no Lightning, no
runner), scores it with the evaluator and recomputes its accuracy and OOD AUROC independently from
the same predictions: probabilities from the network itself, AUROC by the rank formula
(Mann–Whitney U with mid-ranks), no library metric.
"""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

import hardware
import spindrop
from spindrop import BinaryConv2d, BinaryLinear, clip_latent_weights
from spindrop.data import channel_stats, load_split, ood_sets, seeded_subset
from spindrop.evaluation import InputShapeError
from spindrop.evaluation.predict import EVAL_BATCH, mask_seed
from spindrop.mc import mc_predict
from spindrop.training import get_profile

PROFILE = "smoke"


def tiny_network() -> nn.Sequential:
    """A binary CNN written here, from spindrop.binary layers only (no registered model)."""
    return nn.Sequential(
        BinaryConv2d(1, 8, 5, padding=2, binary_input=False), nn.MaxPool2d(2), nn.BatchNorm2d(8),
        BinaryConv2d(8, 16, 5), nn.MaxPool2d(2), nn.BatchNorm2d(16), nn.Flatten(),
        BinaryLinear(16 * 5 * 5, 32), nn.BatchNorm1d(32),
        BinaryLinear(32, 10, binary_input=False), nn.BatchNorm1d(10))


def own_normalize(images: torch.Tensor, root) -> torch.Tensor:
    mean, std = channel_stats("mnist", root)
    return (images.float() / 255.0 - mean[0]) / std[0]


@pytest.fixture(scope="module")
def trained(data_root) -> nn.Sequential:
    """Two epochs of Adam on 3,000 MNIST training images, latent weights clipped (BinaryNet)."""
    torch.manual_seed(0)
    split = load_split("mnist", "train", data_root)
    x, y = own_normalize(split.images[:3000], data_root), split.labels[:3000]
    net = tiny_network()
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    net.train()
    for _ in range(2):
        for i in range(0, len(y), 100):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[i:i + 100]), y[i:i + 100]).backward()
            opt.step()
            clip_latent_weights(net)
    return net.eval()


def rank_auroc(id_scores: torch.Tensor, ood_scores: torch.Tensor) -> float:
    """P(s_ood > s_id) + ½ P(s_ood = s_id) from mid-ranks: (R_ood − n₁(n₁+1)/2) / (n₀ n₁)."""
    pooled = torch.cat([id_scores, ood_scores]).double()
    order = pooled.argsort()
    ranks = torch.empty_like(pooled)
    ranks[order] = torch.arange(1, len(pooled) + 1, dtype=torch.float64)
    for value in pooled.unique():  # mid-ranks for ties
        tied = pooled == value
        ranks[tied] = ranks[tied].mean()
    n0, n1 = len(id_scores), len(ood_scores)
    return ((ranks[n0:].sum() - n1 * (n1 + 1) / 2) / (n0 * n1)).item()


def entropy(mean_probs: torch.Tensor) -> torch.Tensor:
    return -(mean_probs * mean_probs.clamp_min(1e-12).log()).sum(-1)


def value(frame, metric: str) -> float:
    return float(frame.loc[frame.metric == metric, "value"].item())


def sets(data_root):
    plan = get_profile(PROFILE).evaluation("mnist")
    split = load_split("mnist", "test", data_root)
    idx = seeded_subset(len(split.labels), plan.test_subset, seed=0)
    return split.images[idx], split.labels[idx], ood_sets("mnist", data_root, n=plan.ood_subset, seed=0)


def test_a_network_trained_by_a_plain_loop_is_scored_as_an_independent_computation(trained, data_root):
    frame = spindrop.evaluate(trained, "mnist", profile=PROFILE)
    images, labels, ood = sets(data_root)
    with torch.no_grad():
        probs_id = trained(own_normalize(images, data_root)).softmax(-1)
        probs_ood = trained(own_normalize(ood["fashion_mnist"], data_root)).softmax(-1)
    acc = (probs_id.argmax(-1) == labels).double().mean().item()
    assert acc > 0.5, "the plain loop should have learnt something"
    assert value(frame, "test/acc") == pytest.approx(acc, abs=1e-6)
    auroc = rank_auroc(entropy(probs_id), entropy(probs_ood))
    assert value(frame, "ood/fashion_mnist/entropy/AUROC") == pytest.approx(auroc, abs=1e-6)
    row = frame[frame.metric == "test/acc"].iloc[0]
    assert row.ci_low <= row.value <= row.ci_high and row.n == len(labels) and row.kind == "measured"
    # no dropout sites: a deterministic network, priced as one crossbar pass with no dropout module
    assert frame.attrs["method"] == "deterministic" and not frame.attrs["stochastic"]
    assert value(frame, "hw/modules") == 0 and math.isnan(value(frame, "hw/energy/dropout_nJ"))
    assert math.isnan(value(frame, "ood/fashion_mnist/mutual_info/AUROC"))  # identically 0 without sampling


def test_an_attached_method_samples_as_documented_and_is_priced_in_nj(trained, data_root):
    """method= attaches its sites to a copy; the MC predictions are mc_predict's with the documented
    mask seeds; the cost is hardware.cost_report's, J → nJ."""
    T = get_profile(PROFILE).eval.mc_samples
    frame = spindrop.evaluate(trained, "mnist", method="mc_dropout", profile=PROFILE, seed=3)
    assert not spindrop.dropout_sites(trained), "the user's network is not modified"
    images, labels, ood = sets(data_root)
    net = spindrop.get_method("mc_dropout").attach(copy.deepcopy(trained))

    def mc(x: torch.Tensor, name: str) -> torch.Tensor:
        x = own_normalize(x, data_root)
        return torch.cat([mc_predict(net, x[i:i + EVAL_BATCH], T, seed=mask_seed(3, name, i)).probs
                          for i in range(0, len(x), EVAL_BATCH)], 1)

    p_id, p_ood = mc(images, "test"), mc(ood["uniform_noise"], "ood/uniform_noise")
    assert value(frame, "test/acc") == pytest.approx((p_id.mean(0).argmax(-1) == labels).double().mean().item(),
                                                     abs=1e-6)
    auroc = rank_auroc(entropy(p_id.mean(0)), entropy(p_ood.mean(0)))
    assert value(frame, "ood/uniform_noise/entropy/AUROC") == pytest.approx(auroc, abs=1e-6)
    report = hardware.cost_report(net, "mc_dropout", (1, 28, 28), T=T)
    assert value(frame, "hw/energy/total_nJ") == pytest.approx(report.energy.total * 1e9, rel=1e-12)
    assert value(frame, "hw/modules") == report.modules > 0
    assert value(frame, "hw/draws") == report.draws
    assert (frame.loc[frame.metric == "hw/energy/total_nJ", "unit"] == "nJ").all()


def test_layers_the_cost_model_cannot_price_get_measured_numbers_and_a_note(data_root):
    net = tiny_network()
    net[7] = nn.Linear(16 * 5 * 5, 32)  # a full-precision layer: no crossbar mapping
    frame = spindrop.evaluate(net.eval(), "mnist", profile=PROFILE)
    assert 0.0 <= value(frame, "test/acc") <= 1.0
    hw = frame[frame.kind == "modelled"]
    assert hw.value.isna().all() and len(hw) > 0
    assert hw.note.str.contains("7 (Linear)", regex=False).all() and hw.note.str.contains("not priced").all()


def test_a_network_without_binary_layers_says_so(data_root):
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    frame = spindrop.evaluate(net, "mnist", profile=PROFILE)
    assert frame[frame.kind == "modelled"].value.isna().all()
    assert frame.attrs["hardware_note"].startswith("not priced: the network has no spindrop.binary layers")


def test_an_input_shape_mismatch_is_one_line_naming_both_shapes(data_root):
    cifar = spindrop.build_model("vgg_small", (3, 32, 32), 10, 0.0625)
    with pytest.raises(InputShapeError) as err:
        spindrop.evaluate(cifar, "mnist", profile=PROFILE)
    message = str(err.value)
    assert "\n" not in message
    assert "(1, 28, 28)" in message and "(3, H, W)" in message


def test_sites_of_another_method_are_refused(trained, data_root):
    net = spindrop.get_method("spatial").attach(copy.deepcopy(trained))
    with pytest.raises(ValueError, match="not those method 'mc_dropout' installs"):
        spindrop.evaluate(net, "mnist", method="mc_dropout", profile=PROFILE)


def test_near_and_far_means_average_their_sets_with_their_intervals(trained, data_root):
    from spindrop.data.shift import ood_group
    frame = spindrop.evaluate(trained, "mnist", method="mc_dropout", profile=PROFILE).set_index("metric")
    per_set = [m for m in frame.index if m.startswith("ood/") and m.endswith("/entropy/AUROC") and m.count("/") == 3
               and m.split("/")[1] not in ("near", "far")]
    for group in ("near", "far"):
        members = [m for m in per_set if ood_group(m.split("/")[1]) == group]
        assert members, group
        mean = frame.loc[f"ood/{group}/entropy/AUROC"]
        assert mean.value == pytest.approx(sum(frame.loc[m, "value"] for m in members) / len(members), rel=1e-12)
        assert mean.ci_low <= mean.value <= mean.ci_high
        assert mean.n == frame.loc[members[0], "n"] + sum(frame.loc[m, "n"] - 256 for m in members[1:])


@pytest.mark.parametrize("name", spindrop.list_methods())
def test_a_network_built_with_a_method_is_described_by_it(name):
    """Every registered method recognises the sites it installs (scale places its own), so a trained
    network is priced as itself, not re-attached."""
    from spindrop.evaluation.evaluator import with_method
    net = spindrop.get_method(name).attach(spindrop.build_model("lenet5", (1, 28, 28), 10, 0.5))
    same, method = with_method(net, name)
    assert same is net or not spindrop.dropout_sites(net)
    assert method.name == name

"""The deep ensemble (baselines/ensemble.py): its hardware cost is M times one member's on every
term it scales, its prediction is the mean of its members' predictive distributions, its
replicates share no member, and the workbench builds it from trained deterministic networks."""
from __future__ import annotations

from dataclasses import fields

import pytest
import torch

import spindrop
from baselines.ensemble import EnsembleNetwork
from hardware import cost_report, list_presets
from spindrop.store import Target
from spindrop.training import get_profile
from suites.workbench import Workbench

SHAPE = (1, 28, 28)


@pytest.mark.parametrize("preset", list_presets())
@pytest.mark.parametrize("M", [2, 5])
def test_cost_is_M_times_one_members_on_every_scaled_term(preset, M):
    model = spindrop.build_model("lenet5", SHAPE, width=0.5)
    member = cost_report(model, "deterministic", SHAPE, T=7, preset=preset)
    ensemble = cost_report(model, spindrop.get_method("ensemble", members=M), SHAPE, T=7, preset=preset)
    for f in fields(member.energy):  # crossbar reads, sense amps, bit-serial input periphery, ...
        assert getattr(ensemble.energy, f.name) == pytest.approx(M * getattr(member.energy, f.name), rel=1e-12), f.name
    assert ensemble.energy.total == pytest.approx(M * member.energy.total, rel=1e-12)
    assert (ensemble.tiles, ensemble.cells) == (M * member.tiles, M * member.cells)
    assert ensemble.area.cells == pytest.approx(M * member.area.cells, rel=1e-12)
    assert ensemble.area.sense_amps == pytest.approx(M * member.area.sense_amps, rel=1e-12)
    assert ensemble.area.total_mm2 == pytest.approx(M * member.area.total_mm2, rel=1e-12)
    assert ensemble.latency == pytest.approx(M * member.latency, rel=1e-12)
    # no dropout modules, one pass per copy whatever T is
    assert ensemble.modules == ensemble.draws == 0 and ensemble.passes == member.passes == 1
    frame = ensemble.to_frame()
    assert frame.iloc[-1]["E_total_J"] == pytest.approx(frame.iloc[:-1]["E_total_J"].sum(), rel=1e-12)


def test_prediction_is_the_mean_of_the_members_predictive():
    torch.manual_seed(0)
    members = [torch.nn.Linear(6, 4) for _ in range(3)]
    x = torch.randn(5, 6)
    expected = torch.stack([m(x).softmax(-1) for m in members]).mean(0)
    assert torch.allclose(EnsembleNetwork(members)(x).softmax(-1), expected, atol=1e-6)


def test_replicates_share_no_member_and_members_differ():
    method = spindrop.get_method("ensemble", members=5)
    seen: set[int] = set()
    for seed in range(4):
        members = method.members(seed)
        seeds = {m.seed for m in members}
        assert len(seeds) == 5 and not seeds & seen, (seed, seeds)
        assert {m.method for m in members} == {"deterministic"}
        seen |= seeds
    with pytest.raises(ValueError, match="members >= 2"):
        spindrop.get_method("ensemble", members=1)


def test_workbench_combines_the_trained_deterministic_networks(data_root, tmp_path):
    bench = Workbench(get_profile("smoke"), tmp_path, data_root)
    plan = bench.profile.plan("mnist")
    target = Target("mnist", plan.model, plan.width, "ensemble", (("members", 2),), 1)
    network = bench.trained(target).model
    assert isinstance(network, EnsembleNetwork) and len(network.members) == 2
    for k, member in enumerate(network.members):  # replicate 1 of M = 2: seeds 2 and 3
        alone = bench.trained(Target("mnist", plan.model, plan.width, "deterministic", (), 2 + k)).model
        assert member is alone
    images, labels = bench.test_set("mnist")
    out = bench.predict(target, images[:64], "test")
    x = bench.datamodule("mnist").normalize(images[:64])
    with torch.no_grad():
        expected = torch.stack([m.eval()(x).softmax(-1) for m in network.members]).mean(0)
    assert not out.stochastic and torch.allclose(out.mean, expected, atol=1e-5)

"""The model zoo: compact storage, records, and the round trip export → load → evaluate (issue 24)."""
from __future__ import annotations

import hashlib
import json

import pytest
import torch

import hardware  # noqa: F401  (registers the MTJ cost model the records price with)
import spindrop
from spindrop import zoo
from spindrop.mc import mc_predict
from spindrop.training import TrainSpec, train
from spindrop.zoo.pack import binary_weight_names, pack_state, unpack_state

REQUIRED = ("name", "dataset", "model", "width", "method", "method_params", "profile", "seed", "evaluation",
            "number_forward_passes", "metrics", "weights", "code_fingerprint", "git_commit")


def test_binary_weights_are_bits_and_the_rest_is_kept_exactly():
    torch.manual_seed(0)
    net = spindrop.get_method("spatial").attach(spindrop.build_model("lenet5", (1, 28, 28), 10, 2.0))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    data = pack_state(net)
    state, original = unpack_state(data), net.state_dict()
    binary = binary_weight_names(net)
    assert set(state) == set(original) and binary
    for name, tensor in original.items():
        if name in binary:
            assert torch.equal(state[name], spindrop.sign(tensor)), name
        else:
            assert torch.equal(state[name], tensor), name
    bits = sum(original[n].numel() for n in binary)
    fp32 = sum(t.numel() * t.element_size() for t in original.values())
    assert len(data) < fp32 / 8, "bit-packing should shrink the state well below its fp32 size"
    assert len(data) > bits / 8, "one bit per binary weight at least"


@pytest.fixture(scope="module")
def smoke_trained(tmp_path_factory, data_root):
    spec = TrainSpec("mnist", "lenet5", 0.5, "spatial", {"p": 0.2}, epochs=1, batch_size=64, train_subset=512,
                     val_size=500)
    return train(spec, tmp_path_factory.mktemp("run"), data_root)


def test_an_exported_entry_loads_and_reproduces_its_record_exactly(smoke_trained, tmp_path, data_root):
    arch = zoo.Architecture("mnist", "lenet5", 0.5, "spatial", {"p": 0.2})
    rec = zoo.export(smoke_trained.model, arch, seed=0, profile="smoke", root=tmp_path, data_root=data_root,
                     code="c0de", commit="abc")
    assert zoo.names(tmp_path) == [rec["name"]] == ["mnist-lenet5x0.5-spatial-smoke-s0"]
    assert all(field in rec for field in REQUIRED)
    assert rec["number_forward_passes"] == rec["evaluation"]["T"] == 4
    assert {"test/acc", "ood/fashion_mnist/entropy/AUROC", "hw/energy/total_nJ"} <= set(rec["metrics"])
    net = zoo.load(rec["name"], tmp_path)
    assert spindrop.dropout_sites(net) and not net.training
    frame = zoo.evaluate_entry(net, zoo.record(rec["name"], tmp_path), data_root)
    for metric, stored in rec["metrics"].items():
        row = frame[frame.metric == metric].iloc[0]
        assert row.value == stored["value"], metric  # same seed, same masks: exactly
        if stored["ci_low"] is not None:
            assert (row.ci_low, row.ci_high) == (stored["ci_low"], stored["ci_high"]), metric
    # the stored network is the trained one: same ±1 weights, same outputs under the same masks
    x = torch.randn(8, 1, 28, 28)
    assert torch.equal(mc_predict(net, x, 3, seed=5).probs, mc_predict(smoke_trained.model, x, 3, seed=5).probs)


def test_an_entry_whose_weights_changed_is_refused(smoke_trained, tmp_path, data_root):
    arch = zoo.Architecture("mnist", "lenet5", 0.5, "spatial", {"p": 0.2})
    rec = zoo.export(smoke_trained.model, arch, seed=0, profile="smoke", root=tmp_path, data_root=data_root)
    weights = tmp_path / rec["weights"]["file"]
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(zoo.ZooError, match="sha256"):
        zoo.load(rec["name"], tmp_path)
    with pytest.raises(zoo.ZooError, match="no zoo entry 'nope'"):
        zoo.load("nope", tmp_path)


@pytest.mark.parametrize("name", zoo.names())
def test_a_shipped_entry_matches_its_record_and_predicts(name):
    rec = zoo.record(name)
    assert all(field in rec for field in REQUIRED)
    data = zoo.weights_path(rec).read_bytes()
    assert hashlib.sha256(data).hexdigest() == rec["weights"]["sha256"] and len(data) == rec["weights"]["bytes"]
    net = zoo.load(name)
    info = spindrop.data.dataset_info(rec["dataset"])
    out = mc_predict(net, torch.zeros(2, *info.shape), 2, seed=0)
    assert out.probs.shape == (2, 2, info.num_classes)
    json.dumps(rec)  # a plain JSON record


def test_a_shipped_entry_reproduces_its_record(data_root):
    """The cheapest shipped entry (fewest forward passes) evaluated again gives its record's numbers:
    exactly while the code behind them is the exporting code (same fingerprint); after a change
    elsewhere in the code, its accuracy and near-OOD AUROC inside the record's 95 % intervals (a
    mismatch beyond them: the entry no longer matches the code, re-export it with
    ``python -m suites.zoo export RUN_DIR``). The always-on exact round trip is
    test_an_exported_entry_loads_and_reproduces_its_record_exactly."""
    from suites.zoo import code_fingerprint
    if not zoo.names():
        pytest.skip("no zoo entries shipped")
    name = min(zoo.names(), key=lambda n: (zoo.record(n)["number_forward_passes"], n))
    rec = zoo.record(name)
    frame = zoo.evaluate_entry(zoo.load(name), rec, data_root).set_index("metric")
    if rec["code_fingerprint"] == code_fingerprint(rec["method"]):
        for metric, stored in rec["metrics"].items():
            value = frame.loc[metric, "value"]
            assert (value == stored["value"]) or (stored["value"] is None and value != value), metric
    for metric in ("test/acc", "ood/near/entropy/AUROC"):
        stored = rec["metrics"][metric]
        assert stored["ci_low"] <= frame.loc[metric, "value"] <= stored["ci_high"], (name, metric)

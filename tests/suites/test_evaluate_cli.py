"""``python -m suites.evaluate``: a network trained by a plain PyTorch loop, outside the suite, goes into
a run's result store and report beside the built-in methods (issue 24), with the numbers
``spindrop.evaluate`` gives it (one implementation); and a zoo entry the same way."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import spindrop
from spindrop import zoo
from spindrop.data import channel_stats, load_split
from spindrop.training import TrainSpec, build_network
from suites.evaluate import EXIT_OK, EXIT_USAGE
from suites.evaluate import main as evaluate_main
from suites.run import main as run_main
from suites.zoo import main as zoo_main

SMOKE = ["--profile", "smoke"]
SUITES = ["--suite", "accuracy", "ood", "energy"]


def plain_loop_network(data_root) -> torch.nn.Module:
    """LeNet-5 ×0.5 with MC-SpatialDropout sites, trained by a plain Adam loop (no Lightning, no runner)."""
    torch.manual_seed(1)
    net = build_network(TrainSpec("mnist", "lenet5", 0.5, "spatial", {"p": 0.2}), (1, 28, 28), 10)
    split = load_split("mnist", "train", data_root)
    mean, std = channel_stats("mnist", data_root)
    x, y = (split.images[:2000].float() / 255 - mean[0]) / std[0], split.labels[:2000]
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    net.train()
    for i in range(0, 2000, 100):
        opt.zero_grad()
        F.cross_entropy(net(x[i:i + 100]), y[i:i + 100]).backward()
        opt.step()
        spindrop.clip_latent_weights(net)
    return net.eval()


@pytest.fixture(scope="module")
def run_with_user_network(tmp_path_factory, data_root):
    """A smoke run of two built-in methods, then the user's network evaluated into the same store."""
    out = tmp_path_factory.mktemp("runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPINDROP_DATA_ROOT", str(data_root))
    mp.setenv("COLUMNS", "200")
    try:
        assert run_main([*SMOKE, *SUITES, "--datasets", "mnist", "--methods", "spatial", "deterministic",
                         "--no-report", "--out", str(out)]) == EXIT_OK
        net = plain_loop_network(data_root)
        checkpoint = out.parent / "my_bnn.pt"
        torch.save(net.state_dict(), checkpoint)
        code = evaluate_main(["--checkpoint", str(checkpoint), "--model", "lenet5", "--dataset", "mnist",
                              "--method", "spatial", "--width", "0.5", *SMOKE, *SUITES, "--out", str(out)])
        assert code == EXIT_OK
    finally:
        mp.undo()
    return out, net


def test_the_user_network_is_reported_beside_the_built_in_methods(run_with_user_network):
    out, _ = run_with_user_network
    frame = pd.read_csv(out / "report" / "results.csv")
    assert {"my_bnn", "spatial", "deterministic"} <= set(frame.method)
    report = (out / "report" / "REPORT.md").read_text()
    classification = report[report.index("Classification"):]
    table = classification[:classification.index("\n\n", classification.index("|"))]
    assert "my_bnn" in table and "spatial" in table and "deterministic" in table


def test_its_cells_hold_what_spindrop_evaluate_gives(run_with_user_network, data_root):
    out, net = run_with_user_network
    frame = pd.read_csv(out / "report" / "results.csv")
    mine = frame[frame.method == "my_bnn"].set_index("metric")
    expected = spindrop.evaluate(net, "mnist", method="spatial", profile="smoke", seed=0,
                                 data_root=data_root).set_index("metric")
    for metric in ("test/acc", "test/nll", "ood/fashion_mnist/entropy/AUROC", "ood/uniform_noise/entropy/FPR95",
                   "ood/fashion_mnist/entropy/detected"):
        assert mine.loc[metric, "value"] == pytest.approx(expected.loc[metric, "value"], rel=1e-12), metric
        assert mine.loc[metric, "ci_low"] == pytest.approx(expected.loc[metric, "ci_low"], rel=1e-6), metric
    assert mine.loc["hw/energy/total_pJ", "value"] == pytest.approx(
        expected.loc["hw/energy/total_nJ", "value"] * 1e3, rel=1e-12)


def test_bad_input_is_one_line_and_exit_2(run_with_user_network, tmp_path, capsys, in_process):
    out, net = run_with_user_network
    checkpoint = tmp_path / "net.pt"
    torch.save(net.state_dict(), checkpoint)
    cases = {
        "does not fit lenet5 x1": ["--checkpoint", str(checkpoint), "--model", "lenet5", "--dataset", "mnist",
                                   "--method", "spatial", "--width", "1"],
        "registered method": ["--checkpoint", str(checkpoint), "--model", "lenet5", "--dataset", "mnist",
                              "--method", "spatial", "--width", "0.5", "--name", "spatial"],
        "unknown model 'lenet6'": ["--checkpoint", str(checkpoint), "--model", "lenet6", "--dataset", "mnist"],
        "no such file": ["--checkpoint", str(tmp_path / "none.pt"), "--model", "lenet5", "--dataset", "mnist"],
        "no zoo entry 'nope'": ["--zoo", "nope"],
    }
    for expected, argv in cases.items():
        assert evaluate_main([*argv, *SMOKE, "--out", str(tmp_path / "o")]) == EXIT_USAGE, expected
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err, err


def test_a_zoo_entry_is_evaluated_without_training(run_with_user_network, tmp_path, monkeypatch, in_process):
    """Export the smoke run's networks to a zoo, then evaluate one entry into a fresh store: its cells
    hold the record's numbers."""
    run, _ = run_with_user_network
    monkeypatch.setenv("SPINDROP_ZOO", str(tmp_path / "zoo"))
    assert zoo_main(["export", str(run), "--methods", "spatial"]) == EXIT_OK
    (name,) = zoo.names()
    rec = zoo.record(name)
    out = tmp_path / "store"
    assert evaluate_main(["--zoo", name, "--suite", "accuracy", "--no-report", "--out", str(out)]) == EXIT_OK
    cells = pd.read_csv(out / "results" / "results.csv").set_index("metric")
    assert cells.loc["test/acc", "method"] == name
    assert cells.loc["test/acc", "value"] == pytest.approx(rec["metrics"]["test/acc"]["value"], rel=1e-12)

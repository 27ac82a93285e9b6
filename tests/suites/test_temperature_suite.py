"""The temperature suite on smoke networks: its fit reads the validation split only (asserted on
the data loader's calls), and the scaled predictive keeps the accuracy suite's accuracy."""
from __future__ import annotations

import sys

import pytest

import spindrop.data.loader as loader
from spindrop.store import Target
from spindrop.training import get_profile
from suites import get_suite

from .test_suite_contract import UntrainedWorkbench


@pytest.fixture
def bench(data_root, tmp_path):
    return UntrainedWorkbench(get_profile("smoke"), tmp_path, data_root)


def _target(bench, method: str) -> Target:
    plan = bench.profile.plan("mnist")
    return Target("mnist", plan.model, plan.width, method, (("p", 0.2),) if method != "deterministic" else (), 0)


def test_fitting_reads_only_the_validation_split(bench, monkeypatch):
    """Every module's binding of ``load_split`` records its calls (so no refactor hides a read)."""
    reads = []
    original = loader.load_split

    def recorded(name, split, root=None):
        reads.append((name, split))
        return original(name, split, root)

    for module in list(sys.modules.values()):
        if getattr(module, "load_split", None) is original:
            monkeypatch.setattr(module, "load_split", recorded)
    tau = get_suite("temperature").fit(bench, _target(bench, "mc_dropout"))
    assert tau > 0
    assert reads == [("mnist", "train")], reads
    assert not bench._test and not bench._test_preds, "fitting must not load or predict the test set"


@pytest.mark.parametrize("method", ["deterministic", "mc_dropout"])
def test_scaled_predictive_keeps_the_accuracy(bench, method):
    target = _target(bench, method)
    scaled = get_suite("temperature").run(bench, target)
    plain = get_suite("accuracy").run(bench, target)
    assert scaled.metrics["ts/test/acc"] == plain.metrics["test/acc"]
    out, labels = bench.validation_predictions(target)
    assert len(labels) == bench.profile.val_size


def test_the_table_leaves_mce_to_results_csv(bench):
    """Issue 21: MCE over a nearly empty bin is noise, so no report table shows it (the metric stays
    in the cell and results.csv); the table names its rows as the method's networks + τ."""
    suite = get_suite("temperature")
    names = ["ts/test/acc", "ts/test/nll", "ts/test/brier", "ts/test/cal/ECE", "ts/test/cal/MCE", "ts/temperature"]
    [table] = suite.report_tables(names, bench)
    shown = {m for column in table.columns for m in column.metrics}
    assert "ts/test/cal/MCE" not in shown
    assert {"ts/test/acc", "ts/test/nll", "ts/test/brier", "ts/test/cal/ECE", "ts/temperature"} <= shown
    assert "+ts" in table.title

"""The OOD suite (issue 21): "% OOD detected" takes its entropy threshold from the validation split
(held-out ID images, not the test images), AUPR-In and AUPR-Out are both reported, and every
suite's declared headline names metrics the suite produces."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spindrop.data.shift import ood_sets
from spindrop.metrics import detection_threshold
from spindrop.store import Target
from spindrop.training import Trained, get_profile
from suites import get_suite, list_suites
from suites.workbench import Workbench


class UntrainedWorkbench(Workbench):
    """Networks built but never trained (the threshold's origin does not depend on the weights)."""

    def trained(self, target: Target) -> Trained:
        if target not in self._trained:
            torch.manual_seed(0)
            self._trained[target] = Trained(self.spec(target), self.untrained_network(target).eval(),
                                            Path("untrained"), False, 0.0)
        return self._trained[target]


@pytest.fixture(scope="module")
def bench(data_root, tmp_path_factory) -> Workbench:
    return UntrainedWorkbench(get_profile("smoke"), tmp_path_factory.mktemp("ood"), data_root)


@pytest.fixture(scope="module")
def target(bench) -> Target:
    plan = bench.profile.plan("mnist")
    return Target("mnist", plan.model, plan.width, "mc_dropout", (("p", 0.2),), 0)


def test_detection_threshold_comes_from_the_validation_split(bench, target):
    result = get_suite("ood").run(bench, target)
    validation, _ = bench.validation_predictions(target)
    test, _ = bench.test_predictions(target)
    threshold = detection_threshold(validation.entropy)
    assert result.extras["detect_threshold"] == threshold
    assert threshold != detection_threshold(test.entropy)
    sets = ood_sets("mnist", bench.data_root, n=bench.profile.evaluation("mnist").ood_subset, seed=0)
    for name, images in sets.items():
        entropy = bench.predict(target, images, f"ood/{name}").entropy
        assert result.metrics[f"ood/{name}/entropy/detected"] == pytest.approx(
            (entropy.double() > threshold).double().mean().item(), abs=1e-12)
        assert {f"ood/{name}/entropy/AUPR_In", f"ood/{name}/entropy/AUPR_Out"} <= set(result.metrics)
        reps = result.replicates
        assert reps is not None and reps.values[f"ood/{name}/entropy/AUPR_In"].shape == (1000,)


SAMPLE = ["test/acc", "test/cal/ECE", "ood/fashion_mnist/entropy/AUROC"]
"""Metric names under which each built-in suite that has a key quantity declares it."""
DECLARING = [name for name in list_suites() if get_suite(name).headline(SAMPLE)]


def test_the_papers_quantities_are_declared():
    assert {"accuracy", "calibration", "ood"} <= set(DECLARING)


@pytest.mark.parametrize("suite_name", DECLARING)
def test_declared_headline_names_metrics_the_suite_produces(suite_name, bench, target):
    suite = get_suite(suite_name)
    result = suite.run(bench, target)
    for column in suite.headline(list(result.metrics)):
        assert column.better is not None and set(column.metrics) <= set(result.metrics), (suite_name, column)

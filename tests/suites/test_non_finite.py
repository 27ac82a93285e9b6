"""Non-finite numbers are failures, never "not applicable" (issue 27, observation 2): a method whose
sites give NaN only in eval mode (it trains fine) fails every measured cell with an error saying why;
a metric that is NaN or inf fails its cell with an error naming it. "—" (None) stays "does not exist"."""
from __future__ import annotations

import importlib
import math
import sys

import pytest

from spindrop import registry
from spindrop.store import ResultStore
from suites.cells import non_finite
from suites.run import EXIT_FAILED, main

from .runner_helpers import SMOKE, summary

PLUGIN = "spindrop_nan_in_eval_plugin"
METHOD = "nan_in_eval"
SOURCE = f'''
import torch
from spindrop import DropoutSite, Method, register_method


class NaNInEvalSite(DropoutSite):
    """The layer's plain MAC while training; NaN in eval mode (MC sampling or not)."""

    def sample(self, layer, x):
        y = layer.mac(x)
        return y if self.training else torch.full_like(y, float("nan"))

    def expected(self, layer, x):
        return torch.full_like(layer.mac(x), float("nan"))


@register_method
class NaNInEval(Method):
    name = "{METHOD}"
    summary = "test only: trains like the deterministic network, predicts NaN"

    def make_site(self, layer):
        return NaNInEvalSite(self.config)
'''


@pytest.fixture
def nan_plugin(tmp_path, monkeypatch):
    """The NaN-in-eval plugin importable as :data:`PLUGIN`; the registry restored afterwards."""
    registry.discover()  # the built-in methods registered first: their modules do not register twice
    saved, discovered = dict(registry._REGISTRY), registry._discovered
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / f"{PLUGIN}.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    yield PLUGIN
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    registry._discovered = discovered
    sys.modules.pop(PLUGIN, None)
    importlib.invalidate_caches()


def test_nan_predictions_fail_every_measured_cell(nan_plugin, tmp_path, in_process, capsys):
    suites = ["accuracy", "calibration", "ood", "shift"]
    out = tmp_path / "out"
    rc = main(["--suite", *suites, *SMOKE, "--methods", METHOD, "--plugin", nan_plugin, "--no-report",
               "--out", str(out)])
    stdout = capsys.readouterr().out
    assert rc == EXIT_FAILED, stdout
    assert summary(stdout) == (0, 0, len(suites))
    stored = ResultStore(out).cells()
    assert sorted(c.key.suite for c in stored) == sorted(suites)
    for cell in stored:
        assert cell.status == "failed" and not cell.metrics, cell
        assert cell.error.startswith("NonFiniteError: MC predictions contain NaN or inf on "), cell.error
        assert "every metric of this cell" in cell.error


def test_a_non_finite_metric_is_an_error_naming_it():
    error = non_finite({"test/acc": 0.9, "test/NLL": math.nan, "test/cal/ECE": math.inf,
                        "ood/mutual_info/AUROC": None})
    assert error is not None and error.startswith("NonFiniteMetrics: test/NLL=nan, test/cal/ECE=inf not finite")
    assert "test/acc" not in error and "mutual_info" not in error


def test_finite_and_not_applicable_metrics_are_no_error():
    assert non_finite({"test/acc": 0.9, "hw/modules": 12, "ood/mutual_info/AUROC": None}) is None

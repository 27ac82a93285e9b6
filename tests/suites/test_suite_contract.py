"""Every registered suite keeps the contract the runner and the report rely on (issue 9): run on a
smoke target through a workbench that skips training (an untrained network stands in), its metrics
are numbers (floats, or ints for counts) or None, its keys namespaced (``a/b``), its kind measured or
modelled, its provenance components known, and each report column it declares shows metrics it
produces (a suite may leave some metrics to results.csv only, e.g. AUPR of the secondary OOD scores)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from spindrop.store import MEASURED, MODELLED, REASONS, Target
from spindrop.training import Trained, get_profile
from suites import get_suite, list_suites
from suites.workbench import Workbench

METHODS = ("deterministic", "spatial")


class UntrainedWorkbench(Workbench):
    """A workbench whose networks are built but never trained (the contract is about shapes and
    keys, not about values)."""

    def trained(self, target: Target) -> Trained:
        if target not in self._trained:
            spec = self.spec(target)
            self._trained[target] = Trained(spec, self.untrained_network(target).eval(), Path("untrained"), False, 0.0)
        return self._trained[target]


@pytest.fixture(scope="module")
def bench(data_root, tmp_path_factory) -> Workbench:
    return UntrainedWorkbench(get_profile("smoke"), tmp_path_factory.mktemp("contract"), data_root)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("suite_name", list_suites())
def test_suite_contract(suite_name, method, bench):
    suite = get_suite(suite_name)
    assert suite.kind in (MEASURED, MODELLED)
    assert set(suite.provenance) <= set(REASONS), "every provenance component needs a stale reason"
    plan = bench.profile.plan("mnist")
    params = (("p", 0.2),) if method != "deterministic" else ()
    target = Target("mnist", plan.model, plan.width, method, params, 0)
    result = suite.run(bench, target)
    assert result.metrics, f"{suite_name} reported no metric"
    for key, value in result.metrics.items():
        assert "/" in key and not key.startswith("/") and not key.endswith("/"), f"key {key!r} is not namespaced"
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        assert value is None or (number and not math.isnan(value)), (key, value)
    report = suite.report(list(result.metrics), bench)
    assert report["group"]
    for table in report["tables"]:
        assert table["columns"], f"{suite_name}: table {table['title']!r} declares no column"
        for column in table["columns"]:
            assert set(column["metrics"]) & set(result.metrics), (suite_name, column)

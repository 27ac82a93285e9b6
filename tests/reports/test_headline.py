"""A declared headline (issue 21): the report's opening section compares the key quantities the
suites declare (Suite.headline, stored with their cells), so a plugin suite's headline appears with
no edit in reports/, and reports/findings.py and reports/markdown.py name no built-in suite. The OOD
suite's headline is the near-OOD mean; its tables show the near and far means apart."""
from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from reports.findings import comparisons, findings_lines
from reports.results import Results
from spindrop.report_spec import HIGHER, ReportColumn
from spindrop.store import MEASURED, Cell, CellKey, ResultStore
from suites import get_suite, list_suites
from suites.base import Suite

REPORTS = Path(__file__).resolve().parents[2] / "reports"


class WidgetSuite(Suite):
    """A plugin suite (not registered) that declares one key quantity."""

    name: ClassVar[str] = "widgets"
    group: ClassVar[str] = "Widgets"
    kind: ClassVar[str] = MEASURED

    def headline(self, metric_names: list[str]) -> list[ReportColumn]:
        return [ReportColumn("Widget score", ("widget/score",), HIGHER, "number")]


def test_findings_and_markdown_name_no_built_in_suite():
    for module in ("findings.py", "markdown.py"):
        source = (REPORTS / module).read_text()
        for name in list_suites():
            assert not re.search(rf"[\"']{re.escape(name)}[\"']", source), (module, name)


def test_a_plugin_suites_declared_headline_is_compared(tmp_path):
    store, suite, rng = ResultStore(tmp_path), WidgetSuite(), np.random.default_rng(0)
    for seed in range(3):
        for method, value in (("mc_dropout", 1.0), ("spindrop", 2.0), ("spatial", 1.5)):
            key = CellKey(dataset="mnist", model="lenet5", width=1.0, method=method, params=(), seed=seed,
                          suite="widgets", profile="quick", mc_samples=10)
            metrics = {"widget/score": value + rng.normal(0, 0.01)}
            store.put(Cell(key, "ok", metrics, {"widget/score": MEASURED},
                           report=suite.report(list(metrics), None)))  # type: ignore[arg-type]
    res = Results.load(tmp_path)
    found = comparisons(res)
    assert {(c.quantity.suite, c.quantity.column.label) for c in found} == {("widgets", "Widget score")}
    assert {(c.paired.a, c.paired.b) for c in found} == {("spindrop", "mc_dropout"), ("spatial", "mc_dropout"),
                                                        ("spatial", "spindrop")}
    assert all(c.significant and c.family == 3 for c in found)
    section = "\n".join(findings_lines(res, found))
    assert re.search(r"\*\*spindrop vs mc_dropout\*\*: Widget score Δ = \+(0\.9|1\.0)\d\d \[", section)
    assert "3 of 3 differences are significant." in section


def test_ood_headline_is_the_near_mean_and_tables_group_near_and_far():
    names = [f"ood/{s}/entropy/{m}" for s in ("fashion_mnist", "animal_mnist", "gaussian_noise", "uniform_noise")
             for m in ("AUROC", "AUPR_In", "AUPR_Out", "FPR95", "detected")]
    names.append("ood/near/entropy/AUROC")  # a group mean as spindrop.evaluate writes it: no set of its own
    ood = get_suite("ood")
    (headline,) = ood.headline(names)
    assert headline.metrics == ("ood/fashion_mnist/entropy/AUROC", "ood/animal_mnist/entropy/AUROC")
    auroc = next(t for t in ood.report_tables(names, None) if t.title.startswith("OOD: AUROC"))  # type: ignore[arg-type]
    columns = {c.label: c.metrics for c in auroc.columns}
    assert list(columns) == ["fashion_mnist", "animal_mnist", "gaussian_noise", "uniform_noise", "near mean",
                             "far mean"]
    assert columns["near mean"] == headline.metrics
    assert columns["far mean"] == ("ood/gaussian_noise/entropy/AUROC", "ood/uniform_noise/entropy/AUROC")
    titles = [t.title for t in ood.report_tables(names, None)]  # type: ignore[arg-type]
    assert any("AUPR-In" in t for t in titles) and any("AUPR-Out" in t for t in titles)
    assert any("threshold from the validation split" in t for t in titles)

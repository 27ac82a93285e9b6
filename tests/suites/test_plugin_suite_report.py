"""A suite defined outside the project (here, in this test module) reaches the Markdown report with
the group, tables and columns it declares, with no edit in ``reports/`` (issue 9, item 2)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from spindrop.report_spec import HIGHER, ReportColumn, ReportTable
from spindrop.store import MODELLED
from suites.base import MODELLED_PROVENANCE, SUITES, Suite, SuiteResult, Target, register_suite
from suites.run import EXIT_OK, main

from .runner_helpers import SMOKE, cells

METHODS = ("deterministic", "spindrop")


class DemoSuite(Suite):
    """Two numbers per target that a test can recompute: x = len(method), y = 10 · x."""

    name = "demo"
    group = "Demo"
    kind = MODELLED
    needs_training = False
    provenance = MODELLED_PROVENANCE

    def run(self, bench, target: Target) -> SuiteResult:
        x = float(len(target.method))
        return SuiteResult({"demo/x": x, "demo/y": 10 * x})

    def report_tables(self, metric_names, bench) -> list[ReportTable]:
        return [ReportTable("Demo table", (ReportColumn("Demo X", ("demo/x",), HIGHER, "count"),
                                           ReportColumn("Demo mean", ("demo/x", "demo/y"), None, "number")))]


@pytest.fixture
def demo_suite() -> Iterator[None]:
    """DemoSuite registered for one test."""
    assert DemoSuite.name not in SUITES
    register_suite(DemoSuite)
    yield
    del SUITES[DemoSuite.name]


def _section(markdown: str, heading: str) -> str:
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    assert found, f"no section '## {heading}' in the report"
    return found.group(1)


def test_plugin_suite_appears_in_the_report_with_its_declared_columns(tmp_path, in_process, demo_suite, capsys):
    rc = main(["--suite", "demo", *SMOKE, "--methods", *METHODS, "--out", str(tmp_path)])
    assert rc == EXIT_OK, capsys.readouterr().out
    stored = cells(tmp_path)
    assert {c["key"]["method"] for c in stored} == set(METHODS)
    assert all(c["report"]["group"] == "Demo" for c in stored)

    section = _section((tmp_path / "report" / "REPORT.md").read_text(), "Demo (modelled)")
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert lines[0] == "| Method | Demo X ↑ | Demo mean | Seeds |"
    rows = {cols[0]: cols[1:3] for cols in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}
    assert set(rows) == set(METHODS)
    for method in METHODS:
        x = len(method)
        best = x == max(len(m) for m in METHODS)  # modelled: the larger X is bold
        assert rows[method] == [f"**{x}**" if best else f"{x}", f"{(x + 10 * x) / 2:,.3f}"]
    assert "Demo table" in section

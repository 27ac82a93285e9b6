"""A method added with ``--plugin`` is measured by every suite and shows in every table of the report."""
from __future__ import annotations

import importlib
import re
import sys

import pytest

from spindrop import registry
from suites.run import EXIT_OK, main

from .runner_helpers import ALL_SUITES, PLUGIN_METHOD, PLUGIN_PACKAGE, PLUGIN_ROOT, REPORT_GROUPS, SMOKE, cells, summary


@pytest.fixture
def plugin_on_path(monkeypatch):
    """The example plugin package importable (not yet imported); registry and modules restored after."""
    saved, discovered = dict(registry._REGISTRY), registry._discovered
    assert PLUGIN_METHOD not in saved, "the example plugin is already registered; the test would prove nothing"
    monkeypatch.syspath_prepend(str(PLUGIN_ROOT))
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    registry._discovered = discovered
    for name in [m for m in sys.modules if m == PLUGIN_PACKAGE or m.startswith(PLUGIN_PACKAGE + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def report_tables(markdown: str) -> dict[str, list[list[str]]]:
    """Group ("## Group (kind)" sections) → its Markdown tables, each as the list of row labels."""
    groups: dict[str, list[list[str]]] = {}
    for section in re.split(r"^## ", markdown, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        tables, rows, in_table = [], [], False
        for line in body.splitlines() + [""]:
            if line.startswith("|"):
                if in_table:
                    rows.append(line)
                else:
                    rows, in_table = [line], True
            elif in_table:
                # rows[0] is the header, rows[1] the alignment line
                assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", rows[1]), rows[:2]
                tables.append([r.split("|")[1].strip().strip("*`").strip() for r in rows[2:]])
                in_table = False
        groups[title.split(" (")[0].strip()] = tables
    return groups


def test_plugin_method_appears_in_every_table_of_the_report(tmp_path, in_process, plugin_on_path, capsys):
    methods = ["deterministic", PLUGIN_METHOD]
    rc = main(["--all", *SMOKE, "--methods", *methods, "--plugin", f"{PLUGIN_PACKAGE}.my_method",
               "--out", str(tmp_path)])
    stdout = capsys.readouterr().out
    assert rc == EXIT_OK, stdout
    assert summary(stdout) == (len(ALL_SUITES) * len(methods), 0, 0)

    got = cells(tmp_path)
    assert sorted((c["key"]["suite"], c["key"]["method"]) for c in got) == sorted(
        (s, m) for s in ALL_SUITES for m in methods)
    assert all(c["status"] == "ok" for c in got)

    report = tmp_path / "report" / "REPORT.md"
    groups = report_tables(report.read_text())
    for group in REPORT_GROUPS:
        assert groups.get(group), f"no table in group {group}; groups: {sorted(groups)}"
        for i, labels in enumerate(groups[group]):
            for method in methods:
                assert any(label == method or label.startswith(f"{method} ") for label in labels), \
                    f"{method} missing from table {i + 1} of {group}: rows {labels}"
    # the plugin's own hardware description reached the cost model: one module per crossbar column
    modules = {c["key"]["method"]: c for c in got if c["key"]["suite"] == "modules"}
    plugin_layers = modules[PLUGIN_METHOD]["extras"]["layers"]
    assert modules[PLUGIN_METHOD]["metrics"]["hw/modules"] > 0
    assert modules["deterministic"]["metrics"]["hw/modules"] == 0
    assert sum(layer["modules"] for layer in plugin_layers) > 0

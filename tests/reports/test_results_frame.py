"""``reports.load``: the README's example runs as written, on a fake store; typed columns;
not-applicable metrics are NaN; failed cells and the store's extra columns pass through."""
from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path

import pandas as pd
import pytest

import reports
from spindrop.store import MEASURED, Cell, CellKey, ResultStore

from .report_fake_store import build_fake_store

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_example() -> str:
    section = README.read_text().split("## Results in pandas", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_readme_example_runs_and_is_right(tmp_path, monkeypatch):
    code = _readme_example()
    assert len(code.strip().splitlines()) == 3 and 'reports.load("runs")' in code
    store = build_fake_store(tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)
    acc = namespace["acc"]
    for dataset, method in [("mnist", "spatial"), ("cifar10", "my_method"), ("cifar10", "scale")]:
        values = [c.metrics["test/acc"] for c in store.cells() if c.status == "ok" and
                  (c.key.suite, c.key.dataset, c.key.method) == ("accuracy", dataset, method)]
        assert acc[(dataset, method)] == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert len(acc) == 12  # 2 datasets × 6 methods


def test_typed_columns_and_every_row(fake_out):
    frame = reports.load(fake_out)
    assert list(frame.columns[:5]) == ["metric", "value", "kind", "method", "params"]
    assert frame["value"].dtype == "float64" and frame["seed"].dtype == "int64"
    assert frame["mc_samples"].dtype == "int64" and frame["width"].dtype == "float64"
    for column in ("metric", "kind", "method", "params", "dataset", "model", "suite", "status"):
        assert isinstance(frame[column].dtype, pd.StringDtype), column
    assert len(frame) == len(ResultStore(fake_out).frame())
    assert set(frame["kind"].dropna()) == {"measured", "modelled"}
    failed = frame[frame["status"] == "failed"]
    assert len(failed) == 1 and failed["value"].isna().all() and failed["error"].str.contains("fake").all()


def test_not_applicable_is_nan_and_extra_columns_pass_through(tmp_path):
    key = CellKey(suite="ood", dataset="mnist", model="lenet5", width=1.0, method="deterministic", params=(),
                  seed=0, profile="smoke", mc_samples=4)
    metrics = {"ood/x/entropy/AUROC": 0.8, "ood/x/mutual_info/AUROC": None}
    ResultStore(tmp_path).put(Cell(key, "ok", metrics, {k: MEASURED for k in metrics}))
    frame = reports.load(tmp_path).set_index("metric")
    assert frame.loc["ood/x/entropy/AUROC", "value"] == 0.8
    assert pd.isna(frame.loc["ood/x/mutual_info/AUROC", "value"])
    store_columns = set(ResultStore(tmp_path).frame().columns)
    assert store_columns <= set(frame.reset_index().columns)


def test_no_store_is_a_report_error(tmp_path):
    with pytest.raises(reports.ReportError, match="no result store"):
        reports.load(tmp_path / "nowhere")


REPO = Path(__file__).resolve().parents[2]


def test_load_reads_a_rendered_report_folder_as_its_store(fake_out, rendered, tmp_path):
    """A report folder holds no store: ``load`` reads its results.csv, else its results.json in the
    per-cell layout or in the earlier long layout, all to the same frame as the store's."""
    from reports.frame import results_json
    report_dir = rendered[0].parent
    expected = reports.load(fake_out)
    pd.testing.assert_frame_equal(reports.load(report_dir), expected)
    only_json = tmp_path / "json_only"
    only_json.mkdir()
    (only_json / "results.json").write_text((report_dir / "results.json").read_text())
    pd.testing.assert_frame_equal(reports.load(only_json), expected)
    frame = ResultStore(fake_out).frame()
    old = tmp_path / "old_layout"
    old.mkdir()
    (old / "results.json").write_text(json.dumps({"metadata": {}, "rows": json.loads(frame.to_json(orient="records"))}))
    pd.testing.assert_frame_equal(reports.load(old), expected)
    # the new layout holds each cell once, with its provenance once and its metrics nested
    data = json.loads((report_dir / "results.json").read_text())
    cells = ResultStore(fake_out).cells()
    assert data["layout"] == "cells" and len(data["cells"]) == len(cells) and "rows" not in data
    by_code = {(c["suite"], c["dataset"], c["method"], c["seed"]): c for c in data["cells"]}
    for cell in cells:
        entry = by_code[(cell.key.suite, cell.key.dataset, cell.key.method, cell.key.seed)]
        assert entry["status"] == cell.status and entry["code"] == cell.provenance.get("code")
        assert {m: v["value"] for m, v in entry["metrics"].items()} == cell.metrics
    assert results_json(frame, {})["cells"] == data["cells"]
    assert (report_dir / "results.json").stat().st_size < 0.5 * (old / "results.json").stat().st_size


@pytest.mark.parametrize("name", ["standard", "quick"])
def test_the_committed_reference_reports_load(name):
    """``reports.load("reports/standard")`` (results.csv only) and ``reports/quick`` load; quick's
    results.json, in whatever layout it was committed, gives the same frame as its CSV."""
    folder = REPO / "reports" / name
    frame = reports.load(folder)
    rows = pd.read_csv(folder / "results.csv")
    assert len(frame) == len(rows) > 0 and set(frame["profile"]) == {name}
    assert frame["value"].dtype == "float64" and isinstance(frame["method"].dtype, pd.StringDtype)
    assert frame["value"].sum() == pytest.approx(rows["value"].sum(), rel=1e-12)
    if (folder / "results.json").exists():
        from reports.frame import frame_from_json
        from_json = frame_from_json(json.loads((folder / "results.json").read_text()))
        assert len(from_json) == len(rows)
        assert from_json["value"].sum() == pytest.approx(rows["value"].sum(), rel=1e-12)


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(reports.ReportError, match="no result store or report"):
        reports.load(tmp_path)


def test_the_report_names_its_renderer_and_its_store_relative_to_itself(fake_out, rendered, tmp_path, capsys):
    from reports.render import main as render_main
    text = rendered[0].read_text()
    assert "Rendered by `reports.render_report` from the result store `../results` (relative to this file)" in text
    elsewhere = tmp_path / "a" / "report"
    assert render_main([str(fake_out), "--report-dir", str(elsewhere), "--quiet"]) == 0
    text = (elsewhere / "REPORT.md").read_text()
    relative = Path(os.path.relpath(fake_out / "results", elsewhere)).as_posix()
    assert f"Rendered by `python -m reports.render` from the result store `{relative}`" in text
    assert str(fake_out) not in text.split("\n## ", 1)[0]

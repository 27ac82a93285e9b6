"""``reports.load``: the README's example runs as written, on a fake store; typed columns;
not-applicable metrics are NaN; failed cells and the store's extra columns pass through."""
from __future__ import annotations

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

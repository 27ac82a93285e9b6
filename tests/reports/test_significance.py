"""The bold rule: a measured best is bold only when its paired interval against the runner-up
excludes 0; replicates side files that are missing or corrupt degrade to "no paired interval";
cells written before intervals existed still load."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reports.findings import comparisons
from reports.results import Results
from reports.tables import build_tables, to_markdown
from spindrop.stats import Replicates
from spindrop.store import MEASURED, Cell, CellKey, ResultStore

B = 1000


def _reps(values: dict[str, np.ndarray]) -> Replicates:
    reps = Replicates(sets={m: ("test",) for m in values}, fingerprints={"test": "shared"}, sizes={"test": 1000})
    reps.values = {m: v.astype(np.float32) for m, v in values.items()}
    return reps


def _store(out, acc: dict[str, float], spread: float, seeds=(0,)) -> ResultStore:
    """Accuracy cells of three methods; each seed's replicates = value + a shared image-level
    fluctuation (the same images for every method) + the method's own noise of std ``spread``."""
    store = ResultStore(out)
    rng = np.random.default_rng(0)
    for seed in seeds:
        shared = rng.normal(0, 0.01, B)
        for method, value in acc.items():
            key = CellKey(dataset="mnist", model="lenet5", width=1.0, method=method, params=(), seed=seed,
                          suite="accuracy", profile="quick", mc_samples=10)
            reps = _reps({"test/acc": value + shared + rng.normal(0, spread, B)})
            lo, hi, n = reps.interval("test/acc")
            store.put(Cell(key, "ok", {"test/acc": value}, {"test/acc": MEASURED},
                           intervals={"test/acc": {"ci_low": lo, "ci_high": hi, "n": n}}), reps)
    return store


def _acc_table(out, reference="mc_dropout"):
    res = Results.load(out, reference)
    return res, next(t for t in build_tables(res) if t.suite == "accuracy")


def test_bold_withheld_when_the_paired_interval_contains_zero(tmp_path):
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.952, "spindrop": 0.951}, spread=0.01)
    res, table = _acc_table(tmp_path)
    paired = res.paired("accuracy", "mnist", "lenet5", ("test/acc",), "spatial", "spindrop")
    assert paired.delta.low < 0 < paired.delta.high
    assert not any(e.best for row in table.rows for e in row.entries)
    assert "no significant difference" in to_markdown(table)
    assert "spatial vs spindrop" in table.notes[0]


def test_bold_given_when_the_paired_interval_excludes_zero(tmp_path):
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.980, "spindrop": 0.951}, spread=0.001)
    res, table = _acc_table(tmp_path)
    assert res.paired("accuracy", "mnist", "lenet5", ("test/acc",), "spatial", "spindrop").significant
    assert [row.label for row in table.rows if row.entries[0].best] == ["spatial"]
    assert table.notes == ()


def test_missing_or_corrupt_side_files_mean_no_paired_interval(tmp_path):
    store = _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.980, "spindrop": 0.951}, spread=0.001)
    files = sorted((store.root / "cells" / "accuracy").glob("*.npz"))
    files[0].unlink()
    files[1].write_bytes(b"truncated")
    res, table = _acc_table(tmp_path)
    assert not any(e.best for row in table.rows for e in row.entries)
    assert "no paired interval" in table.notes[0]
    comparisons(res)  # degrades, never raises


def test_value_interval_from_the_cell_with_one_seed_and_t_over_seeds(tmp_path):
    _store(tmp_path, {"mc_dropout": 0.95, "spatial": 0.96}, spread=0.001, seeds=(0, 1, 2))
    res, _ = _acc_table(tmp_path)
    stat = res.stats("accuracy", "mnist", "lenet5", ["test/acc"])["spatial"]
    assert stat.n == 3 and stat.std == 0.0 and stat.low == pytest.approx(0.96) == stat.high  # t: no spread


def test_opening_section_names_each_pair(tmp_path):
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.952, "spindrop": 0.951}, spread=0.01)
    res = Results.load(tmp_path)
    found = comparisons(res)
    assert {(c.paired.a, c.paired.b) for c in found} == {("spatial", "mc_dropout"), ("spindrop", "mc_dropout"),
                                                        ("spatial", "spindrop")}
    assert all("not significant" in c.text for c in found)


def test_a_cell_without_interval_fields_loads(tmp_path):
    store = _store(tmp_path, {"mc_dropout": 0.95}, spread=0.01)
    (path,) = (store.root / "cells" / "accuracy").glob("*.json")
    old = json.loads(path.read_text())
    del old["intervals"], old["replicates"]
    path.write_text(json.dumps(old))
    (cell,) = store.cells()
    assert cell.intervals == {} and cell.replicates is None and store.replicates(cell) is None
    assert np.isnan(store.frame()["ci_low"]).all()


def _seed_cells(out, metric: str, values: list[float]) -> Results:
    store = ResultStore(out)
    for seed, value in enumerate(values):
        key = CellKey(dataset="mnist", model="lenet5", width=1.0, method="spatial", params=(), seed=seed,
                      suite="accuracy", profile="quick", mc_samples=10)
        store.put(Cell(key, "ok", {metric: value}, {metric: MEASURED}))
    return Results.load(out, "mc_dropout")


@pytest.mark.parametrize(("metric", "values", "floor", "ceiling"), [
    ("test/acc", [0.20, 0.99, 0.999], 0.0, 1.0),     # a rate: [0, 1]
    ("test/nll", [0.01, 0.02, 2.0], 0.0, None),       # NLL: ≥ 0, no upper bound
])
def test_a_t_interval_over_few_seeds_is_truncated_to_the_metric_range(tmp_path, metric, values, floor, ceiling):
    stat = _seed_cells(tmp_path, metric, values).stats("accuracy", "mnist", "lenet5", [metric])["spatial"]
    mean, std = np.mean(values), np.std(values, ddof=1)
    half = 4.302652729911275 * std / np.sqrt(3)  # t_{0.975, 2}
    assert mean - half < floor and stat.low == floor  # the raw interval passes 0
    if ceiling is None:
        assert stat.high == pytest.approx(mean + half)
    else:
        assert mean + half > ceiling and stat.high == ceiling

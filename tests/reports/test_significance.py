"""Verdicts in the report (issue 21): a measured best is bold only when the paired t-test over seeds
against the runner-up survives Holm's correction over its table's family, never below 3 seeds;
the opening section's verdicts and comparisons.csv recompute from results.csv alone; replicates
side files that are missing or corrupt degrade; a t-interval wider than the metric's range is
shown as computed and marked, never clipped."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from rich.console import Console
from scipy import stats as scipy_stats

from reports.findings import comparisons, findings_lines
from reports.render import render_report
from reports.results import Results
from reports.tables import WIDE_MARK, WIDE_NOTE, build_tables, to_markdown
from spindrop.metrics import calibration_bins
from spindrop.stats import Replicates
from spindrop.store import MEASURED, Cell, CellKey, ResultStore
from suites import get_suite

B = 1000
RELIABILITY = calibration_bins(torch.softmax(torch.randn(50, 10, generator=torch.Generator().manual_seed(0)), 1),
                               torch.arange(50) % 10).to_dict()
"""What a calibration cell stores for its reliability diagram (the plots read it)."""


def _reps(values: dict[str, np.ndarray]) -> Replicates:
    reps = Replicates(sets={m: ("test",) for m in values}, fingerprints={"test": "shared"}, sizes={"test": 1000})
    reps.values = {m: v.astype(np.float32) for m, v in values.items()}
    return reps


def _store(out, acc: dict[str, float], spread: float, seeds=(0,), seed_sd: float = 0.0,
           suites=("accuracy",)) -> ResultStore:
    """Cells of each method: per seed a value = the method's value + N(0, seed_sd²) (training noise)
    and replicates = that value + a shared image-level fluctuation (the same images for every
    method) + the method's own noise of std ``spread``. The calibration cells (if asked) get an
    ECE of 1 − value / 10. Each cell stores its suite's report layout and headline, as the runner does."""
    store = ResultStore(out)
    rng = np.random.default_rng(0)
    for seed in seeds:
        shared = rng.normal(0, 0.01, B)
        for method, value in acc.items():
            v = value + rng.normal(0, seed_sd)
            for suite in suites:
                metrics = {"test/acc": v} if suite == "accuracy" else {"test/cal/ECE": (1 - v) / 10}
                (name, x), = metrics.items()
                key = CellKey(dataset="mnist", model="lenet5", width=1.0, method=method, params=(), seed=seed,
                              suite=suite, profile="quick", mc_samples=10)
                reps = _reps({name: x + shared + rng.normal(0, spread, B)})
                lo, hi, n = reps.interval(name)
                extras = {} if suite == "accuracy" else {"reliability": RELIABILITY}
                store.put(Cell(key, "ok", metrics, {name: MEASURED}, extras,
                               intervals={name: {"ci_low": lo, "ci_high": hi, "n": n}},
                               report=get_suite(suite).report(list(metrics), None)), reps)  # type: ignore[arg-type]
    return store


def _acc_table(out, reference="mc_dropout"):
    res = Results.load(out, reference)
    return res, next(t for t in build_tables(res) if t.suite == "accuracy")


def test_bold_withheld_when_the_paired_test_does_not_reject(tmp_path):
    """3 seeds whose training noise (sd 2 pp) swamps a 0.1 pp difference."""
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.952, "spindrop": 0.951}, spread=0.001, seeds=(0, 1, 2),
           seed_sd=0.02)
    res, table = _acc_table(tmp_path)
    assert not any(e.best for row in table.rows for e in row.entries)
    text = to_markdown(table)
    assert "no significant difference" in text and "Holm p = " in text and "paired t-test over seeds" in text


def test_bold_given_when_the_paired_test_rejects_after_holm(tmp_path):
    """5 seeds, spatial 3 pp above every other method, training noise 0.1 pp: bold, and the note
    declares the table's family."""
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.980, "spindrop": 0.951}, spread=0.001,
           seeds=(0, 1, 2, 3, 4), seed_sd=0.001)
    res, table = _acc_table(tmp_path)
    paired = res.paired("accuracy", "mnist", "lenet5", ("test/acc",), "spatial", "spindrop")
    assert paired.seeds == 5 and paired.test == "paired t" and paired.p < 1e-4
    assert [row.label for row in table.rows if row.entries[0].best] == ["spatial"]
    assert len(table.notes) == 1 and "Holm-adjusted over the 1 column of" in table.notes[0]


def test_no_bold_and_no_verdict_below_three_seeds(tmp_path):
    """Two seeds with a difference every seed agrees on, far beyond the image noise: still no verdict."""
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.990}, spread=0.0001, seeds=(0, 1), seed_sd=0.0005)
    res, table = _acc_table(tmp_path)
    assert not any(e.best for row in table.rows for e in row.entries)
    assert "no verdict below 3 seeds" in table.notes[0] and "one network, not a method" in table.notes[0]
    found = comparisons(res)
    assert found and not any(c.significant for c in found)
    lines = "\n".join(findings_lines(res, found))
    assert "**No verdict**" in lines and "one network, not a method" in lines
    assert "significant" not in lines.split("### ", 1)[1]


def test_one_seed_states_no_verdict_and_describes_one_network(tmp_path):
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.990, "spindrop": 0.951}, spread=0.0001)
    res = Results.load(tmp_path)
    found = comparisons(res)
    assert {(c.paired.a, c.paired.b) for c in found} == {("spatial", "mc_dropout"), ("spindrop", "mc_dropout"),
                                                        ("spatial", "spindrop")}
    assert all(c.paired.seeds == 1 and c.paired.p is None and not c.significant for c in found)
    assert all("significant" not in c.text for c in found)
    section = "\n".join(findings_lines(res, found))
    assert "**No verdict**: 1 seed; one seed describes one network, not a method" in section
    _, table = _acc_table(tmp_path)
    assert not any(e.best for row in table.rows for e in row.entries)


def test_missing_or_corrupt_side_files(tmp_path):
    """One seed: the image-bootstrap difference needs the side files; without them it is absent
    (never an error). Three seeds: the test needs only the per-seed values."""
    store = _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.980, "spindrop": 0.951}, spread=0.001)
    files = sorted((store.root / "cells" / "accuracy").glob("*.npz"))
    files[0].unlink()
    files[1].write_bytes(b"truncated")
    res = Results.load(tmp_path)
    assert len(comparisons(res)) < 3  # degrades, never raises
    out = tmp_path / "three"
    store = _store(out, {"mc_dropout": 0.950, "spatial": 0.980}, spread=0.001, seeds=(0, 1, 2), seed_sd=0.001)
    for f in (store.root / "cells" / "accuracy").glob("*.npz"):
        f.unlink()
    (found,) = comparisons(Results.load(out))
    assert found.paired.seeds == 3 and found.paired.p is not None


def test_value_interval_from_the_cell_with_one_seed_and_t_over_seeds(tmp_path):
    _store(tmp_path, {"mc_dropout": 0.95, "spatial": 0.96}, spread=0.001, seeds=(0, 1, 2))
    res, _ = _acc_table(tmp_path)
    stat = res.stats("accuracy", "mnist", "lenet5", ["test/acc"])["spatial"]
    assert stat.n == 3 and stat.std == 0.0 and stat.low == pytest.approx(0.96) == stat.high  # t: no spread


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
def test_a_t_interval_wider_than_the_metric_range_is_marked_not_clipped(tmp_path, metric, values, floor, ceiling):
    res = _seed_cells(tmp_path, metric, values)
    stat = res.stats("accuracy", "mnist", "lenet5", [metric])["spatial"]
    mean, std = np.mean(values), np.std(values, ddof=1)
    half = 4.302652729911275 * std / np.sqrt(3)  # t_{0.975, 2}
    assert mean - half < floor and (stat.low, stat.high) == pytest.approx((mean - half, mean + half))
    assert stat.wide
    table = next(t for t in build_tables(res) if t.suite == "accuracy")
    assert WIDE_MARK in table.rows[0].entries[0].text and WIDE_NOTE in table.notes
    assert "fewer seeds than this metric needs" in to_markdown(table)


def _holm(p: list[float]) -> list[float]:
    """Holm's adjusted p-values written out from the step-down definition (independent of spindrop.stats):
    reject H_(i) while p_(i) ≤ α/(m − i + 1); the smallest α at which H_(k) is rejected is p̃_(k)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    for k, i in enumerate(order):
        adjusted[i] = min(1.0, max((m - j) * p[order[j]] for j in range(k + 1)))
    return adjusted


def test_verdicts_recompute_from_results_csv_alone(tmp_path):
    """Render a 5-seed store; from results.csv alone (per-seed values → scipy's paired t-test → Holm
    over each dataset's family) every row of comparisons.csv is reproduced: p, Holm p, verdict."""
    _store(tmp_path, {"mc_dropout": 0.950, "spatial": 0.985, "spindrop": 0.951, "scale": 0.952}, spread=0.001,
           seeds=(0, 1, 2, 3, 4), seed_sd=0.005, suites=("accuracy", "calibration"))
    render_report(tmp_path, tmp_path / "report", Console(quiet=True))
    results = pd.read_csv(tmp_path / "report" / "results.csv")
    table = pd.read_csv(tmp_path / "report" / "comparisons.csv")
    assert set(table.columns) >= {"test", "p", "p_holm", "seeds", "significant", "family_size"}
    assert len(table) == 2 * 4 and (table["test"] == "paired t").all() and (table["seeds"] == 5).all()
    raw = []
    for row in table.itertuples():
        metrics = row.metrics.split()
        values = (results[(results["dataset"] == row.dataset) & results["metric"].isin(metrics)]
                  .groupby(["method", "seed"])["value"].mean())
        a, b = values[row.method].sort_index(), values[row.versus].sort_index()
        assert list(a.index) == list(b.index) == [0, 1, 2, 3, 4]
        raw.append(scipy_stats.ttest_rel(a.to_numpy(), b.to_numpy()).pvalue)
        assert row.delta == pytest.approx(float((a - b).mean()), abs=1e-12)
    assert table["p"].to_numpy() == pytest.approx(raw, rel=1e-9)
    assert table["p_holm"].to_numpy() == pytest.approx(_holm(raw), rel=1e-9)
    assert table["significant"].tolist() == [p < 0.05 for p in _holm(raw)]
    assert table["significant"].any() and not table["significant"].all()
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert f"Family: the {len(table)} comparisons below (Holm–Bonferroni, α = 0.05)" in report
    assert math.isclose(table["family_size"].iloc[0], len(table))

"""Plots with uncertainty: the forest plot's rows are the paired comparisons against the
reference, the accuracy-vs-energy bars are the accuracy stats' 95 % intervals, the reliability
bins' bars are Wilson intervals and the training-curve bands are t-intervals over seeds."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from reports.findings import comparisons
from reports.plots import (
    accuracy_energy_points,
    curve_band,
    error_bar,
    forest,
    forest_rows,
    render_plots,
    wilson_interval,
)
from reports.results import Results, Stat

from .report_fake_store import METHODS, TARGETS


@pytest.fixture(scope="module")
def res(fake_out) -> Results:
    return Results.load(fake_out)


@pytest.fixture(scope="module")
def found(res):
    return comparisons(res)


@pytest.mark.parametrize("dataset", list(TARGETS))
def test_forest_rows_are_the_comparisons_against_the_reference(res, found, dataset):
    model = TARGETS[dataset][0]
    rows = forest_rows(res, found, dataset, model)
    want = {(c.paired.a, c.quantity.column.label): c.paired.delta for c in found
            if (c.dataset, c.model) == (dataset, model) and c.paired.b == "mc_dropout"}
    assert want and len(rows) == len(want)
    for r in rows:
        d = want[(r.method, r.quantity)]
        assert (r.reference, r.delta, r.low, r.high) == ("mc_dropout", d.value, d.low, d.high)
        assert r.low <= r.delta <= r.high and not r.significant  # 2 seeds: no verdict
    assert {r.quantity for r in rows} == {"Accuracy %", "ECE %", "Near-OOD AUROC % (entropy)"}
    assert "mc_dropout" not in {r.method for r in rows}
    methods = [r.method for r in rows]
    assert methods == sorted(methods, key=methods.index)  # grouped by method


def test_forest_delta_is_the_seed_mean_difference(res, found):
    """Independently of findings: Δ accuracy = mean over seeds of (method − reference)."""
    row = next(r for r in forest_rows(res, found, "mnist", "lenet5")
               if (r.method, r.quantity) == ("spatial", "Accuracy %"))
    frame = res.frame[(res.frame["suite"] == "accuracy") & (res.frame["dataset"] == "mnist")
                      & (res.frame["metric"] == "test/acc") & (res.frame["status"] == "ok")]
    by = frame.pivot_table(index="seed", columns="label", values="value")
    assert math.isclose(row.delta, float((by["spatial"] - by["mc_dropout"]).mean()), rel_tol=1e-12)


def test_one_forest_plot_per_dataset_and_model_with_a_reference(res, found, tmp_path):
    plots = render_plots(res, tmp_path, found)
    forests = [p for p in plots if p.path.name.startswith("forest_")]
    assert [(p.dataset, p.model) for p in forests] == [(d, TARGETS[d][0]) for d in TARGETS]
    for p in forests:
        assert p.path.stat().st_size > 10_000


def test_no_forest_plot_without_a_reference(fake_out, tmp_path):
    res = Results.load(fake_out, reference="no_such_method")
    found = comparisons(res)  # only the spatial − spindrop pair remains
    assert found and forest(res, found, "mnist", "lenet5", tmp_path / "f.png") is None
    assert not (tmp_path / "f.png").exists()


def test_accuracy_bars_are_the_stats_intervals(res):
    for dataset, (model, *_) in TARGETS.items():
        acc = res.stats("accuracy", dataset, model, ["test/acc"])
        panels = accuracy_energy_points(res, dataset, model)
        assert [name for name, _, _ in panels] == ["total energy", "dropout-module energy"]
        total = panels[0][2]
        assert set(total) == {label for label in METHODS if acc[label].n}
        for label, (stat, energy) in total.items():
            assert stat == acc[label] and energy.low is None  # modelled energy: no interval
            below, above = error_bar(stat, 100.0)
            assert math.isclose(stat.mean * 100 - below, stat.low * 100, rel_tol=1e-12)
            assert math.isclose(stat.mean * 100 + above, stat.high * 100, rel_tol=1e-12)
            assert below > 0 and above > 0


def test_error_bar_without_an_interval_is_empty():
    assert error_bar(Stat(0.5, None, 1)) == (0.0, 0.0)
    assert error_bar(Stat(0.5, 0.1, 2, 0.4, 0.7), 10.0) == pytest.approx((1.0, 2.0))


def test_wilson_interval_matches_the_closed_form_and_the_normal_limit():
    low, high = wilson_interval(np.array([0.0, 0.5, 0.9]), np.array([10, 40, 1e6]))
    # Wilson (1927) at p̂ = 0, n = 10: [0, z²/(n + z²)]
    z2 = scipy_stats.norm.ppf(0.975) ** 2
    assert low[0] == pytest.approx(0.0, abs=1e-15) and high[0] == pytest.approx(z2 / (10 + z2))
    assert low[1] < 0.5 < high[1] and (0.5 - low[1]) == pytest.approx(high[1] - 0.5)  # symmetric at 1/2
    half = scipy_stats.norm.ppf(0.975) * math.sqrt(0.9 * 0.1 / 1e6)  # large n: the normal approximation
    assert (low[2], high[2]) == pytest.approx((0.9 - half, 0.9 + half), rel=1e-5)
    assert np.isnan(wilson_interval(np.array([np.nan]), np.array([0]))[0]).all()


def test_curve_band_is_the_t_interval_over_seeds():
    logs = [pd.DataFrame({"val/acc": v}, index=pd.Index([0, 1], name="epoch")) for v in ([0.5, 0.6], [0.7, 0.8],
                                                                                          [0.6, 0.9])]
    epochs, low, high = curve_band(logs, "val/acc")
    assert list(epochs) == [0, 1]
    for e, values in enumerate(([0.5, 0.7, 0.6], [0.6, 0.8, 0.9])):
        mean, sem = np.mean(values), scipy_stats.sem(values)
        lo, hi = scipy_stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
        assert (low[e], high[e]) == pytest.approx((lo, hi), rel=1e-12)
    assert curve_band(logs[:1], "val/acc") is None  # one seed: no band


def test_figures_drawn_by_worker_processes_equal_those_drawn_here(res, found, tmp_path):
    """The forked workers write the same figures, byte for byte, listed in the same report order."""
    here = render_plots(res, tmp_path / "here", found, jobs=1)
    workers = render_plots(res, tmp_path / "workers", found, jobs=2)
    assert [(p.dataset, p.model, p.title, p.path.name) for p in here] == \
           [(p.dataset, p.model, p.title, p.path.name) for p in workers]
    assert len(here) > 2 and all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(here, workers))
    titles = [p.title for p in here if (p.dataset, p.model) == (here[0].dataset, here[0].model)]
    assert titles[0] == "Reliability diagrams" and titles[-1].startswith("Paired differences")  # report order

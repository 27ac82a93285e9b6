"""Device-drawn masks in the runs: the robustness suite (keys, spread, not-applicable MI, report
section and plot), measured suites under a non-ideal preset (provenance ``masks``, staleness,
report header) and the energy suite's realised p (docs/hardware.md §7)."""
from __future__ import annotations

import math
import re

import pytest
import torch

from spindrop.mc import MCOutput
from spindrop.training import get_profile
from suites.robustness import AXES, METRICS, point_key, point_metrics, point_replicates, sweep_points
from suites.run import EXIT_OK, main

from .runner_helpers import SMOKE, cells, summary


def _stdout(capsys) -> str:
    return " ".join(capsys.readouterr().out.split())


def test_robustness_cells_sweep_every_axis_with_spread(tmp_path, in_process, capsys):
    argv = ["--suite", "robustness", *SMOKE, "--methods", "deterministic", "spatial", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    sweep = get_profile("smoke").evaluation("mnist").faults
    by_method = {c["key"]["method"]: c for c in cells(tmp_path)}
    points = [(a.name, 0.0) for a in AXES] + [(a.name, v) for a, v in sweep_points(sweep)]
    for method, cell in by_method.items():
        metrics = cell["metrics"]
        assert set(cell["kinds"].values()) == {"measured"}
        assert set(metrics) == {f"{point_key(a, v, m)}{s}" for a, v in points for m in METRICS for s in ("", "/std")}
        for name, value in metrics.items():
            assert re.fullmatch(r"robust/[a-z_]+/-?[0-9.e-]+/[A-Za-z_/]+", name)
            if "mutual_info" in name and method == "deterministic":
                assert value is None   # no dropout sites: MI is not applicable
            elif name.endswith("/std"):
                assert value >= 0
            else:
                assert 0 <= value <= (math.inf if "/nll" in name else 1)
        for name, value in metrics.items():  # every point mean has a bootstrap interval over images
            if value is not None and not name.endswith("/std"):
                ci = cell["intervals"][name]
                assert ci["ci_low"] <= ci["ci_high"] and ci["n"] >= 1
    det, spatial = by_method["deterministic"]["metrics"], by_method["spatial"]["metrics"]
    # no modules to fault: the deterministic network's numbers are the same at every point
    assert len({det[point_key(a, v, "acc")] for a, v in points}) == 1
    assert all(det[point_key(a, v, "acc") + "/std"] == 0 for a, v in points)
    # the stochastic network: every chip measured, the spread over chips stored per point
    chips = by_method["spatial"]["extras"]["chips"]
    assert all(len(chips[point_key(a, v, "acc")]) == sweep.draws for a, v in points)
    stuck = point_key("stuck_drop", max(sweep.stuck_drop), "acc")
    assert spatial[stuck] == sum(chips[stuck]) / sweep.draws
    assert spatial[point_key("sigma", 0.0, "acc")] == spatial[point_key("stuck_keep", 0.0, "acc")]  # one reference
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert "## Robustness to dropout-module non-idealities (measured)" in report
    assert "robustness_mnist_lenet5.png" in report and (tmp_path / "report" / "robustness_mnist_lenet5.png").exists()
    table = report[report.index("| Method | σ of Δ, I_c0 | stuck-at-drop"):].split("\n\n")[0]
    assert table.count("\n| deterministic | ≥ ") == 1  # nothing to fault: tolerates every swept rate
    sigma = report[report.index("**σ of Δ, I_c0: accuracy % / entropy OOD AUROC %"):].split("\n\n")[1]
    row = next(line for line in sigma.splitlines() if line.startswith("| spatial |"))
    assert re.fullmatch(r"\| spatial (\| [0-9.]+ \[[0-9.]+, [0-9.]+\] / [0-9.]+ \[[0-9.]+, [0-9.]+\] )+\|", row), row
    # the figure's panels in one row (one metric against each non-ideality) share their y range
    from matplotlib.figure import Figure

    from reports.plots import _style
    from reports.results import Results
    from reports.robustness import draw_robustness
    res, fig = Results.load(tmp_path), Figure()
    draw_robustness(fig, res, "mnist", "lenet5", _style(res.labels("robustness", "mnist", "lenet5")))
    rows = {}
    for ax in fig.axes:
        rows.setdefault(ax.get_subplotspec().rowspan.start, []).append(ax.get_ylim())
    assert len(rows) > 1 and all(len(set(limits)) == 1 and len(limits) == len(AXES) for limits in rows.values())


def test_a_non_ideal_preset_draws_the_measured_masks_from_the_device(tmp_path, in_process, capsys):
    argv = ["--suite", "accuracy", "energy", *SMOKE, "--methods", "spatial", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    ideal = {c["key"]["suite"]: c for c in cells(tmp_path)}
    assert ideal["accuracy"]["provenance"]["masks"] == "ideal"
    assert "trained and evaluated with ideal Bernoulli masks" in (tmp_path / "report" / "REPORT.md").read_text()
    capsys.readouterr()
    assert main([*argv, "--preset", "nvsim_sttram_variation"]) == EXIT_OK
    out = _stdout(capsys)
    assert summary(out) == (2, 0, 0) and "mask device changed: 1" in out
    varied = {c["key"]["suite"]: c for c in cells(tmp_path)}
    assert varied["accuracy"]["provenance"]["masks"]["preset"] == "nvsim_sttram_variation"
    assert varied["accuracy"]["metrics"]["test/acc"] != ideal["accuracy"]["metrics"]["test/acc"]
    # the energy suite prices the realised per-module p of the same chip, not the nominal p
    assert varied["energy"]["metrics"]["hw/energy/dropout_pJ"] != ideal["energy"]["metrics"]["hw/energy/dropout_pJ"]
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert "evaluated with MC masks drawn by the preset's device model" in report


@pytest.mark.parametrize("stochastic", [True, False])
def test_point_replicates_on_the_unresampled_images_are_the_point_metrics(stochastic):
    """A resample that takes every image once (weights 1) must reproduce :func:`point_metrics`."""
    g = torch.Generator().manual_seed(0)
    test = MCOutput(torch.softmax(3 * torch.randn(4, 300, 10, generator=g), -1), stochastic)
    ood = MCOutput(torch.softmax(torch.randn(4, 200, 10, generator=g), -1), stochastic)
    labels = torch.randint(0, 10, (300,), generator=g)
    boot = point_replicates(torch.ones(2, 300), torch.ones(2, 200), test, labels, ood)
    for name, value in point_metrics(test, labels, ood).items():
        if value is None:
            assert name not in boot
        else:
            expect = torch.full((2,), value, dtype=torch.float64)
            assert torch.allclose(boot[name].double(), expect, atol=1e-5), name

"""The leaderboard page's numbers (reports.site), recomputed here from the committed reference
reports' results.csv and comparisons.csv; the browser test is tests/reports/test_site_browser.py."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from reports.site import load_board, main, page
from spindrop.data.shift import ood_group

REPO = Path(__file__).resolve().parents[2]
STANDARD, QUICK = REPO / "reports" / "standard", REPO / "reports" / "quick"


def test_near_ood_auroc_is_the_seed_mean_of_the_near_set_mean_with_its_t_interval():
    frame = pd.read_csv(STANDARD / "results.csv")
    board = load_board(STANDARD)
    rows = {r.method: r for r in board.tables["mnist", "lenet5"]}
    auroc = frame[(frame.dataset == "mnist") & frame.metric.str.fullmatch(r"ood/[^/]+/entropy/AUROC")]
    near = auroc[[ood_group(m.split("/")[1]) == "near" for m in auroc.metric]]
    assert near.metric.nunique() >= 1
    for method, group in near.groupby("method"):
        per_seed = group.groupby("seed").value.mean()
        cell = rows[method].cells["near_auroc"]
        assert len(per_seed) == cell.n == 3
        assert cell.mean == pytest.approx(per_seed.mean(), rel=1e-12)
        half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / math.sqrt(3)
        assert cell.low == pytest.approx(max(per_seed.mean() - half, 0.0), rel=1e-9)
        assert cell.high == pytest.approx(min(per_seed.mean() + half, 1.0), rel=1e-9)


def test_marks_only_where_the_paired_comparison_with_the_reference_excludes_zero():
    comparisons = pd.read_csv(QUICK / "comparisons.csv")
    board = load_board(QUICK)
    for (dataset, model), rows in board.tables.items():
        for row in rows:
            for column, quantity in (("acc", "accuracy"), ("ece", "ECE")):
                found = comparisons[(comparisons.dataset == dataset) & (comparisons.model == model)
                                    & (comparisons.method == row.method) & (comparisons.quantity == quantity)
                                    & (comparisons.versus == "mc_dropout")]
                significant = bool(len(found)) and bool(found.significant.iloc[0])
                assert bool(row.cells[column].mark) == significant, (dataset, row.method, column)


def test_energy_is_modelled_in_nj_without_interval():
    frame = pd.read_csv(QUICK / "results.csv")
    energy = frame[(frame.metric == "hw/energy/total_pJ") & (frame.dataset == "mnist")].set_index("method").value
    for row in load_board(QUICK).tables["mnist", "lenet5"]:
        cell = row.cells["energy"]
        assert cell.mean == pytest.approx(energy[row.method] / 1000, rel=1e-12) and cell.low is None


def test_rows_link_to_the_zoo_records_of_their_own_networks(tmp_path, monkeypatch):
    """A record links from a row when its run measured the row's accuracy (the same network); a record of
    the same recipe from another run (another accuracy) does not."""
    frame = pd.read_csv(QUICK / "results.csv")
    acc = frame[(frame.metric == "test/acc") & (frame.dataset == "mnist")].set_index("method").value
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    monkeypatch.setenv("SPINDROP_ZOO", str(zoo))
    for method, value in (("spatial", acc["spatial"]), ("scale", acc["scale"] - 0.001)):
        record = {"source": {"run_metrics": {"test/acc": float(value)}}}
        (zoo / f"mnist-lenet5x2-{method}-quick-s0.json").write_text(json.dumps(record))
    board = load_board(QUICK)
    links = {r.method: r.links for r in board.tables["mnist", "lenet5"]}
    assert links["spatial"] == [("s0", str(zoo / "mnist-lenet5x2-spatial-quick-s0.json"))]
    assert links["scale"] == [] and links["mc_dropout"] == []
    html = page([board], tmp_path / "site")
    assert 'href="../zoo/mnist-lenet5x2-spatial-quick-s0.json"' in html
    assert "http://" not in html and "https://" not in html, "self-contained: nothing fetched from elsewhere"


def test_a_folder_without_results_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no results.csv" in err and "\n" not in err

"""The leaderboard page's numbers (reports.site), recomputed here from the committed reference
reports' results.csv and comparisons.csv; the browser test is tests/reports/test_site_browser.py."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from scipy import stats

from reports.site import load_board, main
from spindrop.data.shift import ood_group

REPO = Path(__file__).resolve().parents[2]
STANDARD, QUICK = REPO / "reports" / "standard", REPO / "reports" / "quick"


def test_near_ood_auroc_is_the_seed_mean_of_the_near_set_mean_with_its_t_interval():
    frame = pd.read_csv(STANDARD / "results.csv")
    board = load_board(STANDARD)
    for (dataset, model), table in board.tables.items():
        rows = {r.method: r for r in table}
        mine = frame[(frame.dataset == dataset) & (frame.model == model) & (frame.suite == "ood")]
        auroc = mine[mine.metric.str.fullmatch(r"ood/[^/]+/entropy/AUROC")]
        near = auroc[[ood_group(m.split("/")[1]) == "near" for m in auroc.metric]]
        assert near.metric.nunique() >= 2  # two real near-OOD sets per digit dataset (issue 21)
        for method, group in near.groupby("method"):
            per_seed = group.groupby("seed").value.mean()
            n = len(per_seed)
            cell = rows[method].cells["near_auroc"]
            assert n == cell.n >= 3
            assert cell.mean == pytest.approx(per_seed.mean(), rel=1e-12)
            half = stats.t.ppf(0.975, n - 1) * per_seed.std(ddof=1) / math.sqrt(n)
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


def _record(zoo: Path, name: str, **fields) -> Path:
    """A fake zoo record: what the page matches on (spindrop.zoo.entry.export writes these fields)."""
    rec = {"name": name, "dataset": "mnist", "model": "lenet5", "width": 2.0, "method": "spatial",
           "method_params": {"p": 0.2, "rescale": False, "fc_grouping": "channel", "a_new_param": 3},
           "profile": "quick", "seed": 0, "source": {"run_metrics": {"test/acc": 0.5}}} | fields
    path = zoo / f"{name}.json"
    path.write_text(json.dumps(rec))
    return path


def _links(html: str) -> list[tuple[str, str, str]]:
    """(row's method, href, text) of each link of the page."""
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", html):
        method = re.search(r'data-col="method">([^<]*)<', row)
        found += [(method.group(1) if method else "", href, text)
                  for href, text in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', row)]
    return found


def test_a_row_links_to_the_zoo_record_of_its_recipe_by_a_relative_href(tmp_path):
    """One record of the MNIST spatial row's recipe (its parameters agree where both name one): one link,
    from that row, whose href resolved from the page's folder is the record; records of another profile,
    a method the page does not show or another p (a tuned run's) give none, an unreadable one no error."""
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    target = _record(zoo, "mnist-lenet5x2-spatial-quick-s0")
    _record(zoo, "mnist-lenet5x2-spatial-standard-s0", profile="standard")
    _record(zoo, "mnist-lenet5x2-my_method-quick-s0", method="my_method")
    _record(zoo, "mnist-lenet5x2-spatial-quick-s1", seed=1, method_params={"p": 0.1})
    (zoo / "truncated.json").write_text('{"dataset": "mnist"')
    out = tmp_path / "pages" / "site"
    assert main([str(QUICK), "--out", str(out), "--zoo", str(zoo)]) == 0
    html = (out / "index.html").read_text()
    links = _links(html)
    assert [(method, text) for method, _, text in links] == [("spatial", "s0 (other run)")]
    href = links[0][1]
    assert href == "../../zoo/mnist-lenet5x2-spatial-quick-s0.json"
    resolved = (out / unquote(href)).resolve()
    assert resolved == target.resolve() and resolved.is_file()
    assert "http://" not in html and "https://" not in html, "self-contained: nothing fetched from elsewhere"


@pytest.mark.parametrize("same", [True, False])
def test_a_link_says_whether_it_is_the_network_the_row_measured(tmp_path, monkeypatch, same):
    """The zoo of $SPINDROP_ZOO by default; a record whose run measured the row's accuracy at its seed is
    the row's network, one of the same recipe with another accuracy was trained in another run."""
    frame = pd.read_csv(QUICK / "results.csv")
    acc = frame[(frame.metric == "test/acc") & (frame.dataset == "mnist") & (frame.method == "scale")
                & (frame.seed == 0)].value.iloc[0]
    monkeypatch.setenv("SPINDROP_ZOO", str(tmp_path))
    path = _record(tmp_path, "mnist-lenet5x2-scale-quick-s0", method="scale",
                   method_params={"p": 0.2, "alpha_init": 0.25}, source={"run_metrics": {
                       "test/acc": float(acc) if same else float(acc) - 0.001}})
    links = {r.method: r.links for r in load_board(QUICK).tables["mnist", "lenet5"]}
    assert [(link.path, link.seed, link.same_network) for link in links.pop("scale")] == [(path, 0, same)]
    assert not any(links.values())


def test_a_missing_zoo_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(QUICK), "--out", str(tmp_path / "site"), "--zoo", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no zoo folder" in err and "\n" not in err
    assert not (tmp_path / "site").exists(), "nothing written"


def test_a_folder_without_results_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no results.csv" in err and "\n" not in err

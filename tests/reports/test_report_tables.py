"""Tables: the flagged best is the true best of its column, mean ± std matches a hand
computation over seeds, every group shows the plugin method, renderers agree with the data."""
from __future__ import annotations

import io
import statistics

import pytest
from rich.console import Console

from reports.results import Results
from reports.tables import GROUPS, WIDE_MARK, build_tables, to_markdown, to_rich
from spindrop.report_spec import HIGHER, LOWER, direction
from spindrop.stats import percentile_interval, t_interval
from spindrop.store import ResultStore


@pytest.fixture(scope="module")
def res(fake_out) -> Results:
    return Results.load(fake_out)


@pytest.fixture(scope="module")
def tables(res):
    return build_tables(res)


@pytest.fixture(scope="module")
def cells(fake_out):
    return [c for c in ResultStore(fake_out).cells() if c.status == "ok"]


def _values(cells, suite: str, dataset: str, method: str, metric: str) -> list[float]:
    """A metric's value per seed, read straight from the stored cells."""
    return [c.metrics[metric] for c in sorted(cells, key=lambda c: c.key.seed)
            if (c.key.suite, c.key.dataset, c.key.method) == (suite, dataset, method)]


def _table(tables, title_start: str, dataset: str):
    return next(t for t in tables if t.title.startswith(title_start) and t.dataset == dataset)


@pytest.mark.parametrize("suite, title, column, metric, better", [
    ("accuracy", "Classification", "Acc %", "test/acc", HIGHER),
    ("accuracy", "Classification", "NLL", "test/nll", LOWER),
    ("calibration", "Calibration", "ECE %", "test/cal/ECE", LOWER),
    ("ood", "OOD: FPR@95%TPR", "fashion_mnist", "ood/fashion_mnist/entropy/FPR95", LOWER),
    ("ood", "OOD: AUROC % (entropy", "gaussian_noise", "ood/gaussian_noise/entropy/AUROC", HIGHER),
    ("modules", "Hardware: dropout modules", "Modules", "hw/modules", LOWER),
])
def test_best_is_the_true_best(res, tables, cells, suite, title, column, metric, better):
    table = _table(tables, title, "mnist")
    means = {row.label: statistics.fmean(_values(cells, suite, "mnist", row.label, metric)) for row in table.rows}
    ranked = sorted(means, key=means.get, reverse=better == HIGHER)
    flagged = [row.label for row in table.rows if table.entry(row.label, column).best]
    if table.kind == "modelled":
        assert flagged == [ranked[0]]
    else:  # measured, 2 seeds in the fake store: below 3 seeds no verdict, nothing bold, and it says so
        assert flagged == [] and any("no verdict below 3 seeds" in n for n in table.notes)
    assert direction(metric) == better


def test_every_flag_is_the_column_extreme(tables):
    for table in tables:
        for i, col in enumerate(table.columns):
            entries = [row.entries[i] for row in table.rows if row.entries[i].stat.n]
            means = [e.stat.mean for e in entries]
            if col.better is None or len(set(means)) < 2:
                assert not any(e.best for e in entries), (table.title, col.label)
                continue
            best = max(means) if col.better == HIGHER else min(means)
            flagged = [m == best for m in means] if table.kind == "modelled" else [e.best and m == best for e, m in
                                                                                   zip(entries, means)]
            assert [e.best for e in entries] == flagged, (table.title, col.label)


def test_all_equal_column_flags_nothing(tables):
    table = _table(tables, "Hardware: dropout modules", "cifar10")
    assert not any(table.entry(row.label, "Tiles").best for row in table.rows)


def test_mean_and_std_over_seeds(tables, cells):
    acc = _values(cells, "accuracy", "mnist", "spatial", "test/acc")
    assert len(acc) == 2
    _, _, low, high = t_interval(acc)
    mark = WIDE_MARK if low < 0.0 or high > 1.0 else ""  # shown as computed, marked when it passes [0, 1]
    expected = (f"{statistics.fmean(acc) * 100:.2f} ± {statistics.stdev(acc) * 100:.2f} "
                f"[{low * 100:.2f}, {high * 100:.2f}]{mark}")
    assert _table(tables, "Classification", "mnist").entry("spatial", "Acc %").text == expected


def test_shift_averages_severities_then_seeds(tables, cells):
    per_seed = []
    for seed in (0, 1):
        cell = next(c for c in cells if (c.key.suite, c.key.dataset, c.key.method, c.key.seed)
                    == ("shift", "cifar10", "scale", seed))
        blur = [v for k, v in cell.metrics.items() if k.startswith("shift/blur/") and k.endswith("/acc")]
        assert len(blur) == 3
        per_seed.append(sum(blur) / 3)
    _, _, low, high = t_interval(per_seed)
    mark = WIDE_MARK if low < 0.0 or high > 1.0 else ""
    expected = (f"{statistics.fmean(per_seed) * 100:.2f} ± {statistics.stdev(per_seed) * 100:.2f} "
                f"[{low * 100:.2f}, {high * 100:.2f}]{mark}")
    assert _table(tables, "Shift: accuracy", "cifar10").entry("scale", "blur").text == expected


def test_one_seed_has_no_std_and_says_so(res, tables, cells):
    table = _table(tables, "Classification", "cifar10")
    (acc,) = _values(cells, "accuracy", "cifar10", "my_method", "test/acc")
    cell = next(c for c in cells if (c.key.suite, c.key.dataset, c.key.method) == ("accuracy", "cifar10", "my_method"))
    low, high = percentile_interval(res.replicates(cell).values["test/acc"])
    assert table.entry("my_method", "Acc %").text == f"{acc * 100:.2f} [{low * 100:.2f}, {high * 100:.2f}]"
    assert next(r for r in table.rows if r.label == "my_method").seeds == "1 of 2"


def test_modelled_tables_drop_the_zero_spread_and_use_energy_units(tables, cells):
    energy = _table(tables, "Hardware: energy per image", "mnist")
    assert energy.kind == "modelled"
    assert all("±" not in e.text for row in energy.rows for e in row.entries)
    total = _values(cells, "energy", "mnist", "spindrop", "hw/energy/total_pJ")[0]
    assert energy.entry("spindrop", "total nJ").text == f"{total / 1e3:,.2f}"
    assert "total µJ" in [c.label for c in _table(tables, "Hardware: energy per image", "cifar10").columns]


def test_plugin_method_in_every_group(tables):
    for group in GROUPS:
        in_group = [t for t in tables if t.group == group]
        assert in_group, group
        assert all("my_method" in [r.label for r in t.rows] for t in in_group), group


def test_headers_say_measured_or_modelled(tables):
    for table in tables:
        expected = "modelled" if table.group == "Hardware" else "measured"
        assert table.kind == expected and expected in table.heading


def test_renderers_mark_the_same_best(tables):
    table, i, best = next((t, i, r) for t in tables for i in range(len(t.columns))
                          for r in t.rows if r.entries[i].best)
    markdown = to_markdown(table)
    assert markdown.splitlines()[0] == f"**{table.heading}**"
    assert f"**{best.entries[i].text}**" in next(line for line in markdown.splitlines()
                                                  if line.startswith(f"| {best.label} |"))
    rich_table = to_rich(table)
    styles = [str(cell.style) for cell in rich_table.columns[i + 1].cells]
    assert styles == ["bold green" if r.entries[i].best else "" for r in table.rows]
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(rich_table)
    assert table.kind in console.export_text()


def test_cells_without_a_layout_get_the_generic_table(tmp_path):
    """Cells written before suites declared their layout: one generic table in a group named after
    the suite, a column per metric with direction and format from its name."""
    from .report_fake_store import build_fake_store
    build_fake_store(tmp_path, legacy_suites=("calibration",))
    tables = build_tables(Results.load(tmp_path))
    legacy = [t for t in tables if t.suite == "calibration"]
    assert {t.dataset for t in legacy} == {"mnist", "cifar10"}
    for table in legacy:
        assert (table.group, table.title) == ("calibration", "calibration")
        assert [(c.label, c.better, c.scale) for c in table.columns] == [
            ("test/cal/ECE %", LOWER, 100.0), ("test/cal/MCE %", LOWER, 100.0)]
    assert [t.group for t in tables].index("calibration") > max(
        i for i, t in enumerate(tables) if t.group in GROUPS)  # an unknown group follows the known ones


def test_a_cell_without_a_layout_still_fills_its_rows(tables, cells):
    """The one legacy cell (shift, mnist, scale, seed 0) counts in the table its suite's other cells lay out."""
    per_seed = [statistics.fmean(_values(cells, "shift", "mnist", "scale", f"shift/blur/{s}/acc")[seed]
                                 for s in (1, 3, 5)) for seed in (0, 1)]
    entry = _table(tables, "Shift: accuracy", "mnist").entry("scale", "blur")
    assert entry.stat.n == 2 and entry.stat.mean == pytest.approx(statistics.fmean(per_seed))

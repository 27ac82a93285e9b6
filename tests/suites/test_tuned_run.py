"""The runner's tuning step (issue 22): with a profile that declares a ``tune_seed``, every method
with a grid runs at the parameters the tuning protocol selected on the validation split; its cells
name the tuning record in their provenance, its row label stays the method name, and the report
prints the validation table the values came from. ``--p`` or a ``--method-param`` of a method
sets its parameters by hand instead."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from spindrop.store import ResultStore
from spindrop.training import PROFILES
from spindrop.tuning import TuningCache, select
from suites.checks import validate
from suites.run import EXIT_OK, build_parser, main

TUNE_SEED = 7
ARGS = ["--suite", "accuracy", "--profile", "smoke", "--datasets", "mnist", "--seeds", "0"]


@pytest.fixture
def tuning_profile(monkeypatch):
    monkeypatch.setitem(PROFILES, "smoke", replace(PROFILES["smoke"], tune_seed=TUNE_SEED))


def tuned(tmp_path, *extra: str) -> list[str]:
    args = build_parser().parse_args([*ARGS, "--methods", "mc_dropout", "spatial", "deterministic", *extra,
                                      "--out", str(tmp_path / "out")])
    return validate(args).tuned_methods


def test_which_methods_are_tuned(tmp_path, in_process, tuning_profile):
    assert tuned(tmp_path) == ["mc_dropout", "spatial"]  # the deterministic network has no grid
    assert tuned(tmp_path, "--method-param", "spatial.p=0.1") == ["mc_dropout"]
    assert tuned(tmp_path, "--p", "0.3") == []
    assert tuned(tmp_path, "--suite", "modules") == []  # no suite trains: nothing to select on


def test_untuned_profile_tunes_nothing(tmp_path, in_process):
    assert PROFILES["smoke"].tune_seed is None
    assert tuned(tmp_path) == []


def test_a_tuned_run_selects_on_validation_records_and_reports(tmp_path, in_process, tuning_profile, capsys):
    out = tmp_path / "out"
    rc = main([*ARGS, "--methods", "mc_dropout", "deterministic", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == EXIT_OK, printed
    assert "tuning mc_dropout on mnist/lenet5" in printed
    (record_file,) = (out / "tuning").glob("*.json")
    record = TuningCache(out).get(record_file.stem)
    assert record is not None and record.subject["seed"] == TUNE_SEED
    assert record.selected == select(record.trials).params
    cells = {c.key.method: c for c in ResultStore(out).cells()}
    assert set(cells) == {"mc_dropout", "deterministic"}
    assert cells["mc_dropout"].key.params == record.selected  # p only: nothing else to canonicalise
    assert cells["mc_dropout"].provenance["tuning"] == record_file.stem
    assert "tuning" not in cells["deterministic"].provenance
    runs = json.loads((out / "results" / "metadata.json").read_text())["runs"]
    assert runs[-1]["tuning"] == [{"dataset": "mnist", "model": "lenet5", "method": "mc_dropout",
                                   "record": record_file.stem}]
    frame = ResultStore(out).frame()
    assert set(frame[frame.method == "mc_dropout"].tuning) == {record_file.stem}
    assert frame[frame.method == "deterministic"].tuning.isna().all()
    from reports.site import load_board
    (rows,) = load_board(out).tables.values()
    assert sorted(r.method for r in rows) == ["deterministic", "mc_dropout"]  # the page labels as the report
    report = (out / "report" / "REPORT.md").read_text()
    selected = dict(record.selected)["p"]
    assert f"### MNIST / lenet5: mc_dropout → p = {selected}" in report
    assert report.count("| selected |") == 1
    grid = record.grid["p"]
    assert ("Selected at the edge of the grid" in report) == (selected in (min(grid), max(grid)))
    assert "the tuned methods ran at their selected values instead" in report
    assert "| mc_dropout |" in report and "| mc_dropout (p=" not in report

    rc = main([*ARGS, "--methods", "mc_dropout", "deterministic", "--out", str(out), "--no-report"])
    assert rc == EXIT_OK
    assert "0 cells computed, 2 already finished" in capsys.readouterr().out  # the selection is cached

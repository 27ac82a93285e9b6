"""The CLI and the store edge cases: missing or empty store (exit 2), a minimal store, mixed
profiles, one method under several parameter sets."""
from __future__ import annotations

import json

import pytest

from reports.render import main
from reports.results import Results
from spindrop.store import MODELLED, Cell, CellKey, ResultStore
from suites import get_suite


def _cell(method: str, params=(("p", 0.2),), profile: str = "quick", T: int = 20) -> Cell:
    key = CellKey(suite="modules", dataset="mnist", model="lenet5", width=1.0, method=method, params=params,
                  seed=0, profile=profile, mc_samples=T)
    return Cell(key, "ok", {"hw/modules": 6.0}, {"hw/modules": MODELLED}, {"layers": []},
                report=get_suite("modules").report(["hw/modules"], bench=None))


def test_missing_store_exits_2_with_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no result store") and err.count("\n") == 1


def test_empty_store_exits_2(tmp_path, capsys):
    (tmp_path / "results" / "cells").mkdir(parents=True)
    assert main([str(tmp_path)]) == 2
    assert "has no cells" in capsys.readouterr().err


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--report-dir DIR" in out and "--quiet" in out and "results/" in out


def test_minimal_store_renders_quietly(tmp_path, capsys):
    ResultStore(tmp_path / "run").put(_cell("spatial"))
    report_dir = tmp_path / "elsewhere"
    assert main([str(tmp_path / "run"), "--report-dir", str(report_dir), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(report_dir / "REPORT.md")
    text = (report_dir / "REPORT.md").read_text()
    assert "## Hardware (modelled)" in text and "No plot data" in text and "\nNone.\n" in text
    (cell,) = json.loads((report_dir / "results.json").read_text())["cells"]
    assert {m["kind"] for m in cell["metrics"].values()} == {"modelled"}


def test_report_keeps_to_one_profile(tmp_path):
    store = ResultStore(tmp_path)
    store.put(_cell("spatial", profile="smoke", T=4))
    store.put(_cell("spatial"))
    store.put(_cell("spindrop"))
    store.record_run({"profile": "quick", "mc_samples": 20})
    res = Results.load(tmp_path)
    assert (res.profile, res.mc_samples, res.left_out) == ("quick", 20, [("smoke", 4, 1)])
    assert {c.key.profile for c in res.cells} == {"quick"} and len(res.all_frame) == 3


def test_several_parameter_sets_get_their_own_rows(tmp_path):
    store = ResultStore(tmp_path)
    store.put(_cell("spatial", (("p", 0.1),)))
    store.put(_cell("spatial", (("p", 0.2),)))
    store.put(_cell("deterministic", ()))
    assert Results.load(tmp_path).labels("modules", "mnist", "lenet5") == [
        "deterministic", "spatial (p=0.1)", "spatial (p=0.2)"]

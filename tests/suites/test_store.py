"""The result store: round trip, finished only for ok cells, atomic writes, failed cells recorded
with their error and retried by the next run."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

import spindrop.data.root
from spindrop.store import Cell, CellKey, ResultStore
from suites.hardware_cost import ModulesSuite
from suites.run import EXIT_FAILED, EXIT_OK, main

from .runner_helpers import SMOKE, cell_bytes, cells, finished, summary

KEY = CellKey(suite="calibration", dataset="mnist", model="lenet5", width=0.5, method="spatial",
              params=(("p", 0.2),), seed=0, profile="smoke", mc_samples=4)


def ok_cell(key: CellKey = KEY, **changes) -> Cell:
    cell = Cell(key, "ok", {"test/cal/ECE": 0.125, "test/cal/MCE": 1 / 3},
                {"test/cal/ECE": "measured", "test/cal/MCE": "measured"},
                {"reliability": {"counts": [1, 2, 3], "edges": [0.0, 0.5, 1.0]}}, None, 1.25)
    return dataclasses.replace(cell, **changes)


def store_files(store: ResultStore) -> list[str]:
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file())


def test_put_get_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    cell = ok_cell()
    store.put(cell)
    assert store.get(KEY) == cell
    assert store.get(KEY).key.id == KEY.id
    assert store_files(store) == [f"cells/calibration/{KEY.id}.json"]
    assert store.cells() == [cell]
    assert ResultStore(tmp_path).get(KEY) == cell  # a new store object reads the same file


def test_cell_ids_separate_every_field(tmp_path):
    store = ResultStore(tmp_path)
    variants = [KEY, *(dataclasses.replace(KEY, **{f: v}) for f, v in
                       [("seed", 1), ("mc_samples", 20), ("params", (("p", 0.1),)), ("profile", "quick"),
                        ("width", 1.0), ("method", "spindrop"), ("dataset", "fashion_mnist")])]
    assert len({k.id for k in variants}) == len(variants)
    store.put(ok_cell())
    for key in variants[1:]:
        assert store.get(key) is None and not finished(store, key)


def test_done_only_for_ok_cells(tmp_path):
    store = ResultStore(tmp_path)
    assert store.get(KEY) is None and not finished(store, KEY)
    store.put(Cell(KEY, "failed", error="RuntimeError: boom", seconds=0.5))
    assert not finished(store, KEY)
    assert store.get(KEY).status == "failed" and store.get(KEY).error == "RuntimeError: boom"
    store.put(ok_cell())  # the retry replaces the failed cell
    assert finished(store, KEY)
    assert len(store.cells()) == 1


def test_writes_leave_no_temp_files(tmp_path):
    store = ResultStore(tmp_path)
    for seed in range(5):
        store.put(ok_cell(dataclasses.replace(KEY, seed=seed)))
    store.put(ok_cell())  # overwrite
    store.record_run({"profile": "smoke"})
    store.export()
    files = store_files(store)
    assert not [f for f in files if ".tmp" in f or f.split("/")[-1].startswith(".")], files
    assert len([f for f in files if f.startswith("cells/")]) == 5
    assert set(files) - {f for f in files if f.startswith("cells/")} == {"metadata.json", "results.csv"}


def test_failed_write_keeps_the_old_cell_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.put(ok_cell())
    old = (store.root / "cells" / "calibration" / f"{KEY.id}.json").read_bytes()

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spindrop.data.root.os, "replace", no_space)
    with pytest.raises(OSError):
        store.put(ok_cell(metrics={"test/cal/ECE": 0.5}))
    monkeypatch.undo()
    assert (store.root / "cells" / "calibration" / f"{KEY.id}.json").read_bytes() == old
    assert store_files(store) == [f"cells/calibration/{KEY.id}.json"]


def test_a_temp_file_left_by_a_killed_writer_is_ignored(tmp_path):
    store = ResultStore(tmp_path)
    store.put(ok_cell())
    stray = store.root / "cells" / "calibration" / f".{KEY.id}.json.tmp4242"
    stray.write_text('{"key": {"suite": "calib')  # half written, then SIGKILL
    assert store.cells() == [ok_cell()]
    assert finished(store, KEY)
    assert len(store.frame()) == 2


def test_frame_and_export_keep_failed_cells_with_their_error(tmp_path):
    store = ResultStore(tmp_path)
    store.put(ok_cell())
    store.put(Cell(dataclasses.replace(KEY, seed=1), "failed", error="TrainingDiverged: loss is nan"))
    csv = pd.read_csv(store.export())
    failed = csv[csv.status == "failed"]
    assert len(failed) == 1 and failed.error.iloc[0] == "TrainingDiverged: loss is nan"
    ok = csv[csv.status == "ok"].set_index("metric")
    assert ok.loc["test/cal/ECE", "value"] == 0.125 and ok.loc["test/cal/ECE", "kind"] == "measured"
    assert ok.loc["test/cal/ECE", "params"] == "p=0.2"


ARGS = ["--suite", "modules", *SMOKE, "--methods", "deterministic", "spatial", "--no-report"]


def test_failed_cell_is_recorded_and_retried_on_rerun(tmp_path, in_process, monkeypatch, capsys):
    """modules needs no training, so this runs in well under a second."""
    original = ModulesSuite.run

    def failing(self, bench, target):
        if target.method == "spatial":
            raise RuntimeError("injected failure in the modules suite")
        return original(self, bench, target)

    monkeypatch.setattr(ModulesSuite, "run", failing)
    assert main([*ARGS, "--out", str(tmp_path)]) == EXIT_FAILED
    stdout = " ".join(capsys.readouterr().out.split())
    assert summary(stdout) == (1, 0, 1)
    assert "failed modules: mnist/lenet5 spatial(p=0.2) seed 0: RuntimeError: injected failure" in stdout
    by_method = {c["key"]["method"]: c for c in cells(tmp_path)}
    assert by_method["deterministic"]["status"] == "ok"  # the other cell went on
    assert by_method["spatial"]["status"] == "failed"
    assert by_method["spatial"]["error"] == "RuntimeError: injected failure in the modules suite"
    assert by_method["spatial"]["metrics"] == {}
    meta = json.loads((tmp_path / "results" / "metadata.json").read_text())
    assert meta["latest"]["cells_failed"] == 1
    finished = cell_bytes(tmp_path)

    monkeypatch.setattr(ModulesSuite, "run", original)
    assert main([*ARGS, "--out", str(tmp_path)]) == EXIT_OK
    assert summary(capsys.readouterr().out) == (1, 1, 0)  # only the failed cell was computed again
    by_method = {c["key"]["method"]: c for c in cells(tmp_path)}
    assert by_method["spatial"]["status"] == "ok" and by_method["spatial"]["error"] is None
    assert by_method["spatial"]["metrics"]["hw/modules"] > 0
    after = cell_bytes(tmp_path)
    ok_path = next(p for p in finished if json.loads(finished[p])["key"]["method"] == "deterministic")
    assert after[ok_path] == finished[ok_path]
    assert len(after) == 2

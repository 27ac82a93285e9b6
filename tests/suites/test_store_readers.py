"""A reader never sees a half-written cell: while a cell file is being written (the writer paused
half-way through its temporary file), readers of the store see the previous complete cell, or no
cell where there was none, and nothing unreadable (spindrop.store, spindrop.data.root.atomic_write)."""
from __future__ import annotations

import json
import logging
import threading

import pytest

import reports
from spindrop import store as store_module
from spindrop.store import MODELLED, Cell, CellKey, ResultStore


def _cell(method: str, value: float) -> Cell:
    key = CellKey(suite="energy", dataset="mnist", model="lenet5", width=1.0, method=method, params=(), seed=0,
                  profile="smoke", mc_samples=4)
    metrics = {"hw/energy/total_pJ": value, **{f"hw/energy/part{i}_pJ": value / (i + 2) for i in range(200)}}
    return Cell(key, "ok", metrics, {m: MODELLED for m in metrics})


class PausedWrites:
    """Cell writes through the store's real atomic writer that stop half-way through their
    temporary file (after a flush) until :attr:`resume` is set; off until :attr:`on`."""

    def __init__(self, real) -> None:
        self.real, self.on = real, False
        self.half_written, self.resume = threading.Event(), threading.Event()

    def __call__(self, path, write) -> None:
        if not self.on:
            return self.real(path, write)
        chunks: list[bytes] = []

        class Buffer:
            def write(self, data: bytes) -> int:
                chunks.append(data)
                return len(data)
        write(Buffer())
        data = b"".join(chunks)

        def halves(fh) -> None:
            fh.write(data[: len(data) // 2])
            fh.flush()
            self.half_written.set()
            assert self.resume.wait(30)
            fh.write(data[len(data) // 2:])
        self.real(path, halves)


@pytest.fixture
def paused(monkeypatch) -> PausedWrites:
    writes = PausedWrites(store_module.atomic_write)
    monkeypatch.setattr(store_module, "atomic_write", writes)
    return writes


def test_readers_see_only_complete_cells_while_one_is_written(tmp_path, paused, caplog):
    store = ResultStore(tmp_path)
    old, new, other = _cell("spatial", 1.0), _cell("spatial", 2.0), _cell("spindrop", 3.0)
    store.put(old)  # the finished store
    paused.on = True
    for cell, before in ((new, old), (other, None)):  # rewrite a cell, then write a new one
        paused.half_written.clear()
        paused.resume.clear()
        writer = threading.Thread(target=store.put, args=(cell,))
        writer.start()
        assert paused.half_written.wait(30)
        try:
            temp = [p for p in (tmp_path / "results" / "cells" / "energy").iterdir() if p.name.endswith(".tmp")]
            assert len(temp) == 1 and temp[0].stat().st_size > 0
            with pytest.raises(ValueError):
                json.loads(temp[0].read_text())  # the half-written file is there, and is no cell
            with caplog.at_level(logging.WARNING, logger="spindrop.cache"):
                reader = ResultStore(tmp_path)
                assert reader.get(cell.key) == before
                assert {c.key.method: c.metrics["hw/energy/total_pJ"] for c in reader.cells()} == \
                    {"spatial": 2.0 if cell is other else 1.0}
                frame = reports.load(tmp_path)
                assert len(frame) == len(old.metrics)
            assert not caplog.records  # nothing unreadable was met
        finally:
            paused.resume.set()
            writer.join(30)
        assert ResultStore(tmp_path).get(cell.key) == cell
    assert {c.key.method for c in ResultStore(tmp_path).cells()} == {"spatial", "spindrop"}

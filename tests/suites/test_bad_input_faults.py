"""Environment faults (issue 27, observation 4): a disk that fills while writing a cell, a checkpoint
or the report, and Ctrl+C while the report renders, each end in one line on stderr naming the cause,
exit 1 or 130, no traceback, and the store's finished cells unchanged."""
from __future__ import annotations

import errno
import re
import shutil
import signal
from pathlib import Path

import pytest

import reports.render
import spindrop.store
from reports.plots import PlotJob
from spindrop.data import root
from spindrop.store import ResultStore
from suites.run import EXIT_FAILED, EXIT_INTERRUPTED, main

from .runner_helpers import SMOKE, assert_one_line, tree

ARGV = ["--suite", "accuracy", *SMOKE, "--methods", "spatial", "--seeds", "0", "1"]
"""Seed 0 is finished in the store (:func:`finished_store`), seed 1 is computed."""
FULL = ["no space left on device while writing", "free space and rerun", "finished cells are kept"]


def fill_disk(monkeypatch, when) -> None:
    """Every atomic write of a path for which ``when(path)`` holds fails with ENOSPC half way."""
    real = root.atomic_write

    def atomic_write(path: Path, write) -> None:
        def failing(fh) -> None:
            if when(path):
                fh.write(b"half")
                raise OSError(errno.ENOSPC, "No space left on device")
            write(fh)
        real(path, failing)

    monkeypatch.setattr(spindrop.store, "atomic_write", atomic_write)


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory, data_root) -> Path:
    """An output folder where a real run finished seed 0 (so its cell is fresh, not recomputed)."""
    out = tmp_path_factory.mktemp("finished") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPINDROP_DATA_ROOT", str(data_root))
        assert main([*ARGV[:-2], "0", "--no-report", "--out", str(out)]) == 0
    return out


@pytest.fixture
def finished_store(finished_once, tmp_path, in_process) -> Path:
    """A copy of :func:`finished_once` for one test."""
    shutil.copytree(finished_once, tmp_path / "out")
    return tmp_path / "out"


def unchanged(out: Path, before: dict) -> None:
    """The files ``before`` held are byte for byte and mtime for mtime still there (the finished
    cell, its replicates, its checkpoint); no temp file left."""
    after = tree(out)
    assert {p: after.get(p) for p in before if p.startswith(("results/cells/", "checkpoints/"))} == \
        {p: v for p, v in before.items() if p.startswith(("results/cells/", "checkpoints/"))}
    assert not [p for p in after if p.endswith(".tmp")], sorted(after)
    (cell,) = [c for c in ResultStore(out).cells() if c.key.seed == 0]
    assert cell.status == "ok"


def test_disk_full_while_writing_a_cell(finished_store, in_process, monkeypatch, capsys):
    before = tree(finished_store)
    fill_disk(monkeypatch, lambda path: path.parent.parent.name == "cells")
    rc = main([*ARGV, "--out", str(finished_store)])
    line = assert_one_line(rc, EXIT_FAILED, capsys.readouterr(), [*FULL, "results/cells/accuracy/"])
    assert re.search(r"/results/cells/accuracy/\w+\.(json|npz): free space and rerun; finished cells are kept$", line)
    unchanged(finished_store, before)
    assert len(ResultStore(finished_store).cells()) == 1  # no cell recorded as failed for a full disk


def test_disk_full_while_writing_a_checkpoint(finished_store, in_process, monkeypatch, capsys):
    before = tree(finished_store)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("spindrop.training.fit.torch.save", full)
    rc = main([*ARGV, "--out", str(finished_store)])
    line = assert_one_line(rc, EXIT_FAILED, capsys.readouterr(), [*FULL, "checkpoints/"])
    assert ".pt: free space" in line
    unchanged(finished_store, before)
    assert len(ResultStore(finished_store).cells()) == 1
    assert not list((finished_store / "checkpoints").glob(".*.tmp"))


def test_disk_full_while_writing_the_report(finished_store, in_process, monkeypatch, capsys):
    before = tree(finished_store)
    fill_disk(monkeypatch, lambda path: path.name == "REPORT.md")
    rc = main([*ARGV, "--out", str(finished_store)])
    assert_one_line(rc, EXIT_FAILED, capsys.readouterr(), [*FULL, "report/REPORT.md"])
    unchanged(finished_store, before)
    assert len(ResultStore(finished_store).cells()) == 2  # the computed cell is kept


def test_ctrl_c_while_rendering_the_report(finished_store, in_process, monkeypatch, capsys):
    before = tree(finished_store)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reports.render, "render_plots", interrupted)
    rc = main([*ARGV, "--out", str(finished_store)])
    assert_one_line(rc, EXIT_INTERRUPTED, capsys.readouterr(), ["finished cells are kept", "reports.render"],
                    prefix="interrupted while rendering the report")
    unchanged(finished_store, before)
    assert len(ResultStore(finished_store).cells()) == 2


@pytest.fixture
def rendered_store(finished_store, in_process, capsys) -> Path:
    assert main([*ARGV, "--no-report", "--out", str(finished_store)]) == 0
    capsys.readouterr()
    return finished_store


def test_render_cli_ctrl_c_and_full_disk(rendered_store, monkeypatch, capsys):
    before = tree(rendered_store)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reports.render, "render_plots", interrupted)
    rc = reports.render.main([str(rendered_store), "--quiet"])
    assert_one_line(rc, reports.render.EXIT_INTERRUPTED, capsys.readouterr(), ["the store is unchanged"],
                    prefix="interrupted: ")
    monkeypatch.undo()
    fill_disk(monkeypatch, lambda path: path.name == "results.csv")
    rc = reports.render.main([str(rendered_store), "--quiet"])
    assert_one_line(rc, reports.render.EXIT_FAILED, capsys.readouterr(),
                    ["no space left on device while writing", "report/results.csv", "the store is unchanged"])
    unchanged(rendered_store, before)


def _sigint_ignored() -> Path | None:
    return Path("ignored") if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else None


def test_plot_workers_leave_ctrl_c_to_the_parent():
    """Ctrl+C reaches the terminal's whole process group: the figure workers ignore it (no traceback
    from each of them), the parent stops them."""
    tasks = [("mnist", "lenet5", "Training curves", _sigint_ignored)] * 2
    before = signal.getsignal(signal.SIGINT)  # ignored already when pytest itself was started in the background
    plots = PlotJob(tasks, jobs=2).result()
    assert [p.path for p in plots] == [Path("ignored")] * 2
    assert signal.getsignal(signal.SIGINT) == before  # the parent's own handling is left as it was

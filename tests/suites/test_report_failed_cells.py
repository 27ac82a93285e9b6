"""A report renders whatever cells failed (issue 27, observation 1): one failed cell of every
registered suite, and every cell of one suite failed, parametrised over the suite registry so a new
suite is covered with no new test code. The store comes from a real smoke run of every suite."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from reports.render import render_report
from spindrop.store import Cell, ResultStore
from suites import list_suites
from suites.run import EXIT_OK, main

from .runner_helpers import SMOKE

PLANTED = "RuntimeError: planted failure for the report test"


@pytest.fixture(scope="module")
def finished_all(tmp_path_factory, data_root) -> Path:
    """Output folder of a smoke run of every suite with two methods and one seed (no report)."""
    out = tmp_path_factory.mktemp("all_suites") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPINDROP_DATA_ROOT", str(data_root))
        assert main(["--all", *SMOKE, "--methods", "deterministic", "mc_dropout", "--seeds", "0",
                     "--no-report", "--out", str(out)]) == EXIT_OK
    return out


def fail_cells(src: Path, dst: Path, chosen) -> list[Cell]:
    """Copy the store ``src`` to ``dst`` with every cell for which ``chosen(cell)`` holds replaced
    by a failed cell (as the runner records one); returns the failed cells."""
    shutil.copytree(src, dst)
    store = ResultStore(dst)
    failed = [replace(c, status="failed", metrics={}, kinds={}, extras={}, error=PLANTED, intervals={},
                      replicates=None, report=None) for c in store.cells() if chosen(c)]
    for cell in failed:
        store.put(cell)
    return failed


def render(out: Path) -> str:
    report = render_report(out, console=Console(quiet=True))
    assert report == out / "report" / "REPORT.md" and report.is_file()
    return report.read_text()


def assert_listed(text: str, failed: list[Cell]) -> None:
    section = text[text.index("## Failed cells"):]
    for cell in failed:
        assert f"- `{cell.key.label()}`: {PLANTED}" in section


@pytest.mark.parametrize("phase", [0, 1])
def test_failed_cells_of_every_suite_render(phase, finished_all, tmp_path):
    """Every registered suite once with all its cells failed and once with one failed cell (phase 0:
    the suites at even positions of the registry lose every cell, the others one; phase 1 the other
    way round), the other suites' cells ok."""
    every = {s for i, s in enumerate(list_suites()) if i % 2 == phase}
    out = tmp_path / "out"
    failed = fail_cells(finished_all, out, lambda c: c.key.suite in every or c.key.method == "deterministic")
    assert {c.key.suite for c in failed} == set(list_suites())
    assert all(sum(c.key.suite == s for c in failed) == 2 for s in every)
    text = render(out)
    assert_listed(text, failed)
    assert f"{len(failed)} failed" in text


def test_only_failed_cells_render(finished_all, tmp_path):
    out = tmp_path / "out"
    failed = fail_cells(finished_all, out, lambda c: True)
    assert_listed(render(out), failed)

"""Written files follow the umask (issue 27, observation 6): the atomic writer's temp files are
created 0600 by ``mkstemp``, yet REPORT.md, results.csv, cells and checkpoints in a shared output
folder must be readable by whoever the umask lets read them, as any program's files are."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from spindrop.data.root import current_umask
from spindrop.store import atomic_write_text
from spindrop.training.fit import _atomic_save
from suites.run import EXIT_OK, main

from .runner_helpers import SMOKE


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_and_checkpoints_follow_the_umask(mask, expected, tmp_path):
    with umask(mask):
        assert current_umask() == mask
        atomic_write_text(tmp_path / "cell.json", "{}")
        _atomic_save({"w": torch.zeros(3)}, tmp_path / "checkpoints" / "key.pt")
    assert mode(tmp_path / "cell.json") == expected
    assert mode(tmp_path / "checkpoints" / "key.pt") == expected
    assert torch.load(tmp_path / "checkpoints" / "key.pt")["w"].tolist() == [0.0, 0.0, 0.0]
    assert current_umask() == os.umask(current_umask())  # read without changing it


def test_a_run_writes_every_file_with_the_umask_mode(tmp_path, in_process):
    out = tmp_path / "out"
    with umask(0o022):
        assert main(["--suite", "accuracy", *SMOKE, "--methods", "spatial", "--out", str(out)]) == EXIT_OK
    written = {p.relative_to(out).as_posix(): mode(p) for p in out.rglob("*") if p.is_file()}
    for part in ("report/REPORT.md", "report/results.csv", "results/results.csv", "results/metadata.json"):
        assert part in written, sorted(written)
    assert any(p.startswith("results/cells/accuracy/") and p.endswith(".json") for p in written)
    assert any(p.startswith("checkpoints/") and p.endswith(".pt") for p in written)
    assert {p: m for p, m in written.items() if m != 0o644} == {}

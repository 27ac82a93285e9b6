"""Helpers of the runner tests (imported as ``from runner_helpers import ...``; see conftest.py
for why this folder is not a package)."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from spindrop.store import CellKey
from suites import list_suites

REPO = Path(__file__).resolve().parents[2]
PLUGIN_ROOT = REPO / "tests" / "core" / "plugin_example"
PLUGIN_PACKAGE = "spindrop_example_plugin"
PLUGIN_METHOD = "my_method"

BUILTIN_METHODS = ("deterministic", "mc_dropout", "spindrop", "spatial", "scale")
ALL_SUITES = tuple(list_suites())
"""What ``--all`` runs: every registered suite."""
REPORT_GROUPS = ("Classification", "Calibration", "OOD", "Shift", "Hardware")
SMOKE = ["--profile", "smoke", "--datasets", "mnist"]

FINISHED = CellKey(suite="accuracy", dataset="mnist", model="lenet5", width=0.5, method="spatial",
                   params=(("p", 0.2),), seed=0, profile="smoke", mc_samples=4)
"""The cell of the ``finished_store`` fixture (conftest.py)."""

SUMMARY = re.compile(r"(\d+) cells computed, (\d+) already finished, (\d+) failed")


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` of a run that a test interrupts with SIGINT: SIGINT handled by default in the
    child even when the test session inherited it ignored (pytest started in the background by a
    script, where a real user's Ctrl+C would not reach the run either)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_one_line(rc: int, status: int, captured, expected: list[str], prefix: str = "error: ") -> str:
    """The run exited ``status`` with one line on stderr, starting with ``prefix`` and holding every
    text of ``expected``, and no traceback anywhere; returns the line."""
    assert rc == status, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{captured.err}"
    line = lines[0]
    assert line.startswith(prefix), line
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"
    assert "Traceback" not in captured.err + captured.out
    return line


def cli(args: list[str]) -> list[str]:
    """The command line of ``python -m suites.run ARGS`` with this interpreter."""
    return [sys.executable, "-m", "suites.run", *args]


def run_cli(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(cli(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def summary(stdout: str) -> tuple[int, int, int]:
    """(computed, already finished, failed) from the runner's closing line."""
    match = SUMMARY.search(stdout)
    assert match, f"no summary line in the runner's output:\n{stdout}"
    return tuple(int(g) for g in match.groups())


def cell_files(out: Path) -> list[Path]:
    return sorted((out / "results" / "cells").glob("*/*.json"))


def cell_bytes(out: Path) -> dict[str, bytes]:
    """Finished cell files (relative path → bytes)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in cell_files(out)}


def cells(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in cell_files(out)]


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` (relative path → (bytes, mtime_ns))."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def wait_for(condition: Callable[[], object], proc: subprocess.Popen, timeout: float,
             interval: float = 0.005) -> object:
    """Poll ``condition`` until it is truthy; stop early when ``proc`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value or proc.poll() is not None:
            return value
        time.sleep(interval)
    return condition()


def finished(store, key) -> bool:
    """Whether the store holds ``key`` as an ok cell (whatever its provenance)."""
    cell = store.get(key)
    return cell is not None and cell.status == "ok"


def processes_under(folder: Path) -> list[int]:
    """Pids of the processes whose command line names ``folder`` (launched units and controllers)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(folder) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids

"""``--launcher local --jobs 2`` end to end: a run whose parent is SIGKILLed leaves no unit running,
its rerun resumes (finished cells and trained networks kept), and the store it ends with holds the
same numbers as an inline run of the same command.

Both runs use one intra-op thread per process (``OMP_NUM_THREADS=1`` in the subprocesses' environment;
the local units also call ``torch.set_num_threads(1)``) and the same seeds, so their numbers are
identical. Nothing in ``results.csv`` is a timing; ``git_commit`` is left out of the comparison
because it records the checkout at the moment a cell was computed (in a tree that others commit to
it may move between the two runs without changing a number; the ``code`` column, which is
compared, fingerprints the sources themselves). Cell files are compared without ``git_commit`` and
without their wall times (``seconds``, and ``*_seconds`` in the plot data, e.g. ``bootstrap_seconds``).

Three targets with ``--jobs 2`` make the kill land before the end: the third unit is submitted only
when one of the first two has ended, which is after the first cell file exists.
"""
from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from suites.run import EXIT_OK

from .runner_helpers import REPO, SMOKE, cell_bytes, cell_files, cli, processes_under, run_cli, summary, wait_for

pytest.importorskip("submitit")

METHODS = ("deterministic", "spatial", "mc_dropout")
SUITES = ("accuracy", "calibration", "modules")
ARGS = ["--suite", *SUITES, *SMOKE, "--methods", *METHODS, "--no-report"]
LOCAL = ["--launcher", "local", "--jobs", "2"]
N_CELLS = len(SUITES) * len(METHODS)



def _checkpoints(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "checkpoints").glob("*.pt"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli_env):
    inline = tmp_path_factory.mktemp("inline")
    first = run_cli([*ARGS, "--out", str(inline)], cli_env)
    assert first.returncode == EXIT_OK, first.stdout + first.stderr
    for _ in range(3):
        out = tmp_path_factory.mktemp("local")
        log = out.parent / f"{out.name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(cli([*ARGS, *LOCAL, "--out", str(out)]), cwd=REPO, env=cli_env, stdout=fh,
                                    stderr=subprocess.STDOUT)
            try:
                wrote = wait_for(lambda out=out: cell_files(out), proc, timeout=180)
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.kill()
                proc.wait(timeout=30)
        assert wrote, f"the run wrote no cell before it ended (exit {proc.returncode}):\n{log.read_text()}"
        deadline = time.monotonic() + 30  # orphaned units notice within a second that the folder is free
        while processes_under(out / "launch") and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = processes_under(out / "launch")
        before = cell_bytes(out)
        if proc.returncode == -signal.SIGKILL and len(before) < N_CELLS:
            break
    else:
        pytest.fail("the local run finished before SIGKILL could land, three times")
    checkpoints_before = _checkpoints(out)
    rerun = run_cli([*ARGS, *LOCAL, "--out", str(out)], cli_env, timeout=300)
    return SimpleNamespace(inline=inline, out=out, before=before, orphans=orphans,
                           checkpoints_before=checkpoints_before, rerun=rerun)


def test_killing_the_parent_leaves_no_unit_running(runs):
    assert runs.orphans == []


def test_a_killed_local_run_resumes(runs):
    assert runs.rerun.returncode == EXIT_OK, runs.rerun.stdout + runs.rerun.stderr
    assert 1 <= len(runs.before) < N_CELLS
    assert summary(runs.rerun.stdout) == (N_CELLS - len(runs.before), len(runs.before), 0)
    after = cell_bytes(runs.out)
    assert len(after) == N_CELLS
    for path, content in runs.before.items():
        assert after[path] == content, f"{path} changed after the resume"
    checkpoints = _checkpoints(runs.out)
    assert len(checkpoints) == len(METHODS)
    for name, content in runs.checkpoints_before.items():
        assert checkpoints[name] == content, f"checkpoint {name} was retrained"
    assert not processes_under(runs.out / "launch")


def test_local_results_equal_the_inline_run(runs):
    assert runs.rerun.returncode == EXIT_OK
    inline = pd.read_csv(runs.inline / "results" / "results.csv").drop(columns="git_commit")
    local = pd.read_csv(runs.out / "results" / "results.csv").drop(columns="git_commit")
    assert len(inline) > N_CELLS and (inline["status"] == "ok").all()
    pd.testing.assert_frame_equal(local, inline, check_exact=True)

    def content(out: Path) -> dict[str, object]:
        return {p.relative_to(out).as_posix(): without_timings(json.loads(p.read_text())) for p in cell_files(out)}

    assert content(runs.out) == content(runs.inline)  # plot data (extras) too


def without_timings(value: object) -> object:
    """``value`` without ``git_commit`` and the wall times (keys ``seconds`` or ``*_seconds``), at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items()
                if k != "git_commit" and not (k == "seconds" or k.endswith("_seconds"))}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value

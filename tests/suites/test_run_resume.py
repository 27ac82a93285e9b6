"""Resume: a killed run loses nothing finished, a rerun completes it, a third run computes nothing;
Ctrl+C (SIGINT / KeyboardInterrupt) exits 130 with the finished cells kept."""
from __future__ import annotations

import json
import signal
import subprocess
import time
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import pytest

import suites.workbench
from spindrop.training.module import BNNClassifier
from suites.run import EXIT_INTERRUPTED, EXIT_OK, main

from .runner_helpers import (
    REPO,
    SMOKE,
    cell_bytes,
    cell_files,
    cells,
    cli,
    run_cli,
    sigint_as_in_a_terminal,
    summary,
    tree,
    wait_for,
)

SUITES = ("accuracy", "calibration", "modules")
METHODS = ("deterministic", "spatial", "spindrop")
ARGS = ["--suite", *SUITES, *SMOKE, "--methods", *METHODS, "--no-report"]
N_CELLS = len(SUITES) * len(METHODS)


def _checkpoints(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "checkpoints").glob("*.pt"))}


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory, cli_env):
    """Start the run, SIGKILL it as soon as its first cell file exists, then rerun to completion.

    The kill must land while the run is still going (fewer than all cells written); with a 5 ms
    poll that is all but certain, but the attempt is repeated (at most 3 times) rather than
    accepting a run that finished before the signal.
    """
    env = cli_env
    for _ in range(3):
        out = tmp_path_factory.mktemp("killed")
        log = tmp_path_factory.mktemp("log") / "first.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(cli([*ARGS, "--out", str(out)]), cwd=REPO, env=env, stdout=fh,
                                    stderr=subprocess.STDOUT)
            try:
                first = wait_for(lambda out=out: cell_files(out), proc, timeout=180)
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.kill()
                proc.wait(timeout=30)
        assert first, f"the run wrote no cell before it ended (exit {proc.returncode}):\n{log.read_text()}"
        before = cell_bytes(out)
        if proc.returncode == -signal.SIGKILL and len(before) < N_CELLS:
            break
    else:
        pytest.fail("the run finished before SIGKILL could land, three times")
    checkpoints_before = _checkpoints(out)
    rerun = run_cli([*ARGS, "--out", str(out)], env, timeout=300)
    return SimpleNamespace(out=out, before=before, checkpoints_before=checkpoints_before, rerun=rerun)


def test_killed_run_resumes_and_keeps_every_finished_cell(killed_then_resumed):
    r = killed_then_resumed
    assert r.rerun.returncode == EXIT_OK, r.rerun.stdout + r.rerun.stderr
    assert 1 <= len(r.before) < N_CELLS
    # the rerun computed exactly the cells the kill left undone
    assert summary(r.rerun.stdout) == (N_CELLS - len(r.before), len(r.before), 0)
    after = cell_bytes(r.out)
    for path, content in r.before.items():
        assert after[path] == content, f"{path} changed after the resume"
    assert len(after) == N_CELLS
    got = cells(r.out)
    assert all(c["status"] == "ok" and c["error"] is None and c["metrics"] for c in got)
    assert sorted((c["key"]["suite"], c["key"]["method"]) for c in got) == sorted(product(SUITES, METHODS))
    assert {(c["key"]["dataset"], c["key"]["profile"], c["key"]["seed"]) for c in got} == {("mnist", "smoke", 0)}
    # networks trained before the kill were reused, not retrained
    checkpoints = _checkpoints(r.out)
    assert len(checkpoints) == len(METHODS)
    for name, content in r.checkpoints_before.items():
        assert checkpoints[name] == content, f"checkpoint {name} was rewritten"


def test_second_identical_run_computes_nothing_and_changes_no_file(killed_then_resumed, in_process,
                                                                   monkeypatch, capsys):
    r = killed_then_resumed
    assert r.rerun.returncode == EXIT_OK
    before = tree(r.out)
    runs_before = len(json.loads((r.out / "results" / "metadata.json").read_text())["runs"])

    def forbidden(*args, **kwargs):
        raise AssertionError("a run with every cell finished must load no data and train nothing")

    for name in ("train", "test_images", "validation_split", "SpinDataModule"):
        monkeypatch.setattr(suites.workbench, name, forbidden)
    assert main([*ARGS, "--out", str(r.out)]) == EXIT_OK
    stdout = capsys.readouterr().out
    assert "0 cells computed" in stdout
    assert summary(stdout) == (0, N_CELLS, 0)

    after = tree(r.out)
    meta = "results/metadata.json"
    assert set(after) == set(before)
    for path in before:
        if path != meta:
            assert after[path][0] == before[path][0], f"{path} changed"
        if path.startswith(("results/cells/", "checkpoints/")):
            assert after[path][1] == before[path][1], f"{path} was rewritten"
    # the metadata only gains the record of this run
    info = json.loads(after[meta][0])
    assert len(info["runs"]) == runs_before + 1
    latest = info["latest"]
    assert (latest["cells_done"], latest["cells_skipped"], latest["cells_failed"]) == (0, N_CELLS, 0)


INTERRUPT_ARGS = ["--suite", "modules", "accuracy", *SMOKE, "--methods", "deterministic", "spatial", "--no-report"]


def test_ctrl_c_during_training_exits_130_and_keeps_finished_cells(tmp_path, in_process, monkeypatch, capsys):
    """A KeyboardInterrupt inside Lightning's fit (where Lightning itself calls sys.exit(1))."""
    calls = []

    def interrupted(self, batch, batch_idx):
        calls.append(batch_idx)
        raise KeyboardInterrupt

    monkeypatch.setattr(BNNClassifier, "training_step", interrupted)
    assert main([*INTERRUPT_ARGS, "--out", str(tmp_path)]) == EXIT_INTERRUPTED
    assert calls == [0]
    assert "interrupted" in capsys.readouterr().out
    # the modules cell of the first target finished before the interrupt and is kept; nothing else
    got = cells(tmp_path)
    assert [(c["key"]["suite"], c["key"]["method"], c["status"]) for c in got] == [("modules", "deterministic", "ok")]
    assert not list((tmp_path / "checkpoints").glob("*.pt"))


def test_sigint_exits_130_and_keeps_finished_cells(tmp_path, cli_env):
    """A real SIGINT. The first cell (modules, no training) is followed by the first training; the
    signal goes 0.15 s later, which on a 2-core CPU lands inside Lightning's fit (data loading or
    training steps), where Lightning turns Ctrl+C into sys.exit(1). Wherever it lands, the exit
    status must be 130."""
    proc = subprocess.Popen(cli([*INTERRUPT_ARGS, "--out", str(tmp_path)]), cwd=REPO, env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_in_a_terminal)
    try:
        first = wait_for(lambda: cell_files(tmp_path), proc, timeout=180)
        assert proc.poll() is None, "the run ended before SIGINT could be sent"
        assert first
        time.sleep(0.15)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, stdout + stderr
    assert "interrupted" in stdout
    kept = cell_bytes(tmp_path)
    assert 1 <= len(kept) < 4
    assert all(c["status"] == "ok" for c in cells(tmp_path))

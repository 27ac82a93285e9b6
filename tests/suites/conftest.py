"""Fixtures of the runner tests (``suites.run``, the result store, the training cache).

The test folders are packages imported with ``--import-mode=importlib`` (pyproject.toml), so this
folder, ``tests.suites``, never shadows the project's ``suites``; shared helpers are in
:mod:`.runner_helpers`. ``data_root`` and the one-thread setting come from the root conftest.

Speed: every run uses ``--profile smoke --datasets mnist`` and few methods/suites. Training and
MC inference run with one intra-op thread (in-process: ``torch.set_num_threads(1)``; subprocesses:
``OMP_NUM_THREADS=1``): on a busy 2-core machine two threads oversubscribe the cores and a smoke
training took 7 s instead of 0.3 s.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from spindrop.store import Cell, ResultStore

from .runner_helpers import FINISHED, REPO


@pytest.fixture(scope="session")
def cli_env(data_root) -> dict[str, str]:
    """Environment of a ``python -m suites.run`` subprocess: the data root, the session's decoded
    cache (``$SPINDROP_CACHE`` when set, else the library default), one thread, a wide console."""
    env = dict(os.environ)
    env["SPINDROP_DATA_ROOT"] = str(data_root)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", COLUMNS="200")
    return env


@pytest.fixture
def in_process(data_root, monkeypatch) -> Path:
    """For ``suites.run.main([...])`` in this process: the data root in the environment (as the
    subprocesses get it). Returns the data root."""
    monkeypatch.setenv("SPINDROP_DATA_ROOT", str(data_root))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps the runner's lines at 80 columns otherwise
    return data_root


@pytest.fixture(autouse=True)
def _keep_sigint_handler() -> Iterator[None]:
    """Lightning sets SIGINT to 'ignore' while it shuts down after a KeyboardInterrupt; make sure
    no test leaves the pytest process deaf to Ctrl+C."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.fixture
def finished_store(tmp_path) -> Path:
    """An output folder holding one finished cell (:data:`runner_helpers.FINISHED`) and a checkpoint."""
    out = tmp_path / "out"
    ResultStore(out).put(Cell(FINISHED, "ok", {"test/acc": 0.5}, {"test/acc": "measured"}, {}, None, 1.0))
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / "0123456789abcdef.pt").write_bytes(b"weights")
    return out

"""A real smoke run (one method, the accuracy suite, MNIST) with stdout not a terminal: the
training curves are logged under the checkpoint key and plotted in the report, the output is
line-based with whole tables, and a network reused from its checkpoint keeps its log."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
import torch

from spindrop.data import DataError, resolve_data_root
from spindrop.store import ResultStore
from spindrop.training.curves import CURVES, log_dir, read_curves
from suites.run import main


@pytest.fixture
def data_root(monkeypatch) -> Iterator[None]:
    try:
        root = resolve_data_root()
    except DataError as err:
        pytest.skip(f"real data not available: {err}")
    monkeypatch.setenv("SPINDROP_DATA_ROOT", str(root))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a busy 2-core machine: see tests/suites/conftest.py
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_smoke_run_logs_plots_and_prints_lines(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--suite", "accuracy", "--methods", "spatial", "--profile", "smoke", "--datasets", "mnist",
            "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out

    (cell,) = ResultStore(out).cells()
    key = cell.extras["checkpoint_key"]
    assert (out / "checkpoints" / f"{key}.pt").is_file()  # the log is keyed like the checkpoint
    curves = read_curves(out, key)
    assert list(curves.columns) == list(CURVES) and list(curves.index) == [0]  # smoke: one epoch
    assert curves["train/loss"].gt(0).all() and curves["val/nll"].gt(0).all()
    assert curves[["train/acc", "val/acc"]].stack().between(0, 1).all()
    assert "](training_mnist_lenet5.png)" in (out / "report" / "REPORT.md").read_text()
    assert (out / "report" / "training_mnist_lenet5.png").stat().st_size > 10_000

    lines = printed.splitlines()
    assert "accuracy: mnist/lenet5 spatial seed 0" in lines
    assert any(re.fullmatch(r"  train mnist/lenet5 spatial seed 0 ep 1/1: loss \d\.\d{3}, val acc \d\.\d{3}", line)
               for line in lines)
    header = next(line for line in lines if "Method" in line)
    assert all(h in header for h in ("Acc % ↑", "NLL ↓", "Brier ↓", "Det. acc % ↑", "Seeds"))

    log = (log_dir(out, key) / "metrics.csv").read_bytes()
    shutil.rmtree(out / "results")  # the cell is recomputed; its network comes from the checkpoint
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "train mnist/lenet5" not in again
    assert (log_dir(out, key) / "metrics.csv").read_bytes() == log
    assert ResultStore(out).cells()[0].extras["checkpoint_key"] == key

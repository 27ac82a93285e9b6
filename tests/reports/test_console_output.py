"""Output on a console that is not a terminal (a pipe, a CI log): tables printed whole at their
natural width, no live bars but one line per cell and per training epoch."""
from __future__ import annotations

import io
import sys
from types import SimpleNamespace

from rich.console import Console
from rich.table import Table

from reports.console import PIPE_WIDTH, LineProgress, make_console, make_progress
from suites.progress import TrainingBar

HEADERS = [f"ood_set_number_{i} ↑" for i in range(10)]


def _wide_table() -> Table:
    table = Table(title="a table far wider than 80 columns")
    for h in HEADERS:
        table.add_column(h, justify="right")
    table.add_row(*[f"{i}.00 ± 0.{i}1" for i in range(10)])
    return table


def _pipe(monkeypatch) -> io.StringIO:
    """stdout redirected to a file-like object that is not a terminal (inside the test body:
    pytest re-installs its own capture between fixture setup and the call)."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return out


def test_console_off_a_terminal_prints_tables_whole(monkeypatch):
    piped = _pipe(monkeypatch)
    console = make_console()
    assert not console.is_terminal and console.width == PIPE_WIDTH
    console.print(_wide_table())
    lines = piped.getvalue().splitlines()
    header = next(line for line in lines if HEADERS[0] in line)
    assert all(h in header for h in HEADERS)  # every column header on one line, none folded
    assert "…" not in piped.getvalue() and "\x1b[" not in piped.getvalue()  # nothing cut, no colour codes
    assert max(map(len, lines)) < 400  # the table's own width, not the console's
    narrow = io.StringIO()  # what rich does on its own off a terminal: 80 columns, headers folded
    Console(file=narrow, width=80).print(_wide_table())
    assert not any(all(h in line for h in HEADERS) for line in narrow.getvalue().splitlines())


def test_quiet_console_prints_nothing(monkeypatch):
    piped = _pipe(monkeypatch)
    make_console(quiet=True).print("anything")
    assert piped.getvalue() == ""


def test_line_progress_prints_a_line_per_new_description(monkeypatch):
    piped = _pipe(monkeypatch)
    console = make_console()
    progress = make_progress(console)
    assert isinstance(progress, LineProgress)
    with progress:
        cells = progress.add_task("cells", total=2)
        for name in ("accuracy: mnist/lenet5 spatial seed 0", "accuracy: mnist/lenet5 spatial seed 1"):
            progress.update(cells, description=name)
            progress.update(cells, description=name)  # unchanged: no second line
            progress.advance(cells)
    assert piped.getvalue().splitlines() == ["accuracy: mnist/lenet5 spatial seed 0",
                                             "accuracy: mnist/lenet5 spatial seed 1"]


def test_training_bar_off_a_terminal_prints_one_line_per_epoch(monkeypatch):
    piped = _pipe(monkeypatch)
    progress = make_progress(make_console())
    bar = TrainingBar(progress, "mnist/lenet5 spatial seed 0")
    trainer = SimpleNamespace(num_training_batches=5, max_epochs=2, current_epoch=0, callback_metrics={})
    bar.on_train_start(trainer, None)
    for epoch in range(2):
        trainer.current_epoch = epoch
        for i in range(5):
            bar.on_train_batch_end(trainer, None, {"loss": 2.0 - i / 10}, None, i)
        trainer.callback_metrics = {"train/loss": 1.5 - epoch, "val/acc": 0.25 + epoch / 2}
        bar.on_train_epoch_end(trainer, None)
    bar.on_train_end(trainer, None)
    assert piped.getvalue().splitlines() == [
        "  train mnist/lenet5 spatial seed 0 ep 1/2: loss 1.500, val acc 0.250",
        "  train mnist/lenet5 spatial seed 0 ep 2/2: loss 0.500, val acc 0.750"]

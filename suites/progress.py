"""Console output of a run: one progress bar for the cells, one for the network being trained.

On a terminal the bars are live. Elsewhere (a pipe, ``| tee``, a CI log) nothing can be redrawn
in place, so :func:`make_progress` gives a :class:`LineProgress` that prints one line per new
description instead (a cell starts, a training epoch ends), and :func:`make_console` gives a
console wide enough that the result tables are printed whole rather than cut at 80 columns.
"""
from __future__ import annotations

import pytorch_lightning as pl
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

# Width of a console that is not a terminal: rich would otherwise use 80 columns (or $COLUMNS) and
# fold or cut wider tables; a table is printed at its natural width, which stays far below this.
PIPE_WIDTH = 1000


def make_console(quiet: bool = False) -> Console:
    """A stdout console: the terminal's width on a terminal, :data:`PIPE_WIDTH` elsewhere;
    ``quiet`` prints nothing."""
    console = Console(quiet=quiet)
    return console if console.is_terminal else Console(width=PIPE_WIDTH, quiet=quiet)


def make_progress(console: Console) -> Progress:
    """Live bars on a terminal; a :class:`LineProgress` on any other console."""
    if not console.is_terminal:
        return LineProgress(console)
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)


class LineProgress(Progress):
    """Progress without a live display, for consoles that are not terminals: prints a task's
    description whenever it changes, one plain line each."""

    def __init__(self, console: Console) -> None:
        super().__init__(console=console, disable=True)

    def update(self, task_id: TaskID, *, description: str | None = None, **kwargs) -> None:
        task = next(t for t in self.tasks if t.id == task_id)
        if description is not None and description != task.description:
            self.console.print(description.rstrip(), markup=False, highlight=False)
        super().update(task_id, description=description, **kwargs)


class TrainingBar(pl.Callback):
    """Shows Lightning training as a progress task over the batches of all epochs.

    On a terminal its description follows the batch loss; after each epoch it shows the epoch's
    mean training loss and validation accuracy (the one line per epoch a :class:`LineProgress`
    prints).
    """

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress = progress
        self.label = label
        self.per_batch = progress.console.is_terminal
        self.task: TaskID | None = None

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        total = trainer.num_training_batches * trainer.max_epochs
        self.task = self.progress.add_task(f"  train {self.label}", total=total)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        description = None
        if self.per_batch:
            description = (f"  train {self.label} ep {trainer.current_epoch + 1}/{trainer.max_epochs} "
                           f"loss {float(outputs['loss']):.3f}")
        self.progress.update(self.task, advance=1, description=description)

    def on_train_epoch_end(self, trainer, module) -> None:
        logged = trainer.callback_metrics
        summary = ", ".join(f"{name} {float(logged[key]):.3f}" for name, key in
                            (("loss", "train/loss"), ("val acc", "val/acc")) if key in logged)
        self.progress.update(self.task, description=f"  train {self.label} ep {trainer.current_epoch + 1}/"
                                                    f"{trainer.max_epochs}: {summary}")

    def on_train_end(self, trainer, module) -> None:
        self.progress.remove_task(self.task)

"""rich progress for a run: one bar for the cells, one for the network being trained."""
from __future__ import annotations

import pytorch_lightning as pl
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


def make_progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)


class TrainingBar(pl.Callback):
    """Shows Lightning training as a rich task: batches of all epochs, with the loss."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress = progress
        self.label = label
        self.task = None

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        total = trainer.num_training_batches * trainer.max_epochs
        self.task = self.progress.add_task(f"  train {self.label}", total=total)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        loss = trainer.callback_metrics.get("train/loss")
        suffix = f" loss {float(loss):.3f}" if loss is not None else ""
        self.progress.update(self.task, advance=1,
                             description=f"  train {self.label} ep {trainer.current_epoch + 1}{suffix}")

    def on_train_end(self, trainer, module) -> None:
        self.progress.remove_task(self.task)

"""Lightning callbacks of a run: the training progress task and the Ctrl+C watch.

The consoles and progress displays themselves are in :mod:`reports.console` (rich only).
"""
from __future__ import annotations

import pytorch_lightning as pl
from rich.progress import Progress, TaskID


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


class InterruptWatch(pl.Callback):
    """Lightning answers Ctrl+C during ``fit`` with ``sys.exit(1)`` (after calling ``on_exception``);
    this notes the KeyboardInterrupt so that the runner reports an interruption (exit 130)."""

    def __init__(self) -> None:
        self.seen = False

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.seen = True

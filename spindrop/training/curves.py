"""Training curves: per-epoch training loss and accuracy, validation accuracy and NLL.

Lightning's ``CSVLogger`` (no server) writes them during :func:`spindrop.training.train` to
``<out>/logs/<spec.key()>/metrics.csv``, keyed like the checkpoint
``<out>/checkpoints/<spec.key()>.pt``. A network reused from its checkpoint is not trained
again and keeps the log of its training.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .spec import TrainSpec

if TYPE_CHECKING:
    from pytorch_lightning.loggers import CSVLogger

# What BNNClassifier logs once per epoch (epoch means over the batches).
CURVES = ("train/loss", "train/acc", "val/acc", "val/nll")


def log_dir(out: str | Path, key: str) -> Path:
    """The folder of the training log of checkpoint key ``key``."""
    return Path(out) / "logs" / key


def csv_logger(out: str | Path, spec: TrainSpec) -> CSVLogger:
    """A logger for training ``spec`` now. A log already there under the same key belongs to a
    network being replaced (its checkpoint was unreadable) and is removed first, since the
    CSV writer would append to it."""
    from pytorch_lightning.loggers import CSVLogger  # reading curves (the report) needs no Lightning

    path = log_dir(out, spec.key())
    shutil.rmtree(path, ignore_errors=True)
    return CSVLogger(save_dir=path.parent, name=path.name, version="")


def read_curves(out: str | Path, key: str) -> pd.DataFrame | None:
    """The curves of checkpoint key ``key``: one row per epoch (index ``epoch``, from 0), the
    columns of :data:`CURVES` the log has; None when there is no log."""
    path = log_dir(out, key) / "metrics.csv"
    if not path.is_file():
        return None
    raw = pd.read_csv(path)
    # the training and the validation values of an epoch arrive in separate rows
    return raw.groupby("epoch")[[c for c in CURVES if c in raw.columns]].first()

"""Train a :class:`TrainSpec` with Lightning, or reuse its checkpoint.

Checkpoints live at ``<out>/checkpoints/<spec.key()>.pt`` (state dict + spec + training
facts) and are written atomically, so asking for the same configuration again loads the
weights instead of retraining.
"""
from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch

from ..data import SpinDataModule, dataset_info
from .curves import csv_logger
from .module import BNNClassifier, build_network
from .spec import TrainSpec


@dataclass
class Trained:
    """A trained (or reloaded) network and how it came to be."""

    spec: TrainSpec
    model: torch.nn.Module
    checkpoint: Path
    reused: bool
    train_seconds: float


@dataclass(frozen=True)
class TrainerOptions:
    """Options passed to :class:`pytorch_lightning.Trainer` (``--accelerator`` etc.)."""

    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"


def checkpoint_path(out: Path, spec: TrainSpec) -> Path:
    return Path(out) / "checkpoints" / f"{spec.key()}.pt"


def _atomic_save(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_trained(spec: TrainSpec, out: Path) -> Trained | None:
    """The checkpointed network of ``spec``, or None if it was never trained."""
    path = checkpoint_path(out, spec)
    if not path.exists():
        return None
    blob = torch.load(path, map_location="cpu", weights_only=False)
    info = dataset_info(spec.dataset)
    model = build_network(spec, info.shape, info.num_classes)
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return Trained(spec, model, path, True, blob["train_seconds"])


def train(spec: TrainSpec, out: Path, data_root: str | Path | None = None,
          options: TrainerOptions = TrainerOptions(), callbacks: list | tuple = ()) -> Trained:
    """Train ``spec`` (or reuse its checkpoint under ``out``) and return the network.

    ``callbacks`` are Lightning callbacks (e.g. the runner's progress bar).
    """
    reused = load_trained(spec, out)
    if reused is not None:
        return reused
    info = dataset_info(spec.dataset)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # no per-fit banners
    pl.seed_everything(spec.seed, workers=True, verbose=False)
    data = SpinDataModule(spec.dataset, root=data_root, batch_size=spec.batch_size,
                          train_subset=spec.train_subset, val_size=spec.val_size,
                          augment=spec.augment, seed=spec.seed)
    module = BNNClassifier(spec, info.shape, info.num_classes)
    trainer = pl.Trainer(
        max_epochs=spec.epochs, accelerator=options.accelerator, devices=options.devices,
        strategy=options.strategy, logger=csv_logger(out, spec), enable_checkpointing=False,
        enable_model_summary=False, enable_progress_bar=False, callbacks=list(callbacks),
        default_root_dir=str(out), num_sanity_val_steps=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        _quiet_known_warnings()
        trainer.fit(module, datamodule=data)
    seconds = time.perf_counter() - start
    model = module.model.cpu().eval()
    path = checkpoint_path(out, spec)
    _atomic_save({"state_dict": model.state_dict(), "spec": asdict(spec), "train_seconds": seconds,
                  "val_acc": float(trainer.callback_metrics.get("val/acc", float("nan")))}, path)
    path.with_suffix(".json").write_text(json.dumps({"spec": asdict(spec), "key": spec.key(),
                                                     "train_seconds": seconds}, indent=2))
    return Trained(spec, model, path, False, seconds)


def _quiet_known_warnings() -> None:
    """Silence the per-fit warnings Lightning emits for this setup, and only those."""
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")  # we log per epoch
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*", category=FutureWarning)

"""Train a :class:`TrainSpec` with Lightning, or reuse its checkpoint.

Checkpoints live at ``<out>/checkpoints/<spec.key()>.pt`` (state dict + spec + training
facts) and are written atomically, so asking for the same configuration again loads the
weights instead of retraining. The key covers the recipe, the training code, the data files and
the trainer options (:func:`fingerprinted`); a checkpoint that cannot be read (truncated, zero
bytes, not a checkpoint of this network) is a cache miss: a warning is logged and the network
is retrained.
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
from filelock import FileLock

from ..data import dataset_fingerprint, dataset_info
from ..data.loader import SpinDataModule
from ..data.root import atomic_write
from ..fingerprint import digest
from ..store import atomic_write_text
from .curves import csv_logger
from .module import BNNClassifier, build_network
from .spec import TrainerOptions, TrainSpec, training_code_fingerprint

log = logging.getLogger("spindrop.cache")


@dataclass
class Trained:
    """A trained (or reloaded) network and how it came to be."""

    spec: TrainSpec
    model: torch.nn.Module
    checkpoint: Path
    reused: bool
    train_seconds: float


def fingerprinted(spec: TrainSpec, data_root: str | Path | None = None,
                  options: TrainerOptions = TrainerOptions()) -> TrainSpec:
    """``spec`` with its provenance fingerprints: training code, data files, trainer options.

    Trainer options are keyed because they change the weights: devices × batch size is the
    effective batch under data parallelism, and the accelerator changes the arithmetic.
    """
    return spec.with_fingerprints(code=training_code_fingerprint(spec.method),
                                  data=dataset_fingerprint([spec.dataset], data_root),
                                  trainer=digest(asdict(options)))


def checkpoint_path(out: Path, spec: TrainSpec) -> Path:
    return Path(out) / "checkpoints" / f"{spec.key()}.pt"


def _atomic_save(obj: object, path: Path) -> None:
    """``torch.save`` through :func:`spindrop.data.root.atomic_write` (temp file, rename, the umask's
    mode, a full disk as :class:`~spindrop.data.root.DiskFullError`); temp files of this path left
    by a killed writer (one writer per checkpoint at a time: :func:`train` holds the key's lock)
    are removed first."""
    for stray in path.parent.glob(f".{path.name}.*.tmp"):
        stray.unlink(missing_ok=True)
    atomic_write(path, lambda fh: torch.save(obj, fh))


def load_trained(spec: TrainSpec, out: Path) -> Trained | None:
    """The checkpointed network of ``spec``, or None if it was never trained or its checkpoint
    cannot be read (then a warning is logged: the caller retrains)."""
    path = checkpoint_path(out, spec)
    if not path.exists():
        return None
    info = dataset_info(spec.dataset)
    model = build_network(spec, info.shape, info.num_classes)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(blob["state_dict"])
        seconds = float(blob["train_seconds"])
    except Exception as exc:  # any unreadable checkpoint is a miss, whatever the reader raised
        log.warning("checkpoint %s is unreadable (%s: %s); retraining %s",
                    path, type(exc).__name__, str(exc)[:120], spec.label())
        return None
    model.eval()
    return Trained(spec, model, path, True, seconds)


def train(spec: TrainSpec, out: Path, data_root: str | Path | None = None,
          options: TrainerOptions = TrainerOptions(), callbacks: list | tuple = ()) -> Trained:
    """Train ``spec`` (or reuse its checkpoint under ``out``) and return the network.

    ``callbacks`` are Lightning callbacks (e.g. the runner's progress bar). Processes sharing
    ``out`` (launched units, suites.launch) train a key once: ``<out>/.locks/<key>.lock``
    (``filelock``) is held from the checkpoint lookup to its write.
    """
    if not spec.fingerprints:
        spec = fingerprinted(spec, data_root, options)
    lock = Path(out) / ".locks" / f"{spec.key()}.lock"  # beside, not among, the checkpoints
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):  # one process trains a key; another waits here, then loads its checkpoint
        reused = load_trained(spec, out)
        if reused is not None:
            return reused
        return _fit(spec, out, data_root, options, callbacks)


def _fit(spec: TrainSpec, out: Path, data_root: str | Path | None, options: TrainerOptions,
         callbacks: list | tuple) -> Trained:
    """Train ``spec`` with Lightning and checkpoint it (the caller holds the key's lock)."""
    info = dataset_info(spec.dataset)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # no per-fit banners
    pl.seed_everything(spec.seed, workers=True, verbose=False)
    data = SpinDataModule(spec.dataset, root=data_root, batch_size=spec.batch_size,
                          train_subset=spec.train_subset, val_size=spec.val_size,
                          augment=spec.augment, seed=spec.seed)
    module = BNNClassifier(spec, info.shape, info.num_classes)
    trainer = pl.Trainer(
        max_epochs=spec.epochs, accelerator=options.accelerator, devices=options.devices,
        strategy=options.strategy, precision=spec.precision, logger=csv_logger(out, spec), enable_checkpointing=False,
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
    atomic_write_text(path.with_suffix(".json"), json.dumps(
        {"spec": asdict(spec), "resolved_params": spec.resolved_params(), "key": spec.key(),
         "train_seconds": seconds}, indent=2, default=str))
    return Trained(spec, model, path, False, seconds)


def _quiet_known_warnings() -> None:
    """Silence the per-fit warnings Lightning emits for this setup, and only those."""
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")  # we log per epoch
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*", category=FutureWarning)

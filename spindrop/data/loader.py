"""Batches straight from in-memory uint8 tensors, and the Lightning DataModule built on them.

``TensorBatchLoader`` slices whole batches by index (no per-sample ``__getitem__``, no worker
processes); Lightning accepts any iterable with ``__len__`` as a dataloader. Pixels are scaled to
[0, 1] and normalised per channel with the TRAIN split's statistics: x' = (x/255 − mean_c)/std_c.

The splits are resident on the trainer's device: decoded once (cached as uint8), moved there once
when the loader is made, then shuffled, augmented and normalised there batch by batch, so a GPU
epoch makes no host transfer per batch (docs/gpu.md). On the CPU this is the same code.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import Tensor

from .datasets import DatasetInfo, TensorSplit, channel_stats, dataset_info, load_split

CROP_PADDING = 4


def normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """uint8 (N, C, H, W) → float32 (x/255 − mean_c)/std_c, on the images' device."""
    m = torch.tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255.0 - m) / s


def random_crop_flip(images: Tensor, gen: torch.Generator, padding: int = CROP_PADDING) -> Tensor:
    """Batched augmentation (the standard CIFAR recipe): zero-pad by ``padding`` px, crop a random
    H×W window per image, and flip each image horizontally with probability 1/2. Vectorised over
    the batch on the images' device, which ``gen`` must be on (a GPU batch never leaves the GPU)."""
    n, _, h, w = images.shape
    dev = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4).permute(0, 2, 3, 1)
    dy = torch.randint(0, 2 * padding + 1, (n, 1), generator=gen, device=dev)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), generator=gen, device=dev)
    rows = (dy + torch.arange(h, device=dev)).unsqueeze(2)
    cols = (dx + torch.arange(w, device=dev)).unsqueeze(1)
    crops = padded[torch.arange(n, device=dev).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2)
    flip = torch.rand(n, generator=gen, device=dev) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), crops.flip(3), crops)


def holdout_permutation(n: int, seed: int) -> Tensor:
    """The seeded permutation of the n train-split images: its first ``val_size`` entries are the
    validation split, the rest the training images (:class:`SpinDataModule`)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def validation_split(dataset: str, root: str | Path | None, val_size: int, seed: int) -> TensorSplit:
    """The validation split of a training run with this ``seed``: ``val_size`` images of the train
    split, never seen in training (reads the train split only)."""
    train = load_split(dataset, "train", root)
    if not 0 < val_size < len(train):
        raise ValueError(f"val_size must be in (0, {len(train)}) to hold out a validation split, not {val_size}")
    return train.take(holdout_permutation(len(train), seed)[:val_size])


class TensorBatchLoader:
    """Iterable of (normalised float images, int64 labels) batches over uint8 tensors.

    With ``shuffle`` the order of epoch e is a permutation drawn from a generator seeded with
    ``seed + e``; the same generator then draws the augmentation. The epoch counter advances
    each time a pass starts (e.g. under Lightning's ``limit_train_batches`` a pass is cut
    short) or is set with ``set_epoch``, so reruns are reproducible.

    ``device``: where the images and labels are held (moved once, here) and every batch is made:
    the permutation, the augmentation (a generator on that device) and the normalisation, so a
    batch is already where the network is. The stream of random numbers is the device's own:
    a CPU and a GPU loader with the same seed shuffle differently.
    """

    def __init__(self, images: Tensor, labels: Tensor, *, mean: Sequence[float],
                 std: Sequence[float], batch_size: int = 128, shuffle: bool = False, seed: int = 0,
                 augment: bool = False, drop_last: bool = False,
                 device: torch.device | str = "cpu") -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if images.dtype != torch.uint8:
            raise ValueError("TensorBatchLoader expects uint8 images")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.device = torch.device(device)
        self.images, self.labels = images.to(self.device), labels.to(self.device)
        self.mean, self.std = tuple(mean), tuple(std)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.augment, self.drop_last = augment, drop_last
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order (and augmentation) the next pass uses."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        epoch, self.epoch = self.epoch, self.epoch + 1  # advance even if the pass is cut short
        return self._batches(epoch)

    def _batches(self, epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        gen = torch.Generator(device=self.device).manual_seed(self.seed + epoch)
        n = len(self.labels)
        order = torch.randperm(n, generator=gen, device=self.device) if self.shuffle else None
        for b in range(len(self)):
            sl = slice(b * self.batch_size, min((b + 1) * self.batch_size, n))
            index = order[sl] if order is not None else sl
            images = self.images[index]
            if self.augment:
                images = random_crop_flip(images, gen)
            yield normalize(images, self.mean, self.std), self.labels[index]


class SpinDataModule(pl.LightningDataModule):
    """Train/val/test batches of a registered dataset.

    Validation is ``val_size`` images drawn (seeded permutation) from the train split, training
    the rest, capped at ``train_subset``; the test set is the test split, capped at
    ``test_subset`` after a seeded permutation. Normalisation uses the channel statistics of the
    full train split (``channel_stats``); apply ``normalize`` to OOD or shifted images alike.
    The loaders hold their split on :attr:`device`, the attached trainer's (the CPU without one).
    """

    def __init__(self, dataset: str, root: str | Path | None = None, batch_size: int = 128,
                 train_subset: int | None = None, val_size: int = 5000,
                 test_subset: int | None = None, augment: bool = False, seed: int = 0) -> None:
        super().__init__()
        dataset_info(dataset)  # fail early on an unknown name
        self.save_hyperparameters()
        self.dataset, self.root, self.batch_size = dataset, root, batch_size
        self.train_subset, self.val_size, self.test_subset = train_subset, val_size, test_subset
        self.augment, self.seed = augment, seed
        self.mean: tuple[float, ...] = ()
        self.std: tuple[float, ...] = ()
        self.train_set: TensorSplit | None = None
        self.val_set: TensorSplit | None = None
        self.test_set: TensorSplit | None = None

    @property
    def info(self) -> DatasetInfo:
        """Shape and class count of the dataset (to build the model)."""
        return dataset_info(self.dataset)

    def prepare_data(self) -> None:
        """Decode and cache both splits and the channel statistics (once, on one process)."""
        load_split(self.dataset, "test", self.root)
        channel_stats(self.dataset, self.root)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.mean, self.std = channel_stats(self.dataset, self.root)
        train = load_split(self.dataset, "train", self.root)
        if not 0 <= self.val_size < len(train):
            raise ValueError(f"val_size must be in [0, {len(train)}), not {self.val_size}")
        perm = holdout_permutation(len(train), self.seed)
        rest = perm[self.val_size:]
        self.val_set = train.take(perm[:self.val_size])
        self.train_set = train.take(rest if self.train_subset is None else rest[:self.train_subset])
        test = load_split(self.dataset, "test", self.root)
        if self.test_subset is not None:
            gen = torch.Generator().manual_seed(self.seed + 1)
            test = test.take(torch.randperm(len(test), generator=gen)[:self.test_subset])
        self.test_set = test

    def normalize(self, images: Tensor) -> Tensor:
        """uint8 images → float, normalised with this dataset's train channel statistics."""
        if not self.mean:
            self.mean, self.std = channel_stats(self.dataset, self.root)
        return normalize(images, self.mean, self.std)

    @property
    def device(self) -> torch.device:
        """Where the loaders hold their split and make their batches: the root device of the
        trainer this module is attached to, else the CPU."""
        return self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")

    def _loader(self, split: TensorSplit | None, train: bool) -> TensorBatchLoader:
        if split is None:
            raise RuntimeError("call setup() before asking for dataloaders")
        return TensorBatchLoader(split.images, split.labels, mean=self.mean, std=self.std,
                                 batch_size=self.batch_size, shuffle=train, seed=self.seed,
                                 augment=train and self.augment, device=self.device)

    def train_dataloader(self) -> TensorBatchLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> TensorBatchLoader:
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> TensorBatchLoader:
        return self._loader(self.test_set, train=False)

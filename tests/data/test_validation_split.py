"""validation_split is the validation split SpinDataModule trains without (same seed, same images)."""
from __future__ import annotations

import torch

from spindrop.data.loader import SpinDataModule, validation_split


def test_validation_split_is_the_datamodules(data_root):
    dm = SpinDataModule("mnist", root=data_root, val_size=300, train_subset=1000, seed=3)
    dm.setup()
    val = validation_split("mnist", data_root, 300, 3)
    assert torch.equal(val.images, dm.val_set.images) and torch.equal(val.labels, dm.val_set.labels)
    other = validation_split("mnist", data_root, 300, 4)
    assert not torch.equal(other.images, val.images)

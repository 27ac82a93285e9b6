"""Real data for spindrop-bench: verified files, cached decoding, OOD/shift sets, batch loaders.

The batch loaders (``SpinDataModule`` is a LightningDataModule) are imported on first use
(PEP 562), so listing and validating do not import Lightning.
"""
from __future__ import annotations

import importlib

from .checksums import file_sha256, read_sums, verify_file
from .datasets import (
    CIFAR10_CLASSES,
    DatasetInfo,
    TensorSplit,
    channel_stats,
    dataset_fingerprint,
    dataset_info,
    list_datasets,
    load_split,
    load_tinyimagenet32,
    register_dataset,
    seeded_subset,
    source_key,
    tinyimagenet_overlap,
    verify_dataset,
)
from .errors import DataError
from .root import resolve_cache_dir, resolve_data_root
from .shift import CORRUPTIONS, OOD_SETS, corrupt, list_corruptions, ood_sets, pad_to_rgb32

__all__ = [
    "CIFAR10_CLASSES", "CORRUPTIONS", "DataError", "DatasetInfo", "OOD_SETS", "SpinDataModule",
    "TensorBatchLoader", "TensorSplit", "channel_stats", "corrupt", "dataset_fingerprint", "dataset_info",
    "file_sha256",
    "list_corruptions", "list_datasets", "load_split", "load_tinyimagenet32", "normalize",
    "ood_sets", "pad_to_rgb32", "random_crop_flip", "read_sums", "register_dataset", "seeded_subset",
    "resolve_cache_dir", "resolve_data_root", "source_key", "tinyimagenet_overlap", "verify_dataset",
    "verify_file",
]

_LAZY = {"SpinDataModule", "TensorBatchLoader", "normalize", "random_crop_flip"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(".loader", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

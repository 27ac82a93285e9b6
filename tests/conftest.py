"""Fixtures shared by every test folder.

* ``data_root``: the real data root (``$SPINDROP_DATA_ROOT`` or ``../shared/datasets``); tests that
  need it skip where it is absent. ``tests/data`` overrides it to use a persistent test cache.
* One intra-op thread per test module: the tests use small tensors, and on a busy 2-core machine two
  threads oversubscribe the cores (a smoke training took 7 s instead of 0.3 s; core tests up to 6×
  slower). The benchmarks set their own thread count. The previous setting is restored afterwards.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from spindrop.data import DataError, resolve_data_root


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data (the runs train on MNIST); the tests skip where it is not there."""
    try:
        return resolve_data_root()
    except DataError as err:
        pytest.skip(f"real data not available: {err}")


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

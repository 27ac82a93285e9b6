"""The compiled generator of the keep bytes (spindrop/kernels/levels.c) behind
:func:`spindrop.methods.base.uniform_levels`: uniform, independent bytes, reproduced by torch's
seeding, and torch's ``random_`` where it is not built."""
from __future__ import annotations

import math

import pytest
import torch

from spindrop.kernels import levels
from spindrop.methods.base import MASK_LEVELS, uniform_levels

pytestmark = pytest.mark.skipif(not levels.available(), reason="no C compiler: the generator is not built")
CPU = torch.device("cpu")


def test_bytes_are_uniform_and_neighbours_uncorrelated():
    """2^22 bytes: every level's frequency within 4 sigma of 2^-8, and the correlation of
    neighbouring bytes (inside a word and across words) within 4 sigma of 0."""
    torch.manual_seed(11)
    u = uniform_levels((1 << 22,), CPU).long()
    n = u.numel()
    counts = torch.bincount(u, minlength=MASK_LEVELS).double()
    q = 1 / MASK_LEVELS
    assert ((counts - n * q).abs() <= 4 * math.sqrt(n * q * (1 - q))).all()
    centred = (u.double() - (MASK_LEVELS - 1) / 2) / math.sqrt((MASK_LEVELS ** 2 - 1) / 12)
    for lag in (1, 7, 8, 9):
        corr = (centred[:-lag] * centred[lag:]).mean().item()
        assert abs(corr) < 4 / math.sqrt(n - lag), (lag, corr)


def test_torch_seeding_reproduces_the_bytes_and_calls_differ():
    torch.manual_seed(5)
    a, b = uniform_levels((3, 1000), CPU), uniform_levels((3, 1000), CPU)
    torch.manual_seed(5)
    assert torch.equal(uniform_levels((3, 1000), CPU), a) and not torch.equal(a, b)


def test_parallel_and_serial_fills_agree():
    old = torch.get_num_threads()
    try:
        out = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            torch.manual_seed(2)
            out.append(levels.random_words(levels.PARALLEL_WORDS + 3))
        assert torch.equal(out[0], out[1])
    finally:
        torch.set_num_threads(old)


def test_without_the_generator_torch_random_is_used(monkeypatch):
    torch.manual_seed(5)
    compiled = uniform_levels((64,), CPU)
    monkeypatch.setattr(levels, "available", lambda: False)
    torch.manual_seed(5)
    words = torch.empty(8, dtype=torch.int64).random_(-(1 << 63), None)
    torch.manual_seed(5)
    expected = words.view(torch.uint8)
    assert torch.equal(uniform_levels((64,), CPU), expected) and not torch.equal(compiled, expected)

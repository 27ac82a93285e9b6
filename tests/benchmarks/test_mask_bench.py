"""Mask drawing is a hot path (DESIGN.md "MC inference"): the ideal sampler compares 15-bit
random integers with a threshold; gate it against ``torch.rand(shape) >= p``."""
import torch

from spindrop.methods.base import ideal_keep_mask
from .conftest import ratio_gate

SHAPE = (64, 144, 1024)  # (batch, k²·C_in, windows) of a 3×3, 16-channel conv on 32×32


def test_int_threshold_mask_not_slower_than_rand(benchmark):
    cpu = torch.device("cpu")
    ratio_gate(benchmark, lambda: ideal_keep_mask(SHAPE, (1,), 0.2, cpu),
               lambda: torch.rand(SHAPE) >= 0.2, max_ratio=1.0)

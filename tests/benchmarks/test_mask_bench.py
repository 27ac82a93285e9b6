"""Mask drawing is a hot path: the ideal sampler takes eight 8-bit lanes from each 64-bit
random word and compares them with a threshold; gate it against ``torch.rand(shape) >= p``."""
import torch

from spindrop.methods.base import ideal_keep_mask

from .conftest import full_size, ratio_gate


def test_int_threshold_mask_faster_than_rand(benchmark):
    cpu = torch.device("cpu")
    shape = (64, 144, 1024) if full_size(benchmark) else (4, 144, 64)  # 3×3, 16-channel conv, 32×32
    ratio_gate(benchmark, lambda: ideal_keep_mask(shape, (1,), 0.2, cpu),
               lambda: torch.rand(shape) >= 0.2, max_ratio=0.5)

"""MC predictions of a network on a set of uint8 images, batch by batch with seeded masks.

The runner's suites (``suites.workbench``) and :func:`spindrop.evaluate` predict through these
functions, so a network evaluated by either sees the same images, batches and masks: batch ``i``
of set ``s`` draws its masks from :func:`mask_seed` (seed, s, offset of the batch), whatever
process or machine computes it (docs/design.md "MC inference").
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from ..data import load_split, seeded_subset
from ..mc import MCOutput, mc_predict

EVAL_BATCH = 500
"""Images per MC batch (bounds the (T, B, C) probabilities held at once)."""

Normalize = Callable[[Tensor], Tensor]
"""uint8 images (N, C, H, W) → the float input of the network."""


def mask_seed(seed: int, set_name: str, offset: int) -> int:
    """Seed of the MC masks of one evaluation batch: the target's seed, the set's name (CRC-32)
    and the batch's offset, so two sets never share masks row by row."""
    return (seed * 1_000_003 + zlib.crc32(set_name.encode()) * 65_537 + offset) % (1 << 63)


def test_images(dataset: str, data_root: str | Path | None, subset: int | None) -> tuple[Tensor, Tensor]:
    """The test split of ``dataset`` as uint8 images and labels, or its seeded subset of ``subset``
    images (seed 0: the same images for every network and method)."""
    split = load_split(dataset, "test", data_root)
    idx = seeded_subset(len(split.labels), subset, seed=0)
    return (split.images, split.labels) if idx is None else (split.images[idx], split.labels[idx])


@torch.no_grad()
def predict_images(model: nn.Module, images: Tensor, normalize: Normalize, T: int, seed: int, set_name: str,
                   device: torch.device | str = "cpu") -> MCOutput:
    """T MC samples of ``model`` on uint8 ``images`` of the set ``set_name``, :data:`EVAL_BATCH`
    images at a time, the masks of each batch seeded by :func:`mask_seed`; probabilities on the CPU."""
    model = model.to(device)
    outs = [mc_predict(model, normalize(images[i:i + EVAL_BATCH]).to(device), T,
                       seed=mask_seed(seed, set_name, i))
            for i in range(0, len(images), EVAL_BATCH)]
    return MCOutput(torch.cat([o.probs.cpu() for o in outs], 1), stochastic=outs[0].stochastic)


@torch.no_grad()
def deterministic_images(model: nn.Module, images: Tensor, normalize: Normalize,
                         device: torch.device | str = "cpu") -> MCOutput:
    """One pass with the masks off (every site at its expectation), as a T = 1 output."""
    model = model.to(device).eval()
    probs = [model(normalize(images[i:i + EVAL_BATCH]).to(device)).softmax(-1).cpu()
             for i in range(0, len(images), EVAL_BATCH)]
    return MCOutput(torch.cat(probs).unsqueeze(0))

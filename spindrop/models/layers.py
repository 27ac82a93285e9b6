"""Building blocks shared by the topologies."""
from __future__ import annotations

import torch
from torch import nn

from ..binary import BinaryConv2d, BinaryLinear


def conv_bn(c_in: int, c_out: int, k: int, padding: int, binary_input: bool = True,
            pool: bool = False) -> list[nn.Module]:
    """Binary conv → [2×2 max-pool] → BatchNorm (BinaryNet ordering)."""
    layers: list[nn.Module] = [BinaryConv2d(c_in, c_out, k, padding=padding, binary_input=binary_input)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers.append(nn.BatchNorm2d(c_out))
    return layers


def fc_bn(n_in: int, n_out: int, binary_input: bool = True) -> list[nn.Module]:
    """Binary fully connected layer → BatchNorm."""
    return [BinaryLinear(n_in, n_out, binary_input=binary_input), nn.BatchNorm1d(n_out)]


def classifier(n_in: int, num_classes: int) -> list[nn.Module]:
    """Binary-weight classifier on full-precision inputs, with a final BatchNorm (BinaryNet)."""
    return fc_bn(n_in, num_classes, binary_input=False)


@torch.no_grad()
def flat_size(features: nn.Sequential, in_shape: tuple[int, int, int]) -> int:
    """Number of features ``features`` produces for one input of ``in_shape``."""
    was_training = features.training
    features.eval()
    n = features(torch.zeros(1, *in_shape)).numel()
    features.train(was_training)
    return n

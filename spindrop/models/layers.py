"""Building blocks shared by the topologies."""
from __future__ import annotations

import torch
from torch import nn

from ..binary import BinaryConv2d, BinaryLinear


class MaxPool2x2(nn.MaxPool2d):
    """2×2 max-pooling with stride 2 (``nn.MaxPool2d(2)``).

    Without autograd, on a channels-last map with even sides (the bit-packed path's output,
    docs/performance.md) it takes the maximum of row pairs, then of column pairs, as two
    ``torch.maximum`` of strided views: the same maxima (NaN propagates in both) without the indices
    ``max_pool2d`` computes on the CPU, ~1.7× faster there. Elsewhere it is ``nn.MaxPool2d(2)``.
    """

    def __init__(self) -> None:
        super().__init__(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (torch.is_grad_enabled() or x.dim() != 4 or x.shape[2] % 2 or x.shape[3] % 2
                or not x.is_contiguous(memory_format=torch.channels_last)):
            return super().forward(x)
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).view(n, h // 2, 2, w // 2, 2 * c)
        pairs = torch.maximum(rows[:, :, 0], rows[:, :, 1]).view(n, h // 2, w // 2, 2, c)
        return torch.maximum(pairs[..., 0, :], pairs[..., 1, :]).permute(0, 3, 1, 2)


def conv_bn(c_in: int, c_out: int, k: int, padding: int, binary_input: bool = True,
            pool: bool = False) -> list[nn.Module]:
    """Binary conv → [2×2 max-pool] → BatchNorm (BinaryNet ordering)."""
    layers: list[nn.Module] = [BinaryConv2d(c_in, c_out, k, padding=padding, binary_input=binary_input)]
    if pool:
        layers.append(MaxPool2x2())
    layers.append(nn.BatchNorm2d(c_out))
    return layers


def fc_bn(n_in: int, n_out: int, binary_input: bool = True) -> list[nn.Module]:
    """Binary fully connected layer → BatchNorm."""
    return [BinaryLinear(n_in, n_out, binary_input=binary_input), nn.BatchNorm1d(n_out)]


def classifier(n_in: int, num_classes: int, binary_input: bool = False) -> list[nn.Module]:
    """Binary-weight classifier with a final BatchNorm.

    binary_input=False (default): it reads the full-precision BatchNorm outputs of the layer before,
    so it is no dropout site (docs/design.md "Interpretations"). True: the BinaryNet last layer
    (Courbariaux et al. 2016, arXiv 1602.02830, binarise every layer's input but the first's): it
    binarises its input, so it is a crossbar layer with binary word lines and every method puts a
    dropout site on it, as MC-Dropout (Gal & Ghahramani 2016) puts dropout before every weight layer.
    """
    return fc_bn(n_in, num_classes, binary_input=binary_input)


@torch.no_grad()
def flat_size(features: nn.Sequential, in_shape: tuple[int, int, int]) -> int:
    """Number of features ``features`` produces for one input of ``in_shape``."""
    was_training = features.training
    features.eval()
    n = features(torch.zeros(1, *in_shape)).numel()
    features.train(was_training)
    return n

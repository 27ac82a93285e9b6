"""Dropout sites shared by several methods.

All gate the *binarised* input of a layer (DESIGN.md "Where the mask acts"): the MAC sees
x_b ⊙ m with m ∈ {0, 1} (or {0, 1/(1−p)} with rescaling), so a dropped input adds 0.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..binary import BinaryConv2d, BinaryLayer
from .base import DropoutSite


class ElementwiseSite(DropoutSite):
    """One Bernoulli bit per input element and sample (Gal & Ghahramani 2016 on the layer input).

    For a conv layer the bit of an input element is held while the k² windows that read it
    reuse it. Physical modules: every input element.
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        return layer.mac(x * self.keep(shape, tuple(range(1, x.dim())), x))


class ChannelSite(DropoutSite):
    """One Bernoulli bit per (sample, input channel), broadcast over H×W (Dropout2d semantics).

    MC-SpatialDropout (Ahmed et al., arXiv 2306.10185): one module gates the k² word lines of
    its channel. On a fully connected layer every input is its own channel.
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        shape = tuple(x.shape[:2]) + (1,) * (x.dim() - 2)
        return layer.mac(x * self.keep(shape, (1,), x))


class WordLineSite(DropoutSite):
    """One Bernoulli bit per crossbar word line, re-drawn at every window position (SpinDrop,
    Ahmed et al., JETCAS 2023).

    A conv layer is evaluated as unfold → mask → matmul: the im2col matrix X of shape
    (B, k²·C_in, L) with L = H_out·W_out is gated element-wise, y = W · (X ⊙ M) with
    W of shape (C_out, k²·C_in). On a fully connected layer the word lines are the inputs.
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        if not isinstance(layer, BinaryConv2d):
            return layer.mac(x * self.keep(tuple(x.shape), (1,), x))
        cols = F.unfold(x, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
        cols = cols * self.keep(tuple(cols.shape), (1,), cols)
        w = layer.binary_weight().flatten(1)
        out = w @ cols
        h_out, w_out = _conv_out_hw(layer, x)
        return out.view(x.shape[0], layer.out_channels, h_out, w_out)


def _conv_out_hw(layer: BinaryConv2d, x: Tensor) -> tuple[int, int]:
    sizes = []
    for i, n in enumerate(x.shape[-2:]):
        k, s, pad, d = layer.kernel_size[i], layer.stride[i], layer.padding[i], layer.dilation[i]
        sizes.append((n + 2 * pad - d * (k - 1) - 1) // s + 1)
    return sizes[0], sizes[1]

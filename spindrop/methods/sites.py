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
        return layer.mac(self.gate(x, shape, tuple(range(1, x.dim()))))


class ChannelSite(DropoutSite):
    """One Bernoulli bit per (sample, input channel), broadcast over H×W (Dropout2d semantics).

    MC-SpatialDropout (Ahmed et al., arXiv 2306.10185): one module gates the k² word lines of
    its channel. On a fully connected layer every input is its own channel.
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        shape = tuple(x.shape[:2]) + (1,) * (x.dim() - 2)
        return layer.mac(self.gate(x, shape, (1,)))


class WordLineSite(DropoutSite):
    """One Bernoulli bit per crossbar word line, re-drawn at every window position (SpinDrop,
    Ahmed et al., JETCAS 2023).

    A conv layer is evaluated as im2col → mask → matmul: the patch tensor X of shape
    (B, C_in, k_h, k_w, H_out, W_out), i.e. the (B, k²·C_in, L) im2col matrix with
    L = H_out·W_out, is gated element-wise and y = W · (X ⊙ M) with W of shape (C_out, k²·C_in).
    X is a strided view of the padded input (``Tensor.unfold``), so the only copy is the masked
    product; ``F.unfold`` (aten::im2col) was 4× slower on the CPU
    (tests/benchmarks/test_spindrop_bench.py). On a fully connected layer the word lines are the
    inputs.
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        if not isinstance(layer, BinaryConv2d):
            return layer.mac(self.gate(x, tuple(x.shape), (1,)))
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
        padded = F.pad(x, (pw, pw, ph, ph))
        patches = padded.unfold(2, kh, sh).unfold(3, kw, sw).permute(0, 1, 4, 5, 2, 3)
        masked = self.gate(patches, tuple(patches.shape), (1, 2, 3))
        batch, _, _, _, h_out, w_out = masked.shape
        out = layer.binary_weight().flatten(1) @ masked.reshape(batch, -1, h_out * w_out)
        return out.view(batch, layer.out_channels, h_out, w_out)

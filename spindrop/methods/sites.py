"""Dropout sites shared by several methods.

All gate the *binarised* input of a layer (DESIGN.md "Where the mask acts"): the MAC sees
x_b ⊙ m with m ∈ {0, 1} (or {0, 1/(1−p)} with rescaling), so a dropped input adds 0.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..binary import BinaryConv2d, BinaryLayer
from ..geometry import reads_map
from .base import DropoutConfig, DropoutSite


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
    its channel. On a fully connected layer every input is its own channel, unless the site
    :meth:`watch`-es the ``nn.Flatten`` that feeds the layer: then the layer's inputs are the
    flattened (C, H, W) map (channel-major) and one bit per (sample, channel) gates that
    channel's H·W inputs (``fc_grouping="channel"``, docs/design.md).
    """

    def __init__(self, config: DropoutConfig) -> None:
        super().__init__(config)
        self.in_map: tuple[int, ...] | None = None

    def watch(self, flatten: nn.Flatten) -> None:
        """Record, at every forward of ``flatten``, the shape of the map it flattens (one image).

        The hook stays on ``flatten``; attaching another method replaces the site but not the
        hook, which then writes into the detached site only.
        """
        flatten.register_forward_hook(self._record_map)

    def _record_map(self, module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
        self.in_map = tuple(args[0].shape[1:])

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        in_map = reads_map(self.in_map, x.shape[1]) if x.dim() == 2 else None
        if in_map is not None:
            grouped = x.reshape(x.shape[0], in_map[0], in_map[1] * in_map[2])
            return layer.mac(self.gate(grouped, (x.shape[0], in_map[0], 1), (1,)).reshape(x.shape))
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

"""Dropout sites shared by several methods.

All gate the *binarised* input of a layer (docs/design.md "How a method attaches"): the MAC sees
x_b ⊙ m with m ∈ {0, 1} (or {0, 1/(1−p)} with rescaling), so a dropped input adds 0.
"""
from __future__ import annotations

from typing import Any  # autograd's ctx: it carries this function's own attributes (geometry, flat_shape)

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..binary import BinaryConv2d, BinaryLayer
from ..geometry import reads_map
from ..kernels import bitpack
from ..kernels import wordline as wordline_kernel
from .base import DropoutConfig, DropoutSite, ideal_keep_mask, keep_threshold


class ElementwiseSite(DropoutSite):
    """One Bernoulli bit per input element and sample (Gal & Ghahramani 2016 on the layer input).

    For a conv layer the bit of an input element is held while the k² windows that read it
    reuse it. Physical modules: every input element.
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        return layer.mac(self.gate(x, shape, tuple(range(1, x.dim()))))

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None:
        if not self.stochastic or self.config.rescale:
            return None
        keep, threshold = self.keep_bits(tuple(x.shape), tuple(range(1, x.dim())), x.device)
        return layer.packed_mac(x, keep, threshold)


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

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None:
        if not self.stochastic or self.config.rescale:
            return None
        in_map = reads_map(self.in_map, x.shape[1]) if x.dim() == 2 else None
        if in_map is not None:  # one bit per channel of the flattened map, as in sample
            keep, threshold = self.keep_bits((x.shape[0], in_map[0], 1), (1,), x.device)
            keep = keep.expand(x.shape[0], in_map[0], in_map[1] * in_map[2]).reshape(x.shape)
            return layer.packed_mac(x, keep, threshold)
        keep, threshold = self.keep_bits(tuple(x.shape[:2]) + (1,) * (x.dim() - 2), (1,), x.device)
        return layer.packed_mac(x, keep, threshold)


class WordLineSite(DropoutSite):
    """One Bernoulli bit per crossbar word line, re-drawn at every window position (SpinDrop,
    Ahmed et al., JETCAS 2023): y[b, :, l] = W · (X[b, :, l] ⊙ M[b, :, l]) with W of shape
    (C_out, k²·C_in), X the (k²·C_in, L) im2col matrix of image b and M i.i.d. keep bits, one
    per (image, word line, window). On a fully connected layer the word lines are the inputs.

    Compiled path (stride 1, dilation 1: every conv of the models here; fp32 on the CPU; the ideal
    sampler or one with per-module thresholds, the device model's ``module_thresholds``):
    :func:`spindrop.kernels.wordline.wordline_conv` draws the bits, gates the patches and multiplies
    them tile by tile, so the expanded patch matrix never reaches memory.

    Torch fast path (the same convolutions elsewhere: the GPU, another sampler, or no C
    compiler), :class:`_WordLineMac`. Flatten each channel of the padded input (width W_p); tap
    (i, j) of window (h, w) reads element (h + i)·W_p + (w + j) = i·W_p + j + m with
    m = h·W_p + w, so for every tap the windows are one contiguous run of L' = H_out·W_p elements
    (two ``Tensor.unfold``). The W_p − W_out windows per row that wrap into the next row are
    computed and cropped; their bits are drawn but reach no output. The gated patches are written
    once, as the per-image (k²·C_in, L') im2col matrices, multiplied by W image by image (a
    batched GEMM), and the backward pass is written out (no generic ``unfold`` backward,
    docs/performance.md). The batch is cut into chunks of at most ``MAX_PATCH_ELEMENTS`` patch
    entries to bound memory (on a GPU ``MAX_PATCH_ELEMENTS_GPU``: fewer, larger launches). Zero-padding
    entries are 0, so their bits change nothing. Under autocast (bf16 training, docs/gpu.md) the
    patches, mask and W are multiplied in the input's dtype and the gradients returned in their
    inputs' dtypes.

    Other strides take :func:`wordline_mac_reference`, the plain implementation, which is also
    the reference of both fast paths (tests/core/test_wordline_fast.py,
    tests/core/test_wordline_kernel.py).
    """

    MAX_PATCH_ELEMENTS = 1 << 24  # 64 MiB of fp32 patches per chunk
    MAX_PATCH_ELEMENTS_GPU = 1 << 28  # 1 GiB of fp32 (512 MiB of bf16) patches per chunk on a GPU

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        if not isinstance(layer, BinaryConv2d):
            return layer.mac(self.gate(x, tuple(x.shape), (1,)))
        if tuple(layer.stride) != (1, 1) or tuple(layer.dilation) != (1, 1) or layer.groups != 1:
            return wordline_mac_reference(self, layer, x)
        (kh, kw), (ph, pw) = layer.kernel_size, layer.padding
        thresholds = self._word_line_thresholds((x.shape[1], kh, kw), x.device) \
            if wordline_kernel.supports(x) else None
        if thresholds is not None:
            scale = 1.0 / (1.0 - self.config.p) if self.config.rescale else 1.0
            return wordline_kernel.wordline_conv(x, layer.binary_weight().flatten(1), (kh, kw), (ph, pw),
                                                 thresholds, scale)
        batch, channels, height, width = x.shape
        wp = width + 2 * pw
        h_out, w_out = height + 2 * ph - kh + 1, wp - kw + 1
        n = h_out * wp
        # one extra zero row below: the last tap of the last (cropped) windows reads past the plane
        flat = F.pad(x, (pw, pw, ph, ph + 1)).flatten(2)
        weight = layer.binary_weight().flatten(1)
        limit = self.MAX_PATCH_ELEMENTS if x.device.type == "cpu" else self.MAX_PATCH_ELEMENTS_GPU
        step = max(1, limit // (channels * kh * kw * n))
        outs = []
        for start in range(0, batch, step):
            chunk = flat[start:start + step]
            mask = self._window_mask((chunk.shape[0], channels, kh, kw, n), h_out, w_out, x.dtype, x.device)
            outs.append(_WordLineMac.apply(chunk, weight, mask, (kh, kw, wp, n)))
        out = torch.cat(outs) if len(outs) > 1 else outs[0]
        return out.view(batch, layer.out_channels, h_out, wp)[..., :w_out]

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None:
        """Bit-packed: on a fully connected layer one bit per input (its word lines are its
        inputs); on a stride-1 conv the bits of the compiled kernel's stream, drawn in the packed
        kernel with the seed and thresholds :meth:`sample` would use
        (:func:`spindrop.kernels.bitpack.wordline_mac`), so both paths compute the same numbers."""
        if not self.stochastic or self.config.rescale:
            return None
        if not isinstance(layer, BinaryConv2d):
            keep, threshold = self.keep_bits(tuple(x.shape), (1,), x.device)
            return layer.packed_mac(x, keep, threshold)
        if tuple(layer.stride) != (1, 1) or not wordline_kernel.supports(x):
            return None
        (kh, kw), channels = layer.kernel_size, x.shape[1]
        thresholds = self._word_line_thresholds((channels, kh, kw), x.device)
        if thresholds is None:
            return None
        rows = wordline_kernel.word_line_thresholds(thresholds, channels * kh * kw)
        return bitpack.wordline_mac(x, layer.weight, rows, wordline_kernel.draw_seed(), layer.padding)

    def _word_line_thresholds(self, rows: tuple[int, int, int], device: torch.device) -> Tensor | int | None:
        """Keep thresholds on the 8-bit grid of the word lines ``rows`` = (C_in, k_h, k_w): one for
        all with the ideal sampler, per module from a sampler with ``module_thresholds`` (the
        device model), None for any other sampler (its bits are drawn by the sampler itself)."""
        if self.sampler is ideal_keep_mask:
            return keep_threshold(self.config.p)
        module_thresholds = getattr(self.sampler, "module_thresholds", None)
        return None if module_thresholds is None else module_thresholds(rows, self.config.p, device)

    def _window_mask(self, shape: tuple[int, ...], h_out: int, w_out: int, dtype: torch.dtype,
                     device: torch.device) -> Tensor:
        """Keep multipliers of ``shape`` = (B, C_in, k_h, k_w, H_out·W_p). The ideal sampler draws
        the wrap-around windows too (their bits reach no output); any other sampler is asked for
        the true windows, (B, C_in, k_h, k_w, H_out, W_out), one bit per (image, word line, window)
        as the :data:`~spindrop.methods.base.MaskSampler` protocol says, and the mask is
        zero-padded to W_p."""
        if self.sampler is ideal_keep_mask:
            return self.keep_multiplier(shape, (1, 2, 3), dtype, device)
        mask = self.keep_multiplier((*shape[:4], h_out, w_out), (1, 2, 3), dtype, device)
        return F.pad(mask, (0, shape[4] // h_out - w_out)).flatten(4)


class ImageWordLineSite(DropoutSite):
    """One Bernoulli bit per (image, crossbar word line), reused by every window position of that
    image (SpinDrop with ``redraw="image"``): y[b, :, l] = W · (X[b, :, l] ⊙ m[b]) for every window l.

    Gating word line r of image b at every window is zeroing column r of W for that image, so the
    conv runs as one grouped convolution with per-image weights W ⊙ m_b (groups = batch): any
    stride and padding, autograd's backward. The bits are drawn with ``module_dims`` = the word
    lines (C_in, k_h, k_w), as by :class:`WordLineSite`, so a device model draws the same modules.
    On a fully connected layer the word lines are the inputs (one window: as :class:`WordLineSite`).
    """

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        if not isinstance(layer, BinaryConv2d):
            return layer.mac(self.gate(x, tuple(x.shape), (1,)))
        batch, channels = x.shape[:2]
        kh, kw = layer.kernel_size
        keep = self.keep_multiplier((batch, channels, kh, kw), (1, 2, 3), x.dtype, x.device)
        weights = (layer.binary_weight().unsqueeze(0) * keep.unsqueeze(1)).flatten(0, 1)
        out = F.conv2d(x.reshape(1, batch * channels, *x.shape[2:]), weights, None, layer.stride,
                       layer.padding, layer.dilation, groups=batch)
        return out.view(batch, layer.out_channels, *out.shape[2:])


class _WordLineMac(torch.autograd.Function):
    """out[b] = W · (M ⊙ X)[b] for one chunk, with X the row-flattened patches of ``flat``
    (B, C_in, L) and M the keep multipliers, both (B, C_in, k_h, k_w, L').

    Forward: the gated patches are written into ``mask`` (one pass) and multiplied by W image by
    image, (C_out, K) × (K, L') with K = k²·C_in (``torch.bmm`` on the expanded W: ``matmul``
    would fold the batch into a transposed copy). Backward: ∂W = Σ_b G_b·(M ⊙ X)_bᵀ and
    ∂(M ⊙ X) = Wᵀ·G are batched GEMMs; ∂X = M ⊙ Wᵀ·G, and col2im is k² shifted slice-adds (tap
    (i, j) reads the flat input at offset i·W_p + j). M is kept for the backward pass only when
    the input needs a gradient; otherwise the gated patches overwrite it.
    """

    @staticmethod
    def forward(ctx: Any, flat: Tensor, weight: Tensor, mask: Tensor, geometry: tuple[int, int, int, int]) -> Tensor:
        kh, kw, wp, n = geometry
        batch = flat.shape[0]
        patches = flat.unfold(2, n + kw - 1, wp)[:, :, :kh].unfold(3, n, 1)
        ctx.dtypes = flat.dtype, weight.dtype
        weight = weight.to(mask.dtype)  # bf16 under autocast: cast once, not the batch of its expanded copies
        if ctx.needs_input_grad[0]:
            gated = torch.mul(mask, patches).view(batch, -1, n)
            ctx.save_for_backward(weight, gated, mask)
        else:
            gated = mask.mul_(patches).view(batch, -1, n)
            ctx.save_for_backward(weight, gated)
        ctx.geometry, ctx.flat_shape = geometry, flat.shape
        return torch.bmm(weight.expand(batch, *weight.shape), gated)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        weight, gated, *mask = ctx.saved_tensors
        kh, kw, wp, n = ctx.geometry
        batch, channels, _ = ctx.flat_shape
        flat_dtype, weight_dtype = ctx.dtypes
        grad = grad.to(gated.dtype)  # autocast's bmm may have returned another dtype than the patches'
        grad_weight = (torch.bmm(grad, gated.transpose(1, 2)).sum(0).to(weight_dtype)
                       if ctx.needs_input_grad[1] else None)
        grad_flat = None
        if ctx.needs_input_grad[0]:
            taps = torch.bmm(weight.t().expand(batch, *weight.t().shape), grad)
            taps = taps.view(batch, channels, kh, kw, n).mul_(mask[0])
            grad_flat = grad.new_zeros(ctx.flat_shape)
            for i in range(kh):
                for j in range(kw):
                    offset = i * wp + j
                    grad_flat[:, :, offset:offset + n] += taps[:, :, i, j]
            grad_flat = grad_flat.to(flat_dtype)
        return grad_flat, grad_weight, None, None


def wordline_mac_reference(site: DropoutSite, layer: BinaryConv2d, x: Tensor) -> Tensor:
    """SpinDrop's conv MAC, plainly: the patch tensor (B, C_in, k_h, k_w, H_out, W_out) as a
    strided view of the padded input (``Tensor.unfold``), gated by ``site.gate`` and multiplied
    by W as the (B, k²·C_in, L) im2col matrix."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    padded = F.pad(x, (pw, pw, ph, ph))
    patches = padded.unfold(2, kh, sh).unfold(3, kw, sw).permute(0, 1, 4, 5, 2, 3)
    masked = site.gate(patches, tuple(patches.shape), (1, 2, 3))
    batch, _, _, _, h_out, w_out = masked.shape
    out = layer.binary_weight().flatten(1) @ masked.reshape(batch, -1, h_out * w_out)
    return out.view(batch, layer.out_channels, h_out, w_out)

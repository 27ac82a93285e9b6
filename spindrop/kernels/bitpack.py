"""Bit-packed XNOR-popcount MAC of a binary-input layer (``bitpack.c``), for inference.

The input entries are ternary: v = sign(x) ∈ {−1, +1} where the keep byte is ≥ the threshold, 0
where it is not (a dropped input) and 0 in the zero padding. With a the sign bits of the window,
w those of the weights and k the bits that count (kept, not padding), the MAC of ±1 values is

    Σ v·w = popcount(k) − 2·popcount((a XOR w) AND k),

an integer, so the result equals the fp32 convolution of the same ternary input bit for bit
(fp32 adds integers below 2^24 exactly). The keep bytes are the ones the fp32 path draws (the
caller passes them), so under one seed both paths compute the same numbers
(tests/core/test_bitpack.py). Where the kernel cannot be built, :func:`available` is False and
the fp32 path runs. docs/performance.md, "The bit-packed inference path".
"""
from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any  # ctypes argument types

import torch
from torch import Tensor
from torch.utils.weak import WeakTensorKeyDictionary

from .build import load

_SOURCE = Path(__file__).with_name("bitpack.c")
_I, _P, _INT = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
_ARGS: list[type[Any]] = [_P, _P, _P, _P, _INT, _P, _P, _P, *[_I] * 11, _INT]
_VW = 8  # output channels per vector in bitpack.c


@cache
def _library() -> ctypes.CDLL | None:
    lib = load(_SOURCE)
    if lib is not None:
        lib.bp_conv.argtypes = _ARGS
        lib.bp_wordline_conv.argtypes = [_P, _P, _P, ctypes.c_uint64, _P, _P, *[_I] * 9, _INT, _INT]
        lib.bp_wordline_conv.restype = _INT
        lib.bp_pack_weights.argtypes = [_P, _P, *[_I] * 4]
        lib.bp_force_portable.argtypes = [_INT]
        lib.bp_vector_popcount.restype = _INT
    return lib


def _kernel() -> ctypes.CDLL:
    lib = _library()
    if lib is None:
        raise RuntimeError("the bit-packed kernel is not available here: check kernels.bitpack.supports first")
    return lib


def available() -> bool:
    """Whether the compiled kernel can be used (built here, and not turned off)."""
    return _library() is not None


_ON = [True]


@contextmanager
def turned_off() -> Iterator[None]:
    """Run binary layers on the fp32 path inside the block (the reference of tests and gates)."""
    previous = _ON[0]
    _ON[0] = False
    try:
        yield
    finally:
        _ON[0] = previous


def supports(x: Tensor) -> bool:
    """Whether the kernel can take the input ``x``: fp32 on the CPU, the kernel available and not
    :func:`turned_off`."""
    return _ON[0] and x.device.type == "cpu" and x.dtype == torch.float32 and available()


def vector_popcount() -> bool:
    """Whether the AVX-512 VPOPCNTDQ popcount runs (compiled for this CPU and not forced off)."""
    lib = _library()
    return lib is not None and bool(lib.bp_vector_popcount())


def force_portable(on: bool) -> None:
    """Use the compiler's scalar popcount instead of VPOPCNTDQ (the path of a CPU without it)."""
    lib = _library()
    if lib is not None:
        lib.bp_force_portable(int(on))


_ALL_KEPT = torch.ones(1, dtype=torch.uint8)
_PACKED = WeakTensorKeyDictionary()  # weight -> ((version, data_ptr, shape), packed bits)


def _packed_weights(lib: ctypes.CDLL, weight: Tensor) -> Tensor:
    """The sign bits of ``weight`` (O, C, k_h, k_w) or (O, N) as the kernel reads them, packed once
    per version of the tensor (an optimiser step, ``copy_`` or new storage packs it again):
    (k_h·⌈k_w·C/64⌉ words, O rounded up to 8)."""
    stamp = (weight._version, weight.data_ptr(), weight.shape)
    cached = _PACKED.get(weight)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    dense = weight.detach()
    dense = (dense[:, :, None, None] if dense.dim() == 2 else dense).contiguous()
    out_channels, channels, kh, kw = dense.shape
    packed = torch.empty(kh * -(-kw * channels // 64), -(-out_channels // _VW) * _VW, dtype=torch.int64)
    lib.bp_pack_weights(dense.data_ptr(), packed.data_ptr(), out_channels, channels, kh, kw)
    _PACKED[weight] = (stamp, packed)
    return packed


def binary_mac(x: Tensor, weight: Tensor, keep: Tensor | None = None, threshold: int = 1,
               stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
               scale: Tensor | None = None) -> Tensor:
    """MAC of sign(``x``) gated by ``keep`` ≥ ``threshold`` with the signs of ``weight``, times
    ``scale`` (fp32 (B, O) or (1, O), one factor per image and output channel) unless it is None:
    the one fp32 product the fp32 path computes as ``mac · scale``, so the same number.

    Conv: ``x`` (B, C, H, W) in any memory layout, ``weight`` (O, C, k_h, k_w), zero ``padding``,
    ``stride``, dilation 1; out (B, O, H_out, W_out) in channels-last memory format (pooling and
    BatchNorm are fastest there, and the next layer packs a pixel's channels from one run).
    Fully connected: ``x`` (B, N), ``weight`` (O, N); out (B, O).
    ``keep``: uint8 (or bool with ``threshold`` 1) broadcastable to ``x``; None keeps every entry.
    """
    lib = _kernel()
    fc = x.dim() == 2
    if keep is None:
        keep, threshold = _ALL_KEPT, 1
    keep = (keep.view(torch.uint8) if keep.dtype == torch.bool else keep).expand(x.shape)
    packed = _packed_weights(lib, weight)
    if fc:
        x, keep = x[:, :, None, None], keep[:, :, None, None]
    x = _readable(x)
    batch, channels, height, width = x.shape
    out_channels, (kh, kw) = weight.shape[0], ((1, 1) if fc else weight.shape[2:])
    h_out = (height + 2 * padding[0] - kh) // stride[0] + 1
    w_out = (width + 2 * padding[1] - kw) // stride[1] + 1
    out = x.new_empty(batch, h_out, w_out, out_channels)
    strides = torch.tensor([*x.stride(), *keep.stride()], dtype=torch.int64)
    factors = None if scale is None else scale.to(torch.float32).expand(batch, out_channels).contiguous()
    lib.bp_conv(x.data_ptr(), strides.data_ptr(), keep.data_ptr(), strides[4:].data_ptr(), threshold,
                packed.data_ptr(), None if factors is None else factors.data_ptr(), out.data_ptr(), batch,
                channels, height, width, out_channels, kh, kw, *stride, *padding, torch.get_num_threads())
    return out.view(batch, out_channels) if fc else out.permute(0, 3, 1, 2)


def _readable(x: Tensor) -> Tensor:
    """``x`` in a layout the kernel reads: NCHW or channels-last (a pixel's channels contiguous)."""
    return x if x.stride(-1) == 1 or x.stride(1) == 1 else x.contiguous()


def wordline_mac(x: Tensor, weight: Tensor, thresholds: Tensor, seed: int, padding: tuple[int, int],
                 binary_only: bool = False) -> Tensor | None:
    """SpinDrop's word-line-gated MAC of sign(``x``), bit-packed: stride 1, zero ``padding``.

    ``x`` (B, C, H, W) in any memory layout, ``weight`` (O, C, k_h, k_w), ``thresholds`` int32, one
    per word line (k²·C, ordered (c, i, j)): the input of word line r in window l is kept iff byte
    (image, r, l) of the stream seeded by ``seed`` is ≥ ``thresholds[r]``, the bits
    :func:`spindrop.kernels.wordline.wordline_conv` draws with the same seed, so the two are equal
    (tests/core/test_bitpack.py). Out (B, O, H_out, W_out) in channels-last memory format.
    ``binary_only``: None unless every entry of ``x`` is +1 or −1 (checked while packing), for a
    caller whose fp32 path multiplies the real values (training: that path does not binarise).
    """
    lib = _kernel()
    x = _readable(x)
    batch, channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    rows = thresholds.to(torch.int32).contiguous()
    if rows.numel() != channels * kh * kw:
        raise ValueError(f"{rows.numel()} keep thresholds for {channels * kh * kw} word lines")
    h_out, w_out = height + 2 * padding[0] - kh + 1, width + 2 * padding[1] - kw + 1
    out = x.new_empty(batch, h_out, w_out, out_channels)
    strides = torch.tensor(x.stride(), dtype=torch.int64)
    packed = _packed_weights(lib, weight)
    done = lib.bp_wordline_conv(x.data_ptr(), strides.data_ptr(), rows.data_ptr(), seed, packed.data_ptr(),
                                out.data_ptr(), batch, channels, height, width, out_channels, kh, kw, *padding,
                                int(binary_only), torch.get_num_threads())
    return out.permute(0, 3, 1, 2) if done else None

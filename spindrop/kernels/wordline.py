"""SpinDrop's word-line-gated convolution as one compiled kernel (``wordline.c``).

y[b, :, l] = W · (M ⊙ X)[b, :, l] for a stride-1 convolution, X the (k²·C_in, L) im2col matrix
of image b and M one keep bit per (image, word line, window), as in
:class:`spindrop.methods.sites.WordLineSite`. The kernel draws the bits, gates the patches and
multiplies them by W tile by tile (64 windows), so the k²-times expanded patch matrix is never
written to memory; the backward pass regenerates the same bits from the seed.

Bits: byte n of a SplitMix64 stream (Steele, Lea & Flood, OOPSLA 2014) seeded per call from
torch's generator (so ``torch.manual_seed`` and ``mc_predict(seed=…)`` reproduce them); keep iff
the byte ≥ t_k, the threshold of word line k: round(p·2^8) for every word line with ideal masks
(p realised to 2^-8, as by :func:`spindrop.methods.base.ideal_keep_mask`), round(p_k·2^8) for a
device model's modules (``module_thresholds`` of :class:`hardware.sampler.DeviceMaskSampler`;
2^8 = stuck at drop). :func:`keep_mask` writes the bits of a call, so the
reference implementation can be run on the same mask (tests/core/test_wordline_kernel.py).
"""
from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path
from typing import Any  # autograd's ctx; ctypes argument types

import torch
import torch.nn.functional as F
from torch import Tensor

from . import bitpack
from .build import load

_SOURCE = Path(__file__).with_name("wordline.c")
_I, _U, _F, _P, _INT = ctypes.c_int64, ctypes.c_uint64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int
_GEOMETRY: list[type[Any]] = [_I] * 7  # B, C, Hp, Wp, kh, kw, O
_DRAW: list[type[Any]] = [_U, _P, _F]  # seed, thresholds (int32 per word line), keep multiplier


@cache
def _library() -> ctypes.CDLL | None:
    lib = load(_SOURCE)
    if lib is not None:
        lib.wl_forward.argtypes = [_P, _P, _P, *_GEOMETRY, *_DRAW, _INT]
        lib.wl_backward.argtypes = [_P, _P, _P, _P, _P, *_GEOMETRY, *_DRAW, _INT]
        lib.wl_keep_mask.argtypes = [_P, *_GEOMETRY[:6], *_DRAW]
    return lib


def _kernel() -> ctypes.CDLL:
    lib = _library()
    if lib is None:
        raise RuntimeError("the compiled SpinDrop kernel is not available here: check kernels.wordline.supports first")
    return lib


def available() -> bool:
    """Whether the compiled kernel can be used (built here, and not turned off)."""
    return _library() is not None


def supports(x: Tensor) -> bool:
    """Whether the kernel can take the input ``x``: fp32 on the CPU, and the kernel available."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and available()


def draw_seed() -> int:
    """A 63-bit seed from torch's default CPU generator."""
    return int(torch.empty((), dtype=torch.int64).random_())


def _geometry(padded: Tensor, weight: Tensor, kernel: tuple[int, int]) -> list[int]:
    batch, channels, hp, wp = padded.shape
    return [batch, channels, hp, wp, kernel[0], kernel[1], weight.shape[0]]


def word_line_thresholds(thresholds: Tensor | int, rows: int) -> Tensor:
    """Keep thresholds as the kernel reads them: int32, one per word line (``rows`` = k²·C_in,
    ordered (c, i, j)); an int is every word line's."""
    if isinstance(thresholds, int):
        return torch.full((rows,), thresholds, dtype=torch.int32)
    flat = thresholds.reshape(-1).to(device="cpu", dtype=torch.int32).contiguous()
    if flat.numel() != rows:
        raise ValueError(f"{flat.numel()} keep thresholds for {rows} word lines")
    return flat


def _packed_forward(signs: tuple[Tensor, tuple[int, int]], weight: Tensor, kernel: tuple[int, int],
                    thresholds: Tensor, seed: int) -> Tensor | None:
    """The forward's integers from the bit-packed kernel (``signs`` = the unpadded input and its
    padding), in the fp32 kernel's layout; None unless the input is all ±1."""
    x, padding = signs
    shape = (weight.shape[0], x.shape[1], *kernel)
    out = bitpack.wordline_mac(x, weight.view(shape), thresholds, seed, padding, binary_only=True)
    return None if out is None else out.contiguous()


class WordLineConv(torch.autograd.Function):
    """``out = WordLineConv.apply(padded, weight, kernel, thresholds, scale, seed)``: ``padded`` the
    zero-padded input (B, C_in, H_p, W_p), ``weight`` (C_out, k²·C_in), ``thresholds`` int32 (k²·C_in,)
    (:func:`word_line_thresholds`); out (B, C_out, H_out, W_out)."""

    @staticmethod
    def forward(ctx: Any, padded: Tensor, weight: Tensor, kernel: tuple[int, int], thresholds: Tensor,
                scale: float, seed: int, signs: tuple[Tensor, tuple[int, int]] | None = None) -> Tensor:
        padded, weight = padded.contiguous(), weight.contiguous()
        batch, _, hp, wp = padded.shape
        out = None if signs is None else _packed_forward(signs, weight, kernel, thresholds, seed)
        if out is None:
            h_out, w_out = hp - kernel[0] + 1, wp - kernel[1] + 1
            out = padded.new_empty(batch, weight.shape[0], h_out, w_out)
            _kernel().wl_forward(padded.data_ptr(), weight.data_ptr(), out.data_ptr(),
                                  *_geometry(padded, weight, kernel), seed, thresholds.data_ptr(), scale,
                                  torch.get_num_threads())
        ctx.save_for_backward(padded, weight, thresholds)
        ctx.draw = (kernel, scale, seed)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None, None, None]:
        padded, weight, thresholds = ctx.saved_tensors
        kernel, scale, seed = ctx.draw
        grad = grad.contiguous()  # held: a temporary's memory could be reused before the call
        grad_in = torch.zeros_like(padded) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        _kernel().wl_backward(padded.data_ptr(), weight.data_ptr(), grad.data_ptr(),
                               None if grad_in is None else grad_in.data_ptr(),
                               None if grad_weight is None else grad_weight.data_ptr(),
                               *_geometry(padded, weight, kernel), seed, thresholds.data_ptr(), scale,
                               torch.get_num_threads())
        return grad_in, grad_weight, None, None, None, None, None


def wordline_conv(x: Tensor, weight: Tensor, kernel: tuple[int, int], padding: tuple[int, int],
                  thresholds: Tensor | int, scale: float, seed: int | None = None) -> Tensor:
    """SpinDrop's gated convolution of ``x`` (B, C_in, H, W) with ``weight`` (C_out, k²·C_in):
    stride 1, zero ``padding``, keep iff byte ≥ ``thresholds`` (per word line, or one int for all);
    a fresh seed from torch's generator unless one is given.

    With a unit ``scale``, ±1 weights (a binary layer's) and a ±1 ``x`` (a binarised input), the
    forward values (integers) are computed by the bit-packed kernel from the same bits, also in
    training: the same numbers, faster (:func:`spindrop.kernels.bitpack.wordline_mac`, which checks
    the input's ±1 while packing; tests/core/test_bitpack.py). The backward pass is this kernel's.
    """
    padded = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    packs = scale == 1.0 and bitpack.supports(x) and bool((weight.detach().abs() == 1).all())
    signs = (x.detach(), padding) if packs else None
    return WordLineConv.apply(padded, weight, kernel, word_line_thresholds(thresholds, weight.shape[1]), scale,
                              draw_seed() if seed is None else seed, signs)


def keep_mask(shape: tuple[int, int, int, int], kernel: tuple[int, int], padding: tuple[int, int],
              thresholds: Tensor | int, scale: float, seed: int) -> Tensor:
    """The keep multipliers :func:`wordline_conv` uses for inputs of ``shape`` with ``seed``:
    (B, C_in, k_h, k_w, H_out, W_out), the layout of the reference implementation's mask."""
    batch, channels, height, width = shape
    hp, wp = height + 2 * padding[0], width + 2 * padding[1]
    h_out, w_out = hp - kernel[0] + 1, wp - kernel[1] + 1
    out = torch.empty(batch, channels, kernel[0], kernel[1], h_out, w_out)
    rows = word_line_thresholds(thresholds, channels * kernel[0] * kernel[1])
    _kernel().wl_keep_mask(out.data_ptr(), batch, channels, hp, wp, *kernel, seed, rows.data_ptr(), scale)
    return out

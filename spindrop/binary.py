"""Binary layers in the BinaryNet recipe (Courbariaux et al., 2016, arXiv 1602.02830).

* ``sign`` maps x ↦ +1 if x ≥ 0 else −1, so sign(0) = +1 and values are never ternary.
* The straight-through estimator passes the gradient where |x| ≤ 1 and blocks it elsewhere
  (BinaryNet Eq. 4: g_r = g_q · 1_{|r| ≤ 1}).
* Latent fp32 weights are clipped to [−1, 1] after every optimiser step
  (:func:`clip_latent_weights`).

A binary layer computes its multiply-accumulate (MAC) with ±1 weights. Layers that follow
another binary layer also binarise their input (``binary_input=True``): these are the
crossbar layers whose word lines a dropout module can gate. A dropout *site* installed by a
method (:mod:`spindrop.methods.base`) takes over the MAC of such a layer, so the model code
never names a method.

Inference (eval mode, no autograd, fp32 on the CPU) computes a binary-input layer's MAC bit-packed
(:func:`spindrop.kernels.bitpack.binary_mac`, XNOR-popcount): the same integers as the fp32
convolution, so the same numbers (docs/performance.md "The bit-packed inference path"). A site
opts in with ``packed_forward``; training and every other case run the fp32 path.
"""
from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import BackwardCFunction  # the ctx class: it declares saved_tensors

from .kernels import bitpack


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: BackwardCFunction, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        # 2·[x ≥ 0] − 1 from a bool → float conversion: 2–5× faster than torch.where on the CPU
        # (docs/performance.md); NaN ↦ −1 as with where
        return (x >= 0).to(x.dtype).mul_(2).sub_(1)

    @staticmethod
    def backward(ctx: BackwardCFunction, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign(x: Tensor) -> Tensor:
    """±1 binarisation with sign(0) = +1 and a clipped straight-through gradient."""
    return _SignSTE.apply(x)


class Site(Protocol):
    """What a binary layer asks of the dropout site installed on it
    (:class:`spindrop.methods.base.DropoutSite`)."""

    def __call__(self, layer: BinaryLayer, x: Tensor) -> Tensor: ...

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None: ...


class BinaryLayer(nn.Module):
    """Mixin state shared by :class:`BinaryConv2d` and :class:`BinaryLinear`.

    ``binary_input``: binarise the input (every crossbar layer after the first).
    ``site``: the dropout site a method installed, or ``None``.
    """

    weight: Tensor  # declared for the type checker: nn.Conv2d / nn.Linear create it
    binary_input: bool
    site: Site | None

    def binary_weight(self) -> Tensor:
        return sign(self.weight)

    @property
    def columns(self) -> int:
        """Output channels (conv) or features (FC): the crossbar's bit lines."""
        return self.weight.shape[0]

    def mac(self, x: Tensor, weight: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def packs(self, x: Tensor) -> bool:
        """Whether this forward may take the bit-packed path: a binary input, eval mode, no
        autograd, and an input and geometry the kernel takes."""
        return (self.binary_input and not self.training and not torch.is_grad_enabled()
                and bitpack.supports(x))

    def packed_mac(self, x: Tensor, keep: Tensor | None = None, threshold: int = 1,
                   scale: Tensor | None = None) -> Tensor:
        """The MAC of sign(``x``) gated by ``keep`` ≥ ``threshold`` (uint8 or bool, broadcast
        against ``x``; None keeps all), bit-packed: equal to ``mac`` of the gated ±1 input; times
        ``scale`` ((B, C_out) or (1, C_out)) unless it is None, equal to ``mac · scale``."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if self.packs(x):
            out = self.packed_mac(x) if self.site is None else self.site.packed_forward(self, x)
            if out is not None:
                return out
        if self.binary_input:
            x = sign(x)
        if self.site is not None:
            return self.site(self, x)
        return self.mac(x)


class BinaryConv2d(BinaryLayer, nn.Conv2d):
    """2-D convolution with ±1 weights (no bias: BatchNorm follows)."""

    # nn.Conv2d stores its int arguments as pairs; padding is an int here, never "same"/"valid"
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, binary_input: bool = True) -> None:
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride=stride,
                           padding=padding, bias=False)
        self.binary_input = binary_input
        self.site = None

    def mac(self, x: Tensor, weight: Tensor | None = None) -> Tensor:
        w = self.binary_weight() if weight is None else weight
        return F.conv2d(x, w, None, self.stride, self.padding, self.dilation, self.groups)

    def packs(self, x: Tensor) -> bool:
        return (super().packs(x) and tuple(self.dilation) == (1, 1) and self.groups == 1
                and self.padding_mode == "zeros")

    def packed_mac(self, x: Tensor, keep: Tensor | None = None, threshold: int = 1,
                   scale: Tensor | None = None) -> Tensor:
        return bitpack.binary_mac(x, self.weight, keep, threshold, self.stride, self.padding, scale)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", binary_input={self.binary_input}"


class BinaryLinear(BinaryLayer, nn.Linear):
    """Fully connected layer with ±1 weights (no bias: BatchNorm follows)."""

    def __init__(self, in_features: int, out_features: int, binary_input: bool = True) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias=False)
        self.binary_input = binary_input
        self.site = None

    def mac(self, x: Tensor, weight: Tensor | None = None) -> Tensor:
        w = self.binary_weight() if weight is None else weight
        return F.linear(x, w)

    def packed_mac(self, x: Tensor, keep: Tensor | None = None, threshold: int = 1,
                   scale: Tensor | None = None) -> Tensor:
        return bitpack.binary_mac(x, self.weight, keep, threshold, scale=scale)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", binary_input={self.binary_input}"


def binary_layers(model: nn.Module) -> list[tuple[str, BinaryLayer]]:
    """All binary layers of ``model`` in registration (= forward) order, with their names."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, BinaryLayer)]


@torch.no_grad()
def clip_latent_weights(model: nn.Module) -> None:
    """Clip the latent fp32 weights of every binary layer to [−1, 1] (BinaryNet, Alg. 1)."""
    for _, layer in binary_layers(model):
        layer.weight.clamp_(-1.0, 1.0)


@torch.no_grad()
def export_binary_weights(model: nn.Module) -> dict[str, Tensor]:
    """The ±1 weights (int8) of every binary layer, as the crossbar stores them."""
    return {name: layer.binary_weight().to(torch.int8) for name, layer in binary_layers(model)}

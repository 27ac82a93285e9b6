"""Layer geometry of a model's binary layers, traced from the model itself.

A dummy forward pass with hooks records, for every binary layer, what the crossbar mapping
and the dropout methods need: kernel, channels, input and output spatial size. Nothing is
tabulated per architecture, so a new model is priced without code changes.

A fully connected layer that reads a conv feature map through ``nn.Flatten`` also records that
map's shape (``in_map``), so a method can group its inputs by channel (MC-SpatialDropout's
``fc_grouping="channel"``, docs/design.md). Which layer reads which ``Flatten`` is decided by
:func:`flatten_feeds`, the one rule the trace and the dropout sites share.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from .binary import BinaryConv2d, BinaryLayer, BinaryLinear, binary_layers


@dataclass(frozen=True)
class LayerGeometry:
    """Shape of one binary layer for one image.

    For a fully connected layer ``kernel = (1, 1)``, ``in_channels = in_features`` and all
    spatial sizes are 1; ``in_map`` is the (C, H, W) feature map it reads flattened
    (C·H·W = in_features), or ``None`` when it reads a plain vector (and for conv layers).
    """

    name: str
    kind: str  # "conv" or "fc"
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    binary_input: bool
    in_map: tuple[int, int, int] | None = None
    padding: tuple[int, int] = (0, 0)
    stride: tuple[int, int] = (1, 1)

    @property
    def rows(self) -> int:
        """Crossbar word lines: k²·C_in (conv) or in (FC)."""
        return self.kernel[0] * self.kernel[1] * self.in_channels

    @property
    def columns(self) -> int:
        """Crossbar bit lines: C_out."""
        return self.out_channels

    @property
    def windows(self) -> int:
        """Window positions evaluated per image: H_out·W_out (conv) or 1 (FC)."""
        return self.out_hw[0] * self.out_hw[1]

    @property
    def input_elements(self) -> int:
        """Elements of the layer's input feature map: C_in·H_in·W_in (conv) or in (FC)."""
        return self.in_channels * self.in_hw[0] * self.in_hw[1]

    @property
    def input_row_windows(self) -> int:
        """(word line, window) pairs whose word line reads the input, not zero padding.

        Per spatial axis, with input size n, output size m, kernel k, stride s and padding q,
        tap t of window o reads position o·s − q + t, inside the input when 0 ≤ o·s − q + t < n;
        the count is C_in times the product of the two axes' counts. Without padding it is
        rows·windows; FC layers: ``in``.
        """
        per_axis = (sum(0 <= o * s - q + t < n for o in range(m) for t in range(k))
                    for n, m, k, s, q in zip(self.in_hw, self.out_hw, self.kernel, self.stride, self.padding))
        return self.in_channels * math.prod(per_axis)


def flatten_feeds(model: nn.Module) -> dict[str, nn.Flatten]:
    """Binary FC layer name → the ``nn.Flatten`` (start_dim 1, end_dim −1) whose output it reads.

    A layer reads the flattened map of the nearest such ``Flatten`` registered before it when no
    other binary layer is registered in between (registration = forward order, as
    :func:`spindrop.binary.binary_layers` and :func:`spindrop.mc.split_prefix` assume). Whether
    the layer really reads the whole map is checked on the shapes: C·H·W must equal its input
    width (:func:`reads_map`).
    """
    feeds: dict[str, nn.Flatten] = {}
    pending: nn.Flatten | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1:
            pending = module
        elif isinstance(module, BinaryLayer):
            if isinstance(module, BinaryLinear) and pending is not None:
                feeds[name] = pending
            pending = None
    return feeds


def reads_map(shape: tuple[int, ...] | None, in_features: int) -> tuple[int, int, int] | None:
    """``shape`` as the (C, H, W) map an FC layer of ``in_features`` inputs reads, or ``None``
    when it is no 3-D map of exactly that many elements."""
    if shape is None or len(shape) != 3 or shape[0] * shape[1] * shape[2] != in_features:
        return None
    return (int(shape[0]), int(shape[1]), int(shape[2]))


def _geometry(name: str, layer: BinaryLayer, x: torch.Tensor, y: torch.Tensor,
              in_map: tuple[int, ...] | None) -> LayerGeometry:
    if isinstance(layer, BinaryConv2d):
        return LayerGeometry(name, "conv", layer.in_channels, layer.out_channels,
                             layer.kernel_size, _hw(x.shape), _hw(y.shape),
                             layer.binary_input, padding=layer.padding, stride=layer.stride)
    fc = cast(BinaryLinear, layer)  # a binary layer is a BinaryConv2d or a BinaryLinear
    return LayerGeometry(name, "fc", fc.in_features, fc.out_features, (1, 1), (1, 1), (1, 1),
                         fc.binary_input, reads_map(in_map, fc.in_features))


def _hw(shape: torch.Size) -> tuple[int, int]:
    """The (H, W) of a feature map's ``shape`` (its last two dimensions)."""
    return (shape[-2], shape[-1])


_TRACED: dict[tuple[int, tuple[int, ...]], tuple[nn.Module, list[LayerGeometry]]] | None = None
"""Geometries traced inside :func:`traced_once` (None outside): (id(model), input shape) → (the model,
kept so that its id is not reused, and its geometry)."""


@contextmanager
def traced_once() -> Iterator[None]:
    """Within the block, :func:`trace_geometry` runs once per model object and input shape. For a
    caller that prices the same, unchanged models many times (the report's claim candidates: 20
    forward passes of three full-size networks otherwise); a model must not be modified inside."""
    global _TRACED
    outer, _TRACED = _TRACED, {} if _TRACED is None else _TRACED
    try:
        yield
    finally:
        _TRACED = outer


def trace_geometry(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerGeometry]:
    """Geometry of every binary layer of ``model`` for one input of shape (C, H, W) (a forward pass
    of one zero image; once per model and shape inside :func:`traced_once`)."""
    if _TRACED is None:
        return _trace(model, input_shape)
    key = (id(model), tuple(input_shape))
    if key not in _TRACED:
        _TRACED[key] = (model, _trace(model, input_shape))
    return list(_TRACED[key][1])


@torch.no_grad()
def _trace(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerGeometry]:
    found: list[LayerGeometry] = []
    maps: dict[int, tuple[int, ...]] = {}  # id(Flatten) → shape of its last input, one image
    feeds = flatten_feeds(model)
    handles = [
        flatten.register_forward_hook(lambda m, args, out: maps.__setitem__(id(m), tuple(args[0].shape[1:])))
        for flatten in {id(f): f for f in feeds.values()}.values()
    ] + [
        layer.register_forward_hook(lambda m, args, out, n=name: found.append(
            _geometry(n, m, args[0], out, maps.get(id(feeds[n])) if n in feeds else None)))
        for name, layer in binary_layers(model)
    ]
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters())
        model(torch.zeros((1, *input_shape), dtype=param.dtype, device=param.device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return found

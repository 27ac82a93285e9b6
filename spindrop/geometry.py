"""Layer geometry of a model's binary layers, traced from the model itself.

A dummy forward pass with hooks records, for every binary layer, what the crossbar mapping
and the dropout methods need: kernel, channels, input and output spatial size. Nothing is
tabulated per architecture, so a new model is priced without code changes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .binary import BinaryConv2d, BinaryLayer, binary_layers


@dataclass(frozen=True)
class LayerGeometry:
    """Shape of one binary layer for one image.

    For a fully connected layer ``kernel = (1, 1)``, ``in_channels = in_features`` and all
    spatial sizes are 1.
    """

    name: str
    kind: str  # "conv" or "fc"
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    binary_input: bool

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


def _geometry(name: str, layer: BinaryLayer, x: torch.Tensor, y: torch.Tensor) -> LayerGeometry:
    if isinstance(layer, BinaryConv2d):
        return LayerGeometry(name, "conv", layer.in_channels, layer.out_channels,
                             tuple(layer.kernel_size), tuple(x.shape[-2:]), tuple(y.shape[-2:]),
                             layer.binary_input)
    return LayerGeometry(name, "fc", layer.in_features, layer.out_features, (1, 1), (1, 1), (1, 1),
                         layer.binary_input)


@torch.no_grad()
def trace_geometry(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerGeometry]:
    """Geometry of every binary layer of ``model`` for one input of shape (C, H, W)."""
    found: list[LayerGeometry] = []
    handles = [
        layer.register_forward_hook(lambda m, args, out, n=name: found.append(_geometry(n, m, args[0], out)))
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

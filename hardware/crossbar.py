"""Mapping of binary layers onto MTJ crossbar tiles (docs/hardware.md).

Every binary layer (conv or FC, first layer and classifier included) is one weight matrix:
rows (word lines) = k²·C_in (conv) or ``in`` (FC), columns (bit lines) = C_out. A binary weight
is a complementary MTJ pair (+1 → (P, AP), −1 → (AP, P)), so a weight takes
``cells_per_weight`` = 2 cells. The matrix is cut into tiles of ``rows × cols`` cells' worth of
weights: ceil(rows/R) row blocks × ceil(cols/C) column blocks. A conv layer is evaluated once
per output position (``windows`` = H_out·W_out per image), an FC layer once.

Everything comes from :func:`spindrop.trace_geometry`, so a new architecture maps without code
changes here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from spindrop.geometry import LayerGeometry, trace_geometry


@dataclass(frozen=True)
class CrossbarConfig:
    """Crossbar tile size (in weights: word lines × bit lines) and cells per binary weight."""

    rows: int = 128
    cols: int = 128
    cells_per_weight: int = 2

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "cells_per_weight"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"CrossbarConfig.{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class LayerMapping:
    """One binary layer on the crossbar tiles."""

    name: str
    kind: str
    binary_input: bool
    rows: int
    cols: int
    windows: int
    row_blocks: int
    col_blocks: int
    cells_per_weight: int

    @property
    def tiles(self) -> int:
        """Tiles = ceil(rows/R) · ceil(cols/C)."""
        return self.row_blocks * self.col_blocks

    @property
    def weights(self) -> int:
        return self.rows * self.cols

    @property
    def cells(self) -> int:
        """MTJ cells holding the weights: rows · cols · cells_per_weight."""
        return self.weights * self.cells_per_weight


def map_layer(geom: LayerGeometry, crossbar: CrossbarConfig = CrossbarConfig()) -> LayerMapping:
    """Tile mapping of one traced binary layer."""
    return LayerMapping(
        name=geom.name, kind=geom.kind, binary_input=geom.binary_input,
        rows=geom.rows, cols=geom.columns, windows=geom.windows,
        row_blocks=math.ceil(geom.rows / crossbar.rows),
        col_blocks=math.ceil(geom.columns / crossbar.cols),
        cells_per_weight=crossbar.cells_per_weight,
    )


def map_model(model: nn.Module, input_shape: tuple[int, ...],
              crossbar: CrossbarConfig = CrossbarConfig()) -> list[LayerMapping]:
    """Tile mapping of every binary layer of ``model`` for one input of ``input_shape`` (C, H, W)."""
    return [map_layer(g, crossbar) for g in trace_geometry(model, input_shape)]

"""``my_method``: bit-line (column) dropout, an example plugin written against the public API.

One Bernoulli bit per (sample, output column) gates the column's sense amplifier, so the
whole MAC result of that column is dropped. One dropout module per crossbar column.
"""
from __future__ import annotations

from torch import Tensor

from spindrop import DropoutSite, LayerHardware, Method, register_method


class ColumnSite(DropoutSite):
    def sample(self, layer, x: Tensor) -> Tensor:
        y = layer.mac(x)
        shape = tuple(y.shape[:2]) + (1,) * (y.dim() - 2)
        return self.gate(y, shape, (1,))

    def expected(self, layer, x: Tensor) -> Tensor:
        return layer.mac(x) * self.input_expectation()


@register_method
class ColumnDropout(Method):
    name = "my_method"
    summary = "example plugin: one dropout module per crossbar column (bit line)"

    def make_site(self, layer) -> DropoutSite:
        return ColumnSite(self.config)

    def layer_hardware(self, geom) -> LayerHardware:
        return LayerHardware(geom.columns, geom.columns)

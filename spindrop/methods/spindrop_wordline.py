"""SpinDrop (Ahmed et al., "SpinDrop: Dropout-based Bayesian binary neural networks with
spintronic implementation", IEEE JETCAS 2023)."""
from __future__ import annotations

from ..geometry import LayerGeometry
from ..registry import register_method
from .base import DropoutSite, LayerHardware, Method
from .sites import WordLineSite


@register_method
class SpinDrop(Method):
    """One MTJ dropout module per crossbar word line, re-drawn at every window position.

    Hardware: modules = rows = k²·C_in (conv) or ``in`` (FC); draws per pass =
    k²·C_in·H_out·W_out (conv) or ``in`` (FC).
    """

    name = "spindrop"
    summary = "SpinDrop: one MTJ module per word line, re-drawn per window (JETCAS 2023)"

    def make_site(self, layer) -> DropoutSite:
        return WordLineSite(self.config)

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        return LayerHardware(geom.rows, geom.rows * geom.windows)

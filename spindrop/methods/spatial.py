"""MC-SpatialDropout ("Spatial-SpinDrop", Ahmed et al., arXiv 2306.10185, IEEE TNANO 2024)."""
from __future__ import annotations

from ..geometry import LayerGeometry
from ..registry import register_method
from .base import DropoutSite, LayerHardware, Method
from .sites import ChannelSite


@register_method
class SpatialDropout(Method):
    """Bernoulli per (sample, input channel) broadcast over H×W on binary conv inputs;
    element-wise on FC inputs.

    Hardware: one module per input channel gates that channel's k² word lines, so a conv
    layer has C_in modules and C_in draws per pass; an FC layer has ``in`` of each.
    """

    name = "spatial"
    summary = "MC-SpatialDropout: one MTJ module per input channel (arXiv 2306.10185)"

    def make_site(self, layer) -> DropoutSite:
        return ChannelSite(self.config)

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        return LayerHardware(geom.in_channels, geom.in_channels)

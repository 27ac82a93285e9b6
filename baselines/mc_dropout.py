"""MC-Dropout (Gal & Ghahramani, "Dropout as a Bayesian approximation", ICML 2016) on the
binarised input of every binary-input layer."""
from __future__ import annotations

from spindrop.binary import BinaryLayer
from spindrop.geometry import LayerGeometry
from spindrop.methods.base import DropoutSite, LayerHardware, Method
from spindrop.methods.sites import ElementwiseSite
from spindrop.registry import register_method


@register_method
class MCDropout(Method):
    """Element-wise Bernoulli on each binary layer's input feature map.

    Hardware: one mask bit per input element, held while the k² windows reuse it:
    modules = draws = C_in·H_in·W_in (conv) or ``in`` (FC).
    """

    name = "mc_dropout"
    summary = "MC-Dropout baseline: element-wise Bernoulli (Gal & Ghahramani 2016)"

    def make_site(self, layer: BinaryLayer) -> DropoutSite:
        return ElementwiseSite(self.config)

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        return LayerHardware(geom.input_elements, geom.input_elements)

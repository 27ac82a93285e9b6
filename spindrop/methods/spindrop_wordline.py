"""SpinDrop (Ahmed et al., "SpinDrop: Dropout-based Bayesian binary neural networks with
spintronic implementation", IEEE JETCAS 2023)."""
from __future__ import annotations

from dataclasses import dataclass

from ..binary import BinaryLayer
from ..geometry import LayerGeometry
from ..registry import register_method
from .base import DropoutConfig, DropoutSite, LayerHardware, Method
from .sites import WordLineSite


@dataclass(frozen=True)
class SpinDropConfig(DropoutConfig):
    """SpinDrop parameters.

    p, rescale: as for every Bernoulli method (:class:`DropoutConfig`).
    padding_draws: whether the hardware fires the dropout module of a word line at a window
        position where that word line reads zero padding (True, the default: the periphery draws
        every word line at every window, as the software does). Such a bit gates a zero input, so
        it changes no output; False prices a controller that skips those draws (7.6 % of
        VGG-small's draws per pass, docs/hardware.md "What each method's cost model does not
        price"). The software is the same either way.
    """

    padding_draws: bool = True


@register_method
class SpinDrop(Method):
    """One MTJ dropout module per crossbar word line, re-drawn at every window position.

    Hardware: modules = rows = k²·C_in (conv) or ``in`` (FC); draws per pass =
    k²·C_in·H_out·W_out (conv) or ``in`` (FC), or with ``padding_draws=False`` only the
    (word line, window) pairs that read the input (``LayerGeometry.input_row_windows``).
    """

    name = "spindrop"
    Config = SpinDropConfig
    summary = "SpinDrop: one MTJ module per word line, re-drawn per window (JETCAS 2023)"

    def make_site(self, layer: BinaryLayer) -> DropoutSite:
        return WordLineSite(self.config)

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        draws = geom.rows * geom.windows if self.config.padding_draws else geom.input_row_windows
        return LayerHardware(geom.rows, draws)

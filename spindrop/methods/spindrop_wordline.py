"""SpinDrop (Ahmed et al., "SpinDrop: Dropout-based Bayesian binary neural networks with
spintronic implementation", IEEE JETCAS 2023).

When a word line's module is redrawn is a reading, not a fact of the paper (docs/design.md
"Interpretations"): ``redraw="window"`` (default) draws a fresh bit per (image, word line, window
position), ``redraw="image"`` one bit per (image, word line) that every window of the image reuses.
Each reading is a :class:`Redraw` (its dropout site and its draws per pass), chosen by the config.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..binary import BinaryLayer
from ..geometry import LayerGeometry
from ..registry import register_method
from .base import DropoutConfig, DropoutSite, LayerHardware, Method
from .sites import ImageWordLineSite, WordLineSite

RedrawName = Literal["window", "image"]


@dataclass(frozen=True)
class SpinDropConfig(DropoutConfig):
    """SpinDrop parameters.

    p, rescale: as for every Bernoulli method (:class:`DropoutConfig`).
    redraw: when a word line's module is redrawn. ``"window"`` (default): at every window
        position of every image, the reading the measured results so far use. ``"image"``: once
        per image; all window positions of that image reuse the bit (the module is written once
        and its state held, like MC-SpatialDropout's channel bit). FC layers have one window, so
        the readings coincide there.
    padding_draws: (``redraw="window"`` only) whether the hardware fires the dropout module of a
        word line at a window position where that word line reads zero padding (True, the default:
        the periphery draws every word line at every window, as the software does). Such a bit
        gates a zero input, so it changes no output; False prices a controller that skips those
        draws (7.6 % of VGG-small's draws per pass, docs/hardware.md "What each method's cost model
        does not price"). The software is the same either way.
    """

    redraw: RedrawName = "window"
    padding_draws: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.redraw not in REDRAWS:
            raise ValueError(f"SpinDrop redraw={self.redraw!r} is not known: pass one of "
                             f"{', '.join(repr(r) for r in REDRAWS)}")


@dataclass(frozen=True)
class Redraw:
    """One reading of when SpinDrop's word-line modules are redrawn: its site and its draws.

    per_window: a bit per (word line, window) — draws per pass k²·C_in·H_out·W_out (conv), or the
    (word line, window) pairs that read the input with ``padding_draws=False``; otherwise a bit per
    word line per image — draws per pass k²·C_in (conv). FC layers: ``in`` either way.
    """

    site: type[DropoutSite]
    per_window: bool

    def draws(self, geom: LayerGeometry, config: SpinDropConfig) -> int:
        if not self.per_window:
            return geom.rows
        return geom.rows * geom.windows if config.padding_draws else geom.input_row_windows


REDRAWS: dict[str, Redraw] = {
    "window": Redraw(WordLineSite, per_window=True),
    "image": Redraw(ImageWordLineSite, per_window=False),
}


@register_method
class SpinDrop(Method):
    """One MTJ dropout module per crossbar word line, redrawn per window (default) or per image.

    Hardware: modules = rows = k²·C_in (conv) or ``in`` (FC); draws per pass from the
    :class:`Redraw` reading (``redraw``).
    """

    name = "spindrop"
    Config = SpinDropConfig
    summary = "SpinDrop: one MTJ module per word line, re-drawn per window (JETCAS 2023)"

    @property
    def reading(self) -> Redraw:
        return REDRAWS[self.config.redraw]

    def make_site(self, layer: BinaryLayer) -> DropoutSite:
        return self.reading.site(self.config)

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        return LayerHardware(geom.rows, self.reading.draws(geom, self.config))

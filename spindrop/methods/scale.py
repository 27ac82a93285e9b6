"""Scale-Dropout (Ahmed et al., "Scale-Dropout: Estimating uncertainty in deep neural networks
using stochastic scale", arXiv 2311.15816)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..binary import BinaryLayer
from ..geometry import LayerGeometry
from ..registry import register_method
from .base import DropoutConfig, DropoutSite, LayerHardware, Method


@dataclass(frozen=True)
class ScaleConfig(DropoutConfig):
    """Scale-Dropout parameters.

    p: probability that a layer's scale vector is dropped in one pass.
    dropped_value: the scale a dropped α is replaced by (1 = the unscaled MAC).
    alpha_init: initial value of every learnable per-output-channel scale.
    rescale: unused by this method (the MAC input is never gated); kept False.
    """

    dropped_value: float = 1.0
    alpha_init: float = 1.0


class ScaleSite(DropoutSite):
    """y = MAC(x) ⊙ s with s = α (kept) or ``dropped_value`` (dropped), α ∈ R^{C_out} learnable.

    One Bernoulli bit per layer per pass of one image: each row of a batch is its own pass,
    as on the hardware, which evaluates one image at a time with the single reused module.
    (A bit shared by a whole training batch would be invisible: the BatchNorm that follows
    normalises a batch-wide per-channel scale away, and α would get no gradient.)
    Deterministic pass: s = (1 − p)·α + p·dropped_value.
    """

    shared_unit = True  # one unit for the whole model (hardware_plan: shared_modules = 1)

    def __init__(self, config: ScaleConfig, out_channels: int) -> None:
        super().__init__(config)
        self.alpha = nn.Parameter(torch.full((out_channels,), float(config.alpha_init)))

    def _shape(self, y: Tensor) -> tuple[int, ...]:
        return (1, -1) + (1,) * (y.dim() - 2)

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        y = layer.mac(x)
        keep = self.sampler((y.shape[0],), (), self.config.p, y.device).view((-1,) + (1,) * (y.dim() - 1))
        dropped = torch.full_like(self.alpha, self.config.dropped_value).view(self._shape(y))
        return y * torch.where(keep, self.alpha.view(self._shape(y)), dropped)

    def expected(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        p = self.config.p
        s = (1.0 - p) * self.alpha + p * self.config.dropped_value
        y = layer.mac(x)
        return y * s.view(self._shape(y))


@register_method
class ScaleDropout(Method):
    """Learnable per-output-channel scale after each binary-input layer's MAC, dropped as a whole.

    Hardware: one dropout module for the whole model, reused layer after layer; one draw per
    scaled layer per pass.
    """

    name = "scale"
    Config = ScaleConfig
    summary = "Scale-Dropout: one shared MTJ module drops a layer's scale vector (arXiv 2311.15816)"

    def make_site(self, layer) -> DropoutSite:
        return ScaleSite(self.config, layer.columns)

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        return LayerHardware(0, 1)

    def shared_modules(self, sites: list[LayerGeometry]) -> int:
        return 1 if sites else 0

"""Scale-Dropout (Ahmed et al., "Scale-Dropout: Estimating uncertainty in deep neural networks
using stochastic scale", arXiv 2311.15816).

Each scaled layer owns a learnable scale vector α ∈ R^C (one entry per output channel); one
stochastic unit, shared by the whole model, keeps (s = α) or drops (s = ``dropped_value``) the
whole vector, once per scaled layer per pass of one image. Where the scale sits is the
``placement`` parameter (docs/design.md, "Scale-Dropout placement", has the measurements):

* ``mac``: s ⊙ MAC(x) on every binary-input layer, before its BatchNorm;
* ``post_bn``: s ⊙ BN(MAC(x)) on every binary-input layer, after the BatchNorm that follows it;
* ``classifier``: s ⊙ BN(MAC(x)) on the last binary-input layer only, i.e. on the real-valued
  features the full-precision classifier reads.

Before the BatchNorm (``mac``) a per-image scale moves the MAC against the channel's
threshold: at eval sign(γ·(s·m − μ)/σ + β) flips for the MACs m between the kept and the
dropped threshold, in every scaled layer. After the BatchNorm a positive scale followed by
``sign`` changes nothing in the forward pass; it acts only where a real-valued path follows
(the classifier input, ResNet's shortcut sums).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ..binary import BinaryLayer, binary_layers
from ..geometry import trace_geometry
from ..registry import register_method
from .base import DropoutConfig, DropoutSite, HardwarePlan, LayerHardware, Method


@dataclass(frozen=True)
class ScaleConfig(DropoutConfig):
    """Scale-Dropout parameters.

    p: probability that a layer's scale vector is dropped in one pass.
    placement: where the scale acts, one of ``PLACEMENTS`` (module docstring).
    alpha_init: initial value of every entry of α, away from ``dropped_value``: at α = 1 =
        ``dropped_value`` kept and dropped passes coincide and α stayed near 1.
    dropped_value: the scale a dropped α is replaced by (1 = the unscaled layer).
    alpha_lr: learning-rate multiplier of α (the sites' ``lr_multiplier``). At the network's
        rate (1) training pulls α back to ``dropped_value``, which removes the MC spread.
    rescale: unused by this method (no input is gated); kept False.

    Defaults chosen by measurement (quick profile, LeNet-5 on MNIST and VGG-small on
    CIFAR-10): docs/design.md, "Scale-Dropout placement".
    GRID: the tuning protocol's grid (:mod:`spindrop.tuning`, on the validation split): the dropout
    grid's p × placement ``mac`` or ``post_bn`` (8 settings; ``classifier`` is ``post_bn`` restricted
    to the last binary layer, the same on LeNet-5). ``alpha_init`` is an initialisation that training
    moves, not an operating point: it keeps its default.
    """

    GRID: ClassVar[dict[str, tuple[object, ...]]] = {**DropoutConfig.GRID, "placement": ("mac", "post_bn")}
    placement: str = "mac"
    alpha_init: float = 0.25
    dropped_value: float = 1.0
    alpha_lr: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.placement not in PLACEMENTS:
            raise ValueError(f"Scale-Dropout placement '{self.placement}' is unknown: "
                             f"use one of {', '.join(PLACEMENTS)}")
        for name in ("alpha_init", "dropped_value"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"Scale-Dropout {name}={getattr(self, name)} is not finite: pass a real number")
        if not (math.isfinite(self.alpha_lr) and self.alpha_lr >= 0):
            raise ValueError(f"Scale-Dropout alpha_lr={self.alpha_lr} must be a finite number >= 0 "
                             f"(a multiplier of the learning rate), e.g. 0.1")


class ScaleSite(DropoutSite):
    """The scale of one layer: h ↦ s ⊙ h over the channel dimension of h.

    Stochastic: s = α if the row's bit is kept, else ``dropped_value``, one Bernoulli bit per
    row (each row of a batch is its own pass of one image, as on the hardware, which evaluates
    one image at a time with the single reused unit). A bit shared by a whole training batch
    would be invisible to a BatchNorm that follows: it normalises a batch-wide per-channel
    scale away. Deterministic: s = (1 − p)·α + p·``dropped_value``.
    ``lr_multiplier``: α trains with the learning rate × ``alpha_lr``.
    """

    config: ScaleConfig
    shared_unit = True  # one unit for the whole model (hardware_plan: shared_modules = 1)

    def __init__(self, config: ScaleConfig, channels: int) -> None:
        super().__init__(config)
        self.alpha = nn.Parameter(torch.full((channels,), float(config.alpha_init)))
        self.lr_multiplier = config.alpha_lr

    def factors(self, batch: int, device: torch.device) -> Tensor:
        """The per-channel factors of ``batch`` images: (B, C) when sampling (α, or the dropped value
        for an image whose layer bit is dropped), (1, C) otherwise (the expectation)."""
        config = self.config
        if self.stochastic:
            keep = self.sampler((batch,), (), config.p, device).unsqueeze(1)
            return torch.where(keep, self.alpha, config.dropped_value)
        return ((1.0 - config.p) * self.alpha + config.p * config.dropped_value).unsqueeze(0)

    def scale(self, h: Tensor) -> Tensor:
        s = self.factors(h.shape[0], h.device)
        return h * s.view(s.shape + (1,) * (h.dim() - 2))

    def forward(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        return self.scale(layer.mac(x))

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None:
        """The factors applied in the packed kernel's output (one fp32 product, as :meth:`scale`)."""
        return layer.packed_mac(x, scale=self.factors(x.shape[0], x.device).detach())


class PostNormScaleSite(ScaleSite):
    """The scale after the BatchNorm that follows the layer: the layer's MAC is left as it is
    and a forward hook on that BatchNorm scales its output."""

    def __init__(self, config: ScaleConfig, channels: int, norm: nn.Module) -> None:
        super().__init__(config, channels)
        self.handle: RemovableHandle = norm.register_forward_hook(lambda _m, _args, out: self.scale(out))

    def forward(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        return layer.mac(x)

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None:
        return layer.packed_mac(x)


def _following_norm(model: nn.Module, layer: BinaryLayer) -> nn.Module:
    """The first BatchNorm registered after ``layer`` (models register modules in forward
    order, and a BatchNorm follows every binary layer: docs/design.md)."""
    modules = list(model.modules())
    after = modules[next(i for i, m in enumerate(modules) if m is layer) + 1:]
    norm = next((m for m in after if isinstance(m, nn.modules.batchnorm._BatchNorm)), None)
    if norm is None or norm.num_features != layer.columns:
        raise ValueError(f"Scale-Dropout placement after the BatchNorm needs a BatchNorm of {layer.columns} "
                         f"channels after every scaled layer; use placement='mac' for this model")
    return norm


@dataclass(frozen=True)
class Placement:
    """Which binary-input layers are scaled (all, or only the last) and whether the scale acts
    after the following BatchNorm."""

    last_only: bool
    after_norm: bool

    def layers(self, model: nn.Module) -> list[BinaryLayer]:
        found = [layer for _, layer in binary_layers(model) if layer.binary_input]
        return found[-1:] if self.last_only else found

    def site(self, config: ScaleConfig, model: nn.Module, layer: BinaryLayer) -> ScaleSite:
        if self.after_norm:
            return PostNormScaleSite(config, layer.columns, _following_norm(model, layer))
        return ScaleSite(config, layer.columns)


PLACEMENTS: dict[str, Placement] = {
    "mac": Placement(last_only=False, after_norm=False),
    "post_bn": Placement(last_only=False, after_norm=True),
    "classifier": Placement(last_only=True, after_norm=True),
}


@register_method
class ScaleDropout(Method):
    """A learnable scale vector per scaled layer, dropped as a whole by one shared unit.

    Hardware: one dropout module for the whole model, reused layer after layer; one draw per
    scaled layer per pass.
    """

    name = "scale"
    Config = ScaleConfig
    summary = "Scale-Dropout: one shared MTJ module drops a layer's scale vector (arXiv 2311.15816)"

    @property
    def placement(self) -> Placement:
        return PLACEMENTS[self.config.placement]

    def attach(self, model: nn.Module) -> nn.Module:
        """Install a scale site on every layer the placement scales; clear every other site."""
        for _, layer in binary_layers(model):
            if isinstance(layer.site, PostNormScaleSite):
                layer.site.handle.remove()
            layer.site = None
        for layer in self.placement.layers(model):
            layer.site = self.placement.site(self.config, model, layer)
        return model

    def hardware_plan(self, model: nn.Module, input_shape: tuple[int, ...]) -> HardwarePlan:
        """No modules per layer, one draw per scaled layer per pass, one shared module; every output of
        a scaled layer is multiplied by its channel's scale, C_out·H_out·W_out multiplies per pass (the
        same under both readings of the dropped value: the multiplier takes α or ``dropped_value``)."""
        scaled = {id(layer) for layer in self.placement.layers(model)}
        names = {name for name, layer in binary_layers(model) if id(layer) in scaled}
        layers = tuple((g, LayerHardware(0, 1, g.columns * g.windows) if g.name in names else LayerHardware(0, 0))
                       for g in trace_geometry(model, input_shape))
        return HardwarePlan(layers, 1 if names else 0)

"""MC-SpatialDropout ("Spatial-SpinDrop", Ahmed et al., arXiv 2306.10185, IEEE TNANO 2024)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from torch import nn

from ..binary import BinaryLayer, binary_layers
from ..geometry import LayerGeometry, flatten_feeds
from ..registry import register_method
from .base import DropoutConfig, DropoutSite, LayerHardware, Method
from .sites import ChannelSite

FcGrouping = Literal["channel", "element"]
FC_GROUPINGS: tuple[str, ...] = get_args(FcGrouping)


@dataclass(frozen=True)
class SpatialConfig(DropoutConfig):
    """MC-SpatialDropout parameters.

    p: probability that one module (one input channel) is dropped in one image pass.
    fc_grouping: how a fully connected layer that reads a flattened conv feature map
        (C channels × H·W) is gated. ``"channel"`` (default): one module per channel gates its
        H·W inputs, one bit per image and channel: spatial dropout's feature-map drop carried to
        the flatten→FC layer. ``"element"``: one module per input, as on any FC layer. FC layers
        that read a plain vector are element-wise under both. Why ``"channel"`` is the default:
        docs/design.md "Spatial dropout on FC layers".
    """

    fc_grouping: FcGrouping = "channel"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fc_grouping not in FC_GROUPINGS:
            raise ValueError(f"fc_grouping={self.fc_grouping!r} is not known: pass one of "
                             f"{', '.join(repr(g) for g in FC_GROUPINGS)}")


@register_method
class SpatialDropout(Method):
    """Bernoulli per (sample, input channel) broadcast over H×W on binary conv inputs; on the FC
    layer that reads a flattened feature map per channel or per input (``fc_grouping``); other FC
    layers element-wise.

    Hardware: one module per input channel gates that channel's k² word lines, so a conv
    layer has C_in modules and C_in draws per pass; the flatten→FC layer C (``"channel"``, one
    module gates the channel's H·W word lines) or C·H·W (``"element"``); any other FC layer
    ``in`` of each.
    """

    name = "spatial"
    Config = SpatialConfig
    summary = "MC-SpatialDropout: one MTJ module per input channel (arXiv 2306.10185)"

    @property
    def groups_fc_by_channel(self) -> bool:
        return self.config.fc_grouping == "channel"

    def make_site(self, layer: BinaryLayer) -> DropoutSite:
        return ChannelSite(self.config)

    def attach(self, model: nn.Module) -> nn.Module:
        """Install the sites; with channel grouping, each flatten→FC site watches its ``Flatten``."""
        super().attach(model)
        if self.groups_fc_by_channel:
            layers = dict(binary_layers(model))
            for name, flatten in flatten_feeds(model).items():
                site = layers[name].site
                if isinstance(site, ChannelSite):
                    site.watch(flatten)
        return model

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        channels = geom.in_map[0] if (geom.in_map is not None and self.groups_fc_by_channel) else geom.in_channels
        return LayerHardware(channels, channels)

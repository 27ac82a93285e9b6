"""The method interface and the spintronic dropout methods (``spindrop``, ``spatial``, ``scale``);
they register through the ``spindrop.methods`` entry points (``pyproject.toml``) like any plugin."""
from .base import (
                   DropoutConfig,
                   DropoutSite,
                   HardwarePlan,
                   LayerHardware,
                   Method,
                   NoParams,
                   dropout_sites,
                   ideal_keep_mask,
)

__all__ = ["DropoutConfig", "DropoutSite", "HardwarePlan", "LayerHardware", "Method", "NoParams",
           "ideal_keep_mask", "dropout_sites"]

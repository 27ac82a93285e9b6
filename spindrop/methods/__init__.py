"""The spintronic dropout methods; importing this package registers them."""
from . import scale, spatial, spindrop_wordline  # noqa: F401  (registration side effect)
from .base import (DropoutConfig, DropoutSite, HardwarePlan, LayerHardware, Method, NoParams,
                   ideal_keep_mask, sites)

__all__ = ["DropoutConfig", "DropoutSite", "HardwarePlan", "LayerHardware", "Method", "NoParams",
           "ideal_keep_mask", "sites"]

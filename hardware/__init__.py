"""Hardware cost model: MTJ stochastic dropout modules on binary MTJ crossbars.

All numbers this package produces are *modelled* from cited or stated-as-assumed constants
(:mod:`hardware.presets`), never measured.
"""
from .compare import PAPER_ENERGY_RATIO, PAPER_MODULE_RATIO, SpinDropSpatialComparison, compare_spindrop_spatial
from .cost import FORMULAS, CostReport, EnergyBreakdown, LayerCost, cost_report
from .crossbar import CrossbarConfig, LayerMapping, map_layer, map_model
from .device import ModuleEventEnergy, MTJConfig, event_energy, p_switch, pulse_width, write_current
from .evaluation import energy_metrics, modules_metrics, price
from .presets import DEFAULT, PRESETS, REFERENCES, HardwarePreset, get_preset, list_presets
from .sampler import DeviceMaskSampler, attach_device, detach_device, device_masks

__all__ = [
    "DEFAULT", "FORMULAS", "PAPER_ENERGY_RATIO", "PAPER_MODULE_RATIO", "PRESETS", "REFERENCES",
    "CostReport", "CrossbarConfig", "DeviceMaskSampler", "EnergyBreakdown", "HardwarePreset",
    "LayerCost", "LayerMapping", "MTJConfig", "ModuleEventEnergy", "SpinDropSpatialComparison",
    "attach_device", "compare_spindrop_spatial", "cost_report", "detach_device", "device_masks", "energy_metrics",
    "event_energy", "get_preset", "list_presets", "map_layer", "map_model", "modules_metrics", "p_switch", "price",
    "pulse_width", "write_current",
]

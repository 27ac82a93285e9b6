"""spindrop-bench core: binary layers, the method registry, models and MC inference."""
from typing import TYPE_CHECKING

from .binary import BinaryConv2d, BinaryLinear, binary_layers, clip_latent_weights, export_binary_weights, sign
from .geometry import LayerGeometry, trace_geometry
from .mc import MCOutput, mc_predict, mc_predict_loader, mc_sampling
from .methods.base import DropoutConfig, DropoutSite, HardwarePlan, LayerHardware, Method, dropout_sites
from .models import build_model, list_models, register_model
from .registry import (
                     PluginError,
                     UnknownMethodError,
                     get_method,
                     list_methods,
                     load_plugin,
                     method_class,
                     register_method,
)

if TYPE_CHECKING:
    from .evaluation import evaluate

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``spindrop.evaluate`` (:func:`spindrop.evaluation.evaluate`), imported on first use (PEP 562):
    it loads data and metrics code that importing the core does not need."""
    if name == "evaluate":
        from .evaluation import evaluate
        return evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BinaryConv2d", "BinaryLinear", "DropoutConfig", "DropoutSite", "HardwarePlan", "LayerGeometry",
    "LayerHardware", "MCOutput", "Method", "PluginError", "UnknownMethodError", "binary_layers",
    "build_model", "clip_latent_weights", "evaluate", "export_binary_weights", "get_method", "list_methods",
    "list_models", "load_plugin", "mc_predict", "mc_predict_loader", "mc_sampling", "method_class",
    "register_method", "register_model", "sign", "dropout_sites", "trace_geometry",
]

"""Binary network topologies with a width multiplier; none of them names a dropout method.

Every model is an :class:`torch.nn.Sequential` of stages, so MC inference can compute the
deterministic prefix (the stages before the first dropout site) once.
"""
from . import lenet, mlp, resnet, vgg  # noqa: F401  (registration side effect)
from .registry import MODELS, RegisteredModel, build_model, list_models, model_info, register_model

BINARY_CLASSIFIER: dict[str, str] = {"lenet5": "lenet5_bc", "vgg_small": "vgg_small_bc"}
"""Model → its registered variant with a BinaryNet last layer (the classifier binarises its input and
takes a dropout site; default off: the plain name). The ``ablation`` suite's classifier switch."""

__all__ = ["BINARY_CLASSIFIER", "MODELS", "RegisteredModel", "build_model", "list_models", "model_info",
           "register_model"]

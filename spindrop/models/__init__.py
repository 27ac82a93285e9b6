"""Binary network topologies with a width multiplier; none of them names a dropout method.

Every model is an :class:`torch.nn.Sequential` of stages, so MC inference can compute the
deterministic prefix (the stages before the first dropout site) once.
"""
from . import lenet, mlp, resnet, vgg  # noqa: F401  (registration side effect)
from .registry import MODELS, RegisteredModel, build_model, list_models, model_info, register_model

__all__ = ["MODELS", "RegisteredModel", "build_model", "list_models", "model_info", "register_model"]

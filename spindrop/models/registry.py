"""Model registry: ``@register_model`` builders, ``build_model(name, ...)``."""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..naming import unknown_name

ModelBuilder = Callable[..., nn.Sequential]
MODELS: dict[str, ModelBuilder] = {}


def register_model(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Register a builder ``fn(in_shape, num_classes, width) -> nn.Sequential``."""
    def deco(fn: ModelBuilder) -> ModelBuilder:
        if name in MODELS:
            raise ValueError(f"model name '{name}' is already registered")
        MODELS[name] = fn
        return fn
    return deco


def list_models() -> list[str]:
    return sorted(MODELS)


def build_model(name: str, in_shape: tuple[int, int, int], num_classes: int = 10,
                width: float = 1.0) -> nn.Sequential:
    """Build model ``name`` for inputs of ``in_shape`` (C, H, W) with channel widths × ``width``."""
    if name not in MODELS:
        raise LookupError(unknown_name("model", name, MODELS))
    if width <= 0:
        raise ValueError(f"width multiplier must be > 0, got {width}")
    return MODELS[name](in_shape=tuple(in_shape), num_classes=num_classes, width=width)


def scaled(channels: int, width: float) -> int:
    """Channel count × width multiplier, at least 1."""
    return max(1, round(channels * width))

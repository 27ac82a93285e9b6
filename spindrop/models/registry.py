"""Model registry: ``@register_model`` builders with their input shapes, ``build_model(name, ...)``.

A model registers its default input shape (C, H, W) and the smallest input shape its tests may
use, so the test suite exercises every registered model (shapes, binary recipe, geometry trace,
cost model, every method attached) with no test code of its own.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from torch import nn

from ..naming import UnknownNameError

ModelBuilder = Callable[..., nn.Sequential]


@dataclass(frozen=True)
class RegisteredModel:
    """A model builder ``fn(in_shape, num_classes, width) -> nn.Sequential`` and its shapes.

    input_shape: the (C, H, W) it is meant for (e.g. 3×32×32 for CIFAR-10);
    test_shape: the smallest (C, H, W) that exercises every layer kind (fast tests).
    """

    name: str
    builder: ModelBuilder
    input_shape: tuple[int, int, int]
    test_shape: tuple[int, int, int]

    @property
    def summary(self) -> str:
        """The first line of the builder's docstring."""
        return (self.builder.__doc__ or "").strip().splitlines()[0] if self.builder.__doc__ else ""


MODELS: dict[str, RegisteredModel] = {}


def register_model(name: str, *, input_shape: tuple[int, int, int],
                   test_shape: tuple[int, int, int] | None = None) -> Callable[[ModelBuilder], ModelBuilder]:
    """Register a builder ``fn(in_shape, num_classes, width) -> nn.Sequential`` under ``name``,
    with its default and smallest test input shapes (C, H, W; test_shape defaults to input_shape)."""
    def deco(fn: ModelBuilder) -> ModelBuilder:
        if name in MODELS:
            raise ValueError(f"model name '{name}' is already registered")
        MODELS[name] = RegisteredModel(name, fn, _shape(input_shape), _shape(test_shape or input_shape))
        return fn
    return deco


def _shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """``shape`` (C, H, W) as a tuple; a list argument is copied (its length is the caller's)."""
    return cast(tuple[int, int, int], tuple(shape))


def list_models() -> list[str]:
    return sorted(MODELS)


def model_info(name: str) -> RegisteredModel:
    """The registration of model ``name``; an unknown name lists the known ones."""
    if name not in MODELS:
        raise UnknownNameError("model", name, MODELS)
    return MODELS[name]


def build_model(name: str, in_shape: tuple[int, int, int] | None = None, num_classes: int = 10,
                width: float = 1.0) -> nn.Sequential:
    """Build model ``name`` for inputs of ``in_shape`` (C, H, W; default: its registered input
    shape) with channel widths × ``width``."""
    info = model_info(name)
    if width <= 0:
        raise ValueError(f"width multiplier must be > 0, got {width}")
    return info.builder(in_shape=tuple(in_shape or info.input_shape), num_classes=num_classes, width=width)


def scaled(channels: int, width: float) -> int:
    """Channel count × width multiplier, at least 1."""
    return max(1, round(channels * width))

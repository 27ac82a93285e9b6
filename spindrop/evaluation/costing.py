"""The cost-model registry of :func:`spindrop.evaluate` (timm style: ``@register_cost_model``,
``list_cost_models()``, ``get_cost_model()``).

The core prices no hardware itself (it may not import the packages above it, tests/test_layering.py):
a cost model registers here, on import, from its own package; installed packages declare it as an
entry point in the group ``spindrop.cost_models`` (``pyproject.toml``: ``mtj = "hardware.evaluation"``,
the MTJ-crossbar model of docs/hardware.md), so :func:`get_cost_model` finds it with no import by
the caller, as the method registry finds the built-in methods.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from torch import nn

from ..methods.base import Method
from ..naming import UnknownNameError
from ..registry import load_entry_points

ENTRY_POINT_GROUP = "spindrop.cost_models"


@dataclass(frozen=True)
class Priced:
    """A cost model's numbers for one network (metric key → value; None: not applicable), the unit
    of each (``units``), and ``note``: how it was priced, or why nothing was."""

    metrics: dict[str, float | None] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    note: str = ""


class CostModel(Protocol):
    """``price(model, method, input_shape, T, **options) -> Priced``: the modelled cost per image of
    T-sample MC inference of ``model`` (dropout sites of ``method``, None: not named) on inputs of
    ``input_shape`` (C, H, W)."""

    def __call__(self, model: nn.Module, method: Method | None, input_shape: tuple[int, ...], T: int,
                 **options: object) -> Priced: ...


_COST_MODELS: dict[str, CostModel] = {}


def register_cost_model(name: str) -> Callable[[CostModel], CostModel]:
    """Register a cost model under ``name`` (a duplicate name of another function is an error)."""
    def decorate(fn: CostModel) -> CostModel:
        if _COST_MODELS.get(name, fn) is not fn:
            raise ValueError(f"cost model '{name}' is already registered")
        _COST_MODELS[name] = fn
        return fn
    return decorate


def _discover() -> None:
    load_entry_points(ENTRY_POINT_GROUP, skip=_COST_MODELS)  # the module registers on import


def list_cost_models() -> list[str]:
    """Names of the registered (and installed) cost models, sorted."""
    _discover()
    return sorted(_COST_MODELS)


def get_cost_model(name: str) -> CostModel:
    """The cost model ``name``; an unknown name lists the known ones."""
    if name not in _COST_MODELS:
        _discover()
    if name not in _COST_MODELS:
        raise UnknownNameError("cost model", name, _COST_MODELS)
    return _COST_MODELS[name]

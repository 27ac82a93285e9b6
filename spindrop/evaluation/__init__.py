"""Evaluating a trained network: seeded MC predictions on a dataset's sets
(:mod:`~spindrop.evaluation.predict`), the measured metrics with their bootstrap replicates
(:mod:`~spindrop.evaluation.measures`), the cost-model registry (:mod:`~spindrop.evaluation.costing`),
and :func:`evaluate`, which puts them together for any network. The runner's suites use the same
functions (one implementation).

``evaluate`` and ``InputShapeError`` are imported on first use (PEP 562): a cost model registering
itself (``hardware``) imports only the registry.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .costing import CostModel, Priced, get_cost_model, list_cost_models, register_cost_model

if TYPE_CHECKING:
    from .evaluator import InputShapeError, evaluate

__all__ = ["CostModel", "InputShapeError", "Priced", "evaluate", "get_cost_model", "list_cost_models",
           "register_cost_model"]


def __getattr__(name: str) -> object:
    if name in ("evaluate", "InputShapeError"):
        return getattr(importlib.import_module(".evaluator", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

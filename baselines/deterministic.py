"""The deterministic binary network: no dropout, no modules, no draws."""
from __future__ import annotations

from spindrop.methods.base import Method, NoParams
from spindrop.registry import register_method


@register_method
class Deterministic(Method):
    """Plain BNN (BinaryNet). MC sampling returns T identical samples."""

    name = "deterministic"
    Config = NoParams
    stochastic = False
    summary = "deterministic BNN baseline (no dropout)"

"""Measurement suites and the runner (``python -m suites.run --all``)."""
from . import (  # noqa: F401  (registration)
    ablation,
    accuracy,
    calibration,
    hardware_cost,
    ood,
    robustness,
    selective,
    shift,
    temperature,
    tsweep,
)
from .base import SUITES, Suite, SuiteResult, Target, get_suite, list_suites, register_suite

__all__ = ["SUITES", "Suite", "SuiteResult", "Target", "get_suite", "list_suites", "register_suite"]

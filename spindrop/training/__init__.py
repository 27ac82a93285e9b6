"""Lightning training: profiles, specs, the LightningModule and the checkpoint cache.

Profiles and specs import eagerly; the Lightning parts (``train``, ``BNNClassifier``, ...) are
imported on first use (PEP 562), so a command that only lists or validates starts without
importing Lightning.
"""
from __future__ import annotations

import importlib

from .profiles import PROFILES, EvalPlan, Profile, TrainPlan, get_profile
from .spec import TrainerOptions, TrainSpec

_LAZY = {"Trained": "fit", "load_trained": "fit", "train": "fit",
         "BNNClassifier": "module", "TrainingDiverged": "module", "build_network": "module"}

__all__ = ["BNNClassifier", "EvalPlan", "PROFILES", "Profile", "TrainPlan", "TrainSpec", "Trained",
           "TrainerOptions", "TrainingDiverged", "build_network", "get_profile", "load_trained", "train"]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

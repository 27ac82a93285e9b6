"""The tuning protocol: per method and dataset, a declared grid searched on the validation split
(docs/design.md "Tuning protocol")."""
from .protocol import ACC_WINDOW, Trial, TuneRecord, TuningCache, grid_settings, search, select

__all__ = ["ACC_WINDOW", "Trial", "TuneRecord", "TuningCache", "grid_settings", "search", "select"]

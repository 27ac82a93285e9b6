"""Post-hoc recalibration of a trained method's MC predictive (no retraining, no hardware change)."""
from .temperature import TAU_RANGE, fit_temperature, tempered

__all__ = ["TAU_RANGE", "fit_temperature", "tempered"]

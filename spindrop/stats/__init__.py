"""Uncertainty of measured metrics: seeded vectorised bootstrap over images, paired differences,
t-intervals over seeds (docs/design.md "Statistics")."""
from .bootstrap import (
                        RESAMPLES,
                        calibration_replicates,
                        ood_replicates,
                        resample_weights,
                        weighted_mean,
                        weights_fingerprint,
)
from .intervals import LEVEL, Interval, paired_difference, percentile_interval, t_interval
from .replicates import Replicates

__all__ = ["LEVEL", "RESAMPLES", "Interval", "Replicates", "calibration_replicates", "ood_replicates",
           "paired_difference", "percentile_interval", "resample_weights", "t_interval", "weighted_mean",
           "weights_fingerprint"]

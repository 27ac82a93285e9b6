"""Uncertainty of measured metrics: seeded vectorised bootstrap over images (descriptive, per cell),
t-intervals over seeds, and verdicts between methods by a paired test over seeds with Holm's
correction (docs/design.md "Statistics")."""
from .bootstrap import (
                        RESAMPLES,
                        calibration_replicates,
                        ood_replicates,
                        resample_weights,
                        weighted_mean,
                        weights_fingerprint,
)
from .intervals import LEVEL, Interval, paired_difference, percentile_interval, t_interval
from .replicates import Replicates, mean_replicates
from .verdicts import ALPHA, MIN_SEEDS, PAIRED_T, PairedTest, holm, paired_t, significant

__all__ = ["ALPHA", "LEVEL", "MIN_SEEDS", "PAIRED_T", "RESAMPLES", "Interval", "PairedTest", "Replicates",
           "calibration_replicates", "holm", "mean_replicates", "ood_replicates", "paired_difference", "paired_t",
           "percentile_interval", "resample_weights", "significant", "t_interval", "weighted_mean",
           "weights_fingerprint"]

"""Metrics with the conventions of docs/design.md "Metrics": classification, calibration, OOD, MC
uncertainty, and the namespaced metric keys."""
from .calibration import N_BINS, CalibrationBins, calibration_bins, ece, mce
from .classification import accuracy, brier, nll
from .keys import evaluate_classification, evaluate_ood, evaluate_shift, namespaced
from .ood import aupr, aupr_in, auroc, detection_threshold, fpr_at_tpr, percent_detected
from .uncertainty import (
                          EPISTEMIC,
                          SCORE_NAMES,
                          expected_entropy,
                          max_softmax,
                          mutual_information,
                          ood_scores,
                          predictive_entropy,
                          predictive_mean,
)

__all__ = [
    "EPISTEMIC", "N_BINS", "SCORE_NAMES", "CalibrationBins", "accuracy", "aupr", "aupr_in", "auroc", "brier",
    "calibration_bins", "detection_threshold", "ece", "evaluate_classification", "evaluate_ood", "evaluate_shift",
    "expected_entropy", "fpr_at_tpr", "max_softmax", "mce", "mutual_information", "namespaced",
    "nll", "ood_scores", "percent_detected", "predictive_entropy", "predictive_mean",
]

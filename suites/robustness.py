"""Robustness suite: how device non-idealities of the *dropout modules* change accuracy and
uncertainty quality (measured; docs/hardware.md "Fault and variation models").

For each trained target (networks trained with ideal masks) the MC masks are drawn by the MTJ
device model of the run's preset, with one non-ideality at a time swept from the ideal device
(the profile's :class:`spindrop.training.profiles.FaultSweep`):

* ``sigma``: device-to-device σ of Δ and I_c0 (relative, both);
* ``stuck_drop`` / ``stuck_keep``: shares of modules stuck at drop / keep;
* ``p_drift``: relative error δ of the programmed p (the write driver targets p·(1 + δ)).

Every point is measured on ``draws`` seeded chips: chip d draws its modules with seed
1000·(training seed) + d and its MC masks with the seeds of set ``robust/d<d>/…``, the same at
every point, so two points differ only by the device (common random numbers). Metrics per point,
mean over the chips: test accuracy, ECE, NLL, and the AUROC of the main OOD set (the first of
:data:`spindrop.data.shift.OOD_SETS`) with the predictive entropy and the mutual information
(null for a network without dropout sites, as in the ``ood`` suite); ``…/std`` is the sample
standard deviation over the chips (the spread over chips), and the per-chip values are in the
cell's extras for the report's bands. Each point's mean has a 95 % bootstrap interval over the
test and OOD images (the same resamples for every chip and point, :mod:`spindrop.stats`): replicate
b of the mean over chips is the mean of the chips' replicates b. The ideal point (value 0) is measured once and stored
under every axis. A network without dropout sites has no modules to fault: it is measured once
and that value stands at every point (spread 0).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from hardware import MTJConfig, get_preset
from spindrop.data import seeded_subset
from spindrop.data.shift import OOD_SETS, ood_sets, ood_source_datasets
from spindrop.mc import MCOutput
from spindrop.methods.base import dropout_sites
from spindrop.metrics import EPISTEMIC, N_BINS, accuracy, auroc, calibration_bins, nll, ood_scores
from spindrop.report_spec import ReportTable
from spindrop.stats import Replicates, calibration_replicates, ood_replicates, weighted_mean
from spindrop.stats.bootstrap import RankedID
from spindrop.stats.terms import confidence, correct, nll_terms
from spindrop.store import MEASURED
from spindrop.training.profiles import FaultSweep

from .base import MEASURED_PROVENANCE, Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench

PREFIX = "robust"
CHIP_STRIDE = 1000  # chip seed = CHIP_STRIDE · training seed + draw index


@dataclass(frozen=True)
class Axis:
    """One swept non-ideality: the :class:`hardware.MTJConfig` fields set to the point's value."""

    name: str
    label: str
    fields: tuple[str, ...]

    def device(self, ideal: MTJConfig, value: float) -> MTJConfig:
        changes: dict[str, Any] = {f: value for f in self.fields}
        return replace(ideal, **changes)


AXES = (Axis("sigma", "σ of Δ and I_c0", ("sigma_delta", "sigma_ic0")),
        Axis("stuck_drop", "stuck-at-drop rate", ("stuck_at_drop_rate",)),
        Axis("stuck_keep", "stuck-at-keep rate", ("stuck_at_keep_rate",)),
        Axis("p_drift", "p drift δ", ("p_drift",)))
METRICS = ("acc", "ECE", "nll", "ood/entropy/AUROC", f"ood/{EPISTEMIC}/AUROC")
"""Metric names per point, after ``robust/<axis>/<value>/``."""


def point_key(axis: str, value: float, metric: str) -> str:
    """``robust/<axis>/<value>/<metric>``, the value as Python's shortest repr (``0.05``, ``-0.1``, ``0``)."""
    return f"{PREFIX}/{axis}/{format(value, 'g')}/{metric}"


def ideal_device(mtj: MTJConfig) -> MTJConfig:
    """``mtj`` without variation, faults and drift."""
    return replace(mtj, sigma_delta=0.0, sigma_ic0=0.0, stuck_at_drop_rate=0.0, stuck_at_keep_rate=0.0,
                   p_drift=0.0)


def sweep_points(sweep: FaultSweep) -> list[tuple[Axis, float]]:
    """The non-zero points of every axis, in order (the zero point is the shared reference)."""
    return [(axis, float(v)) for axis in AXES for v in getattr(sweep, axis.name) if v != 0]


def point_metrics(test: MCOutput, labels, ood: MCOutput) -> dict[str, float | None]:
    """The metrics of one evaluation (names of :data:`METRICS`)."""
    id_scores, ood_s = ood_scores(test.probs), ood_scores(ood.probs)
    return {"acc": accuracy(test.mean, labels), "ECE": calibration_bins(test.mean, labels).ece,
            "nll": nll(test.mean, labels),
            "ood/entropy/AUROC": auroc(id_scores["entropy"], ood_s["entropy"]),
            f"ood/{EPISTEMIC}/AUROC": auroc(id_scores[EPISTEMIC], ood_s[EPISTEMIC]) if test.stochastic else None}


def point_replicates(w_test: Tensor, w_ood: Tensor, test: MCOutput, labels: Tensor,
                     ood: MCOutput) -> dict[str, Tensor]:
    """Bootstrap replicates (B,) of :func:`point_metrics` on the resamples ``w_test`` (B, n) of the
    test images and ``w_ood`` (B, m) of the OOD images (:mod:`spindrop.stats.bootstrap`)."""
    id_scores, ood_s = ood_scores(test.probs), ood_scores(ood.probs)
    hits = correct(test.mean, labels)
    out = {"acc": weighted_mean(w_test, hits),
           "ECE": calibration_replicates(w_test, confidence(test.mean), hits, N_BINS)[0],
           "nll": weighted_mean(w_test, nll_terms(test.mean, labels))}
    for score in ("entropy", EPISTEMIC) if test.stochastic else ("entropy",):
        out[f"ood/{score}/AUROC"] = ood_replicates(RankedID.of(w_test, id_scores[score]), w_ood, ood_s[score])["AUROC"]
    return out


def _summary(values: list[float | None]) -> tuple[float | None, float | None]:
    """(mean, sample std over chips; 0 for one chip), or (None, None) if not applicable."""
    present = [v for v in values if v is not None]
    if len(present) < len(values):
        return None, None
    return statistics.fmean(present), (statistics.stdev(present) if len(present) > 1 else 0.0)


@register_suite
class RobustnessSuite(Suite):
    name = "robustness"
    group = "Robustness"
    kind = MEASURED
    # the sweep is built on the preset's MTJ (Δ, I_c0, … set how strongly σ moves p)
    provenance = (*(c for c in MEASURED_PROVENANCE if c != "masks"), "preset")
    summary = "accuracy, ECE, NLL, OOD AUROC vs device variation, stuck-at faults and p drift (measured)"

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *ood_source_datasets(dataset))

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """None: the report shows this suite in its own section and plots (:mod:`reports.robustness`)."""
        return []

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        plan = bench.profile.evaluation(target.dataset)
        sweep = plan.faults
        images, labels = bench.test_set(target.dataset)
        idx = seeded_subset(len(labels), sweep.test_subset, seed=2)
        if idx is not None:
            images, labels = images[idx], labels[idx]
        main_ood = OOD_SETS[target.dataset][0]
        ood_images = ood_sets(target.dataset, bench.data_root, n=sweep.ood_subset or plan.ood_subset, seed=0)[main_ood]
        ideal = ideal_device(get_preset(bench.preset).mtj)
        has_sites = bool(dropout_sites(bench.trained(target).model))
        reps = Replicates()
        sets = (f"{PREFIX}/test", f"{PREFIX}/ood/{main_ood}")
        with reps.timed():
            w_test, w_ood = reps.weights(sets[0], len(labels)), reps.weights(sets[1], len(ood_images))

        def measure(mtj: MTJConfig | None) -> tuple[list[dict[str, float | None]], dict[str, Tensor]]:
            runs, boot = [], []
            for d in range(sweep.draws if has_sites else 1):
                chip = CHIP_STRIDE * target.seed + d
                test = bench.predict_on(target, images, f"{PREFIX}/d{d}/test", mtj, chip)
                ood = bench.predict_on(target, ood_images, f"{PREFIX}/d{d}/ood/{main_ood}", mtj, chip)
                runs.append(point_metrics(test, labels, ood))
                with reps.timed():
                    boot.append(point_replicates(w_test, w_ood, test, labels, ood))
            # replicate b of the chip mean = mean over chips of replicate b (same resampled images)
            return runs, {m: torch.stack([b[m] for b in boot]).mean(0) for m in boot[0]}

        reference = measure(None)  # the ideal device realises ideal Bernoulli masks exactly
        per_point = {(axis.name, 0.0): reference for axis in AXES}
        for axis, value in sweep_points(sweep):
            per_point[axis.name, value] = measure(axis.device(ideal, value)) if has_sites else reference
        metrics: dict[str, float | None] = {}
        chips: dict[str, list[float | None]] = {}
        for (axis_name, value), (runs, boot) in sorted(per_point.items()):
            for m in METRICS:
                values = [r[m] for r in runs]
                mean, std = _summary(values)
                key = point_key(axis_name, value, m)
                metrics[key], metrics[f"{key}/std"] = mean, std
                chips[key] = values
                if m in boot:
                    reps.add(key, sets if m.startswith("ood/") else sets[:1], boot[m])
        extras = {"ood_set": main_ood, "draws": sweep.draws if has_sites else 1, "chips": chips,
                  "axes": {a.name: {"label": a.label, "values": sorted({0.0, *getattr(sweep, a.name)})} for a in AXES},
                  "images": {"test": len(labels), "ood": len(ood_images)}}
        return SuiteResult(metrics, extras, reps)

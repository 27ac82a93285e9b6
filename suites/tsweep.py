"""The T sweep: how many MC samples a method needs (docs/design.md "T sweep").

``tsweep`` (measured): accuracy, NLL and ECE of the MC predictive mean on the test images, and the
AUROC of the near-OOD set (entropy and mutual-information scores, OOD positive), at every T of the
profile's ``mc_sweep``, each with its bootstrap replicates on the same resamples as the accuracy,
calibration and OOD suites. Every T is a **prefix of one sequence** of T_max = max(mc_sweep) MC
passes on the same trained networks (no retraining, one set of passes serves every T); pass t has
the same masks as pass t of the other suites (same mask seeds), so at T = the run's T the sweep's
values are theirs. When T_max is the run's T the sweep reuses the accuracy suite's passes.

``tsweep_energy`` (modelled): the cost model's energy per image at every T of the sweep (the
energy suite's ``total``, :func:`hardware.cost_report`), on the run's hardware preset.

Near-OOD sets: the dataset's OOD sets of the near group (:func:`spindrop.data.shift.ood_group`,
OpenOOD's split: real image sets; noise and, for CIFAR-10, the digit sets are far), each with its
AUROC; the trade-off's quality is their mean, the report's headline OOD quantity.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.data.shift import NEAR, OOD_SETS, REAL_OOD_SETS, ood_group, ood_sets
from spindrop.mc import MCOutput
from spindrop.metrics import EPISTEMIC, N_BINS, accuracy, auroc, calibration_bins, nll, ood_scores
from spindrop.report_spec import HIGHER, LOWER, ReportColumn, ReportTable
from spindrop.stats import Replicates, calibration_replicates, ood_replicates, weighted_mean
from spindrop.stats.bootstrap import RankedID
from spindrop.stats.terms import confidence, correct, nll_terms
from spindrop.store import MEASURED, MODELLED
from spindrop.tradeoff import Quality, TradeOff

from .base import MODELLED_PROVENANCE, Suite, SuiteResult, Target, register_suite
from .hardware_cost import PJ

if TYPE_CHECKING:
    from torch import Tensor

    from .workbench import Workbench

SCORES = ("entropy", EPISTEMIC)
DELTAS = {"nll": (0.01, 0.05), "ECE": (0.005, 0.01), "AUROC": (0.005, 0.01, 0.02)}
"""δ of the "cheapest configuration within δ of the best" tables (NLL in nats, ECE and AUROC as
fractions: 0.5, 1 and 2 points)."""


def near_ood(dataset: str) -> tuple[str, ...]:
    """The near-OOD sets of ``dataset``."""
    return tuple(s for s in OOD_SETS[dataset] if ood_group(s) == NEAR)


def key(T: int, metric: str) -> str:
    """The sweep's name of ``metric`` at T MC samples: ``tsweep/T<T>/<metric>``."""
    return f"tsweep/T{T}/{metric}"


def sweep_of(bench: Workbench, dataset: str) -> tuple[int, ...]:
    return bench.profile.evaluation(dataset).mc_sweep


def tradeoff(sweep: tuple[int, ...], near: tuple[str, ...]) -> TradeOff:
    """Quality against energy over methods × T (:mod:`spindrop.tradeoff`): NLL, ECE and the
    near-OOD entropy AUROC (mean over the near sets) against the ``tsweep_energy`` suite's energy."""
    template = "tsweep/T{T}/"
    return TradeOff("tsweep_energy", template + "hw/energy/total_pJ", sweep, (
        Quality((template + "test/nll",), "NLL", LOWER, "number", DELTAS["nll"]),
        Quality((template + "test/cal/ECE",), "ECE %", LOWER, "percent", DELTAS["ECE"]),
        Quality(tuple(template + f"ood/{s}/entropy/AUROC" for s in near),
                f"near-OOD AUROC % (entropy; mean of {', '.join(near)})", HIGHER, "percent", DELTAS["AUROC"])))


@register_suite
class TSweepSuite(Suite):
    name = "tsweep"
    group = "T sweep"
    kind = MEASURED
    summary = "accuracy, NLL, ECE, near-OOD AUROC at each T of the profile's mc_sweep (prefixes of one MC run)"

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *dict.fromkeys(REAL_OOD_SETS[s].dataset for s in near_ood(dataset)))

    def passes(self, bench: Workbench, target: Target) -> tuple[MCOutput, Tensor, dict[str, MCOutput]]:
        """(test passes, test labels, near-OOD set → its passes): T_max passes each."""
        t_max = sweep_of(bench, target.dataset)[-1]
        if t_max == bench.T:
            test, labels = bench.test_predictions(target)
        else:
            images, labels = bench.test_set(target.dataset)
            test = bench.predict(target, images, "test", T=t_max)
        sets = ood_sets(target.dataset, bench.data_root, n=bench.profile.evaluation(target.dataset).ood_subset,
                        seed=0)  # the OOD suite's images of each set
        return test, labels, {name: bench.predict(target, sets[name], f"ood/{name}", T=t_max)
                              for name in near_ood(target.dataset)}

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        test, labels, near = self.passes(bench, target)
        metrics: dict[str, float | None] = {}
        reps = Replicates()
        with reps.timed():
            w_test = reps.weights("test", len(labels))
            w_ood = {name: reps.weights(f"ood/{name}", out.probs.shape[1]) for name, out in near.items()}
        for T in sweep_of(bench, target.dataset):
            out = MCOutput(test.probs[:T], test.stochastic)
            mean = out.mean
            metrics[key(T, "test/acc")] = accuracy(mean, labels)
            metrics[key(T, "test/nll")] = nll(mean, labels)
            metrics[key(T, "test/cal/ECE")] = calibration_bins(mean, labels).ece
            id_scores = ood_scores(out.probs)
            with reps.timed():
                reps.add(key(T, "test/acc"), ("test",), weighted_mean(w_test, correct(mean, labels)))
                reps.add(key(T, "test/nll"), ("test",), weighted_mean(w_test, nll_terms(mean, labels)))
                ece, _ = calibration_replicates(w_test, confidence(mean), correct(mean, labels), N_BINS)
                reps.add(key(T, "test/cal/ECE"), ("test",), ece)
            for name, ood in near.items():
                set_scores = ood_scores(ood.probs[:T])
                for score in SCORES:
                    metric = key(T, f"ood/{name}/{score}/AUROC")
                    # MI is identically 0 with one pass or without sampling: its AUROC would be a tie artefact
                    if score == EPISTEMIC and (T == 1 or not test.stochastic):
                        metrics[metric] = None
                        continue
                    metrics[metric] = auroc(id_scores[score], set_scores[score])
                    with reps.timed():
                        found = ood_replicates(RankedID.of(w_test, id_scores[score]), w_ood[name], set_scores[score])
                        reps.add(metric, ("test", f"ood/{name}"), found["AUROC"])
        tradeoff_json = tradeoff(sweep_of(bench, target.dataset), tuple(near)).to_json()
        return SuiteResult(metrics, {"near_ood": list(near), "tradeoff": tradeoff_json}, reps)

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """One table per quantity, one column per T."""
        sweep = _sweep_in(metric_names)
        sets = sorted({m.split("/")[3] for m in metric_names if m.split("/")[2] == "ood"})
        quantities = [("accuracy %", "test/acc", HIGHER, "percent"), ("NLL", "test/nll", LOWER, "number"),
                      ("ECE %", "test/cal/ECE", LOWER, "percent")]
        quantities += [(f"near-OOD AUROC % ({s}, {score.replace('_', ' ')} score)", f"ood/{s}/{score}/AUROC",
                        HIGHER, "percent") for s in sets for score in SCORES]
        return [table for title, metric, better, fmt in quantities
                if (table := _sweep_table(f"T sweep: {title}", sweep, metric, better, fmt, metric_names)).columns]


@register_suite
class TSweepEnergySuite(Suite):
    name = "tsweep_energy"
    group = "T sweep"
    kind = MODELLED
    needs_training = False
    provenance = (*MODELLED_PROVENANCE, "profile")  # the sweep's T values are the profile's
    summary = "modelled energy per image at each T of the profile's mc_sweep"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        return SuiteResult({key(T, "hw/energy/total_pJ"): bench.cost(target, T=T).energy.total * PJ
                            for T in sweep_of(bench, target.dataset)})

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        return [_sweep_table(f"T sweep: modelled energy per image ({bench.preset})", _sweep_in(metric_names),
                             "hw/energy/total_pJ", LOWER, "energy", metric_names)]


def _sweep_in(metric_names: list[str]) -> list[int]:
    return sorted({int(m.split("/")[1].removeprefix("T")) for m in metric_names if m.startswith("tsweep/T")})


def _sweep_table(title: str, sweep: list[int], metric: str, better: str, fmt: str,
                 metric_names: list[str]) -> ReportTable:
    return ReportTable(title, tuple(ReportColumn(f"T={T}", (key(T, metric),), better, fmt)
                                    for T in sweep if key(T, metric) in metric_names))

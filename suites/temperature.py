"""Temperature scaling suite: every method, the deterministic one included, + one temperature τ̂
fitted on the validation split's NLL (never on test data) and applied to the MC predictive mean
(:mod:`spindrop.posthoc.temperature`); accuracy, NLL, Brier, ECE and MCE of the scaled predictive
on the test images, with bootstrap replicates (docs/design.md "Temperature scaling").

Its rows are ``<method>+ts``: the same trained networks and the same T passes as the method's own
rows, so its modelled hardware cost is the method's (energy suite); the scaling itself is one
division and one softmax per image in the digital periphery, which the cost model does not price
(no crossbar read, no dropout event: zero modelled cost).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.metrics import N_BINS, accuracy, brier, calibration_bins, nll
from spindrop.posthoc import fit_temperature, tempered
from spindrop.report_spec import ReportColumn, ReportTable, fixed_table
from spindrop.stats import Replicates, calibration_replicates, weighted_mean
from spindrop.stats.terms import brier_terms, confidence, correct, nll_terms
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench


@register_suite
class TemperatureSuite(Suite):
    name = "temperature"
    group = "Calibration"
    kind = MEASURED
    summary = "method + temperature scaling (τ fitted on validation NLL): acc, NLL, Brier, ECE, MCE"

    def fit(self, bench: Workbench, target: Target) -> float:
        """τ̂ of ``target``: the validation NLL's minimiser (reads the validation split only)."""
        out, labels = bench.validation_predictions(target)
        return fit_temperature(out.mean, labels)

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        tau = self.fit(bench, target)
        out, labels = bench.test_predictions(target)
        probs = tempered(out.mean, tau)
        bins = calibration_bins(probs, labels)
        metrics: dict[str, float | None] = {
            "ts/test/acc": accuracy(probs, labels), "ts/test/nll": nll(probs, labels),
            "ts/test/brier": brier(probs, labels), "ts/test/cal/ECE": bins.ece, "ts/test/cal/MCE": bins.mce,
            "ts/temperature": tau}
        reps = Replicates()
        with reps.timed():
            w = reps.weights("test", len(labels))
            for name, terms in (("acc", correct(probs, labels)), ("nll", nll_terms(probs, labels)),
                                ("brier", brier_terms(probs, labels))):
                reps.add(f"ts/test/{name}", ("test",), weighted_mean(w, terms))
            ece, mce = calibration_replicates(w, confidence(probs), correct(probs, labels), N_BINS)
            reps.add("ts/test/cal/ECE", ("test",), ece)
            reps.add("ts/test/cal/MCE", ("test",), mce)
        return SuiteResult(metrics, {"reliability": bins.to_dict()}, reps)

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        # MCE stays in results.csv, out of the table: over a nearly empty bin it is noise (docs/design.md)
        table = fixed_table("Temperature scaling: each row is that method's networks + τ fitted on "
                            "validation NLL (<method>+ts; no added hardware cost)",
                            (("Acc", "ts/test/acc"), ("NLL", "ts/test/nll"), ("Brier", "ts/test/brier"),
                             ("ECE", "ts/test/cal/ECE")), metric_names)
        tau = ReportColumn("τ (fitted)", ("ts/temperature",), None, "number")
        return [ReportTable(table.title, (*table.columns, *([tau] if "ts/temperature" in metric_names else [])))]

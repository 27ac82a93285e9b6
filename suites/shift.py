"""Shift suite: accuracy and ECE on corrupted test images at the profile's severities.

Each dataset has its corruption family (``spindrop.data.shift.CORRUPTION_SETS``): MNIST-C style
digit corruptions for MNIST and Fashion-MNIST, CIFAR-10-C style ones for CIFAR-10.

One bootstrap resample of the shift images serves every corruption and severity, so a mean over
severities has replicates too (docs/design.md "Statistics").
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from spindrop.data import corrupt, list_corruptions
from spindrop.metrics import N_BINS, evaluate_shift
from spindrop.report_spec import ReportColumn, ReportTable, direction
from spindrop.stats import Replicates, calibration_replicates, weighted_mean
from spindrop.stats.terms import confidence, correct
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite

if TYPE_CHECKING:
    from .workbench import Workbench


@register_suite
class ShiftSuite(Suite):
    name = "shift"
    group = "Shift"
    kind = MEASURED
    summary = "accuracy and ECE under the dataset's corruptions (MNIST-C style for digits, CIFAR-10-C style)"

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        images, labels = bench.shift_set(target.dataset)
        metrics: dict[str, float] = {}
        reps = Replicates()  # one resample of the shift images for every corruption and severity
        for name in list_corruptions(target.dataset):
            for severity in bench.profile.evaluation(target.dataset).severities:
                shifted = corrupt(images, name, severity, seed=0)
                out = bench.predict(target, shifted, f"shift/{name}/{severity}")
                metrics.update(evaluate_shift(out.mean, labels, name, severity))
                with reps.timed():
                    w, hits = reps.weights("shift", len(labels)), correct(out.mean, labels)
                    reps.add(f"shift/{name}/{severity}/acc", ("shift",), weighted_mean(w, hits))
                    ece, _ = calibration_replicates(w, confidence(out.mean), hits, N_BINS)
                    reps.add(f"shift/{name}/{severity}/ECE", ("shift",), ece)
        return SuiteResult(metrics, replicates=reps)

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """Accuracy and ECE tables: per corruption the mean over its severities, then the mean over all."""
        keys = [n.split("/") for n in metric_names if n.startswith("shift/") and n.count("/") == 3]
        corruptions = list(dict.fromkeys(k[1] for k in keys))
        tables = []
        for metric, title in (("acc", "Shift: accuracy %"), ("ECE", "Shift: ECE %")):
            of = {c: tuple(f"shift/{c}/{k[2]}/{metric}" for k in keys if k[1] == c and k[3] == metric)
                  for c in corruptions}
            columns = [ReportColumn(c, of[c], direction(metric), "percent") for c in corruptions if of[c]]
            every = tuple(m for c in corruptions for m in of[c])
            if every:
                columns.append(ReportColumn("mean", every, direction(metric), "percent"))
            tables.append(ReportTable(f"{title} (mean over severities)", tuple(columns)))
        return tables

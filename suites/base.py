"""The suite interface and registry.

A suite declares what it needs (``needs_training``), which report group its metrics belong
to (``group``), how the report lays them out (:meth:`Suite.report_tables`, stored with each of its
cells, so the report renders any suite, a plugin's included, with no edit in ``reports/``), and
whether its numbers are measured (from trained networks on data) or modelled (from the hardware
cost model). ``run`` yields namespaced metrics (and optional plot data) for one target: a
(dataset, model, method, parameters, seed) combination.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from spindrop.naming import UnknownNameError
from spindrop.report_spec import ReportTable, SuiteReport, generic_table
from spindrop.stats import Replicates
from spindrop.store import Target

if TYPE_CHECKING:
    from .workbench import Workbench


@dataclass
class SuiteResult:
    """Namespaced metrics (None: not applicable to this method, shown as "—") and plot data;
    for measured metrics also their bootstrap ``replicates`` on the shared image resamples
    (:mod:`spindrop.stats`), from which :meth:`intervals` and the report's paired comparisons come."""

    metrics: dict[str, float | None]
    extras: dict = field(default_factory=dict)
    replicates: Replicates | None = None

    def __post_init__(self) -> None:
        if self.replicates is not None:
            self.extras.setdefault("bootstrap_seconds", self.replicates.seconds)

    def intervals(self) -> dict[str, dict[str, float | int]]:
        """metric → {"ci_low", "ci_high", "n"}: the 95 % percentile bootstrap interval over the
        metric's images and their number, for every applicable metric with replicates."""
        reps = self.replicates
        if reps is None:
            return {}
        return {m: dict(zip(("ci_low", "ci_high", "n"), reps.interval(m)))
                for m, v in self.metrics.items() if v is not None and m in reps.values}


MEASURED_PROVENANCE = ("code", "method_params", "profile", "data", "trainer", "masks")
"""What a measured cell's numbers depend on (see :mod:`suites.provenance`)."""
MODELLED_PROVENANCE = ("code", "method_params", "preset")
"""What a cost-model cell's numbers depend on: no training, no data, the hardware preset."""


class Suite:
    """A measurement. ``provenance`` names what its numbers depend on besides the cell's key
    (target, suite, profile name, T); a stored cell whose provenance differs is stale."""

    name: ClassVar[str]
    group: ClassVar[str] = ""
    """The report section of its tables ("" : a section named after the suite)."""
    kind: ClassVar[str]
    needs_training: ClassVar[bool] = True
    provenance: ClassVar[tuple[str, ...]] = MEASURED_PROVENANCE
    summary: ClassVar[str] = ""

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        """Registered datasets whose files this suite reads for in-distribution ``dataset``."""
        return (dataset,) if self.needs_training else ()

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        raise NotImplementedError

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """The report's tables of a cell with these metric names (in the order :meth:`run` wrote
        them); default: one table named after the suite, one column per metric, direction and
        format from the metric's last part (:func:`spindrop.report_spec.generic_table`)."""
        return [generic_table(self.name, metric_names)]

    def report(self, metric_names: list[str], bench: Workbench) -> dict:
        """What an ok cell stores for the report: ``{"group": ..., "tables": [...]}``."""
        return SuiteReport(self.group or self.name, tuple(self.report_tables(metric_names, bench))).to_json()


SUITES: dict[str, type[Suite]] = {}


def register_suite(cls: type[Suite]) -> type[Suite]:
    if cls.name in SUITES:
        raise ValueError(f"suite '{cls.name}' is already registered")
    SUITES[cls.name] = cls
    return cls


def list_suites() -> list[str]:
    return list(SUITES)


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise UnknownNameError("suite", name, SUITES)
    return SUITES[name]()

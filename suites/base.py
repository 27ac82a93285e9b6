"""The suite interface and registry.

A suite declares what it needs (``needs_training``), which report group its metrics belong
to (``group``), how the report lays them out (:meth:`Suite.report_tables`, stored with each of its
cells, so the report renders any suite, a plugin's included, with no edit in ``reports/``), and
whether its numbers are measured (from trained networks on data) or modelled (from the hardware
cost model), and which of its quantities are key, compared between methods in the report's opening
section (:meth:`Suite.headline`). ``run`` yields namespaced metrics (and optional plot data) for one target: a
(dataset, model, method, parameters, seed) combination.

Suites register with :func:`register_suite`: the built-in ones when ``suites`` is imported, a
plugin package's through an entry point in the group ``spindrop.suites`` (the entry point names a
module, which registers on import, or a :class:`Suite` class), found by :func:`list_suites` and
:func:`get_suite` with no ``--plugin`` on the command line. A cell's code fingerprint covers its
suite's module and what it imports, not this registry (:func:`suites.provenance.cell_code_fingerprint`),
so registering a suite leaves every other cell fresh.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from spindrop.naming import UnknownNameError
from spindrop.plot_spec import PlotSpec
from spindrop.registry import load_entry_points
from spindrop.report_spec import ReportColumn, ReportTable, SuiteReport, generic_table
from spindrop.stats import Replicates
from spindrop.stats import mean_replicates as mean_replicates  # the suites' replicates API (CONTRIBUTING)
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

    def headline(self, metric_names: list[str]) -> list[ReportColumn]:
        """The suite's key quantities among these metric names: the report's opening section compares
        them between methods, by a paired test over seeds (docs/design.md "Statistics"). A column's
        value per seed is the mean of its metrics (e.g. over the near-OOD sets). Default: none."""
        return []

    def plots(self, metric_names: list[str]) -> list[PlotSpec]:
        """Figures the report draws for this suite per (dataset, model), from these metric names
        (:class:`spindrop.plot_spec.PlotSpec`: one line per method, mean over seeds with its 95 %
        interval); default: none."""
        return []

    def report(self, metric_names: list[str], bench: Workbench) -> dict:
        """What an ok cell stores for the report: ``{"group": ..., "tables": [...], "headline": [...],
        "plots": [...]}``."""
        return {**SuiteReport(self.group or self.name, tuple(self.report_tables(metric_names, bench)),
                              tuple(self.headline(metric_names))).to_json(),
                "plots": [p.to_json() for p in self.plots(metric_names)]}


SUITES: dict[str, type[Suite]] = {}


ENTRY_POINT_GROUP = "spindrop.suites"
_discovered = False


def register_suite(cls: type[Suite]) -> type[Suite]:
    """Class decorator: register ``cls`` under ``cls.name`` (again for the same class: no-op)."""
    existing = SUITES.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"suite '{cls.name}' is already registered by {existing.__module__}."
                         f"{existing.__qualname__}; choose another name")
    SUITES[cls.name] = cls
    return cls


def discover_suites(refresh: bool = False) -> None:
    """Load the installed entry points of group :data:`ENTRY_POINT_GROUP` (once, or again on refresh)."""
    global _discovered
    if _discovered and not refresh:
        return
    _discovered = True
    load_entry_points(ENTRY_POINT_GROUP, _register_if_suite)


def _register_if_suite(obj: object) -> None:
    if isinstance(obj, type) and issubclass(obj, Suite):
        register_suite(obj)


def list_suites() -> list[str]:
    """Names of the registered suites (entry points included), in registration order."""
    discover_suites()
    return list(SUITES)


def get_suite(name: str) -> Suite:
    discover_suites()
    if name not in SUITES:
        raise UnknownNameError("suite", name, SUITES)
    return SUITES[name]()

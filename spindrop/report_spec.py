"""What a suite declares about its report: its group and its tables (plain data, stored with its cells).

A suite (:meth:`suites.base.Suite.report_tables`) lays out its own metrics as
:class:`ReportTable`\\ s of :class:`ReportColumn`\\ s; the runner stores them, with the suite's
group, in every ok cell (``Cell.report``), and :mod:`reports.tables` renders any suite, a plugin
suite included, from what its cells hold. This module sits below both (docs/design.md "Packages"),
so neither imports the other.

A column's value for one seed is the mean of those of its ``metrics`` the seed has (e.g. one
corruption's severities); ``better`` is its direction (None: no best); ``format`` says how to
show it (:data:`FORMATS`).
"""
from __future__ import annotations

from dataclasses import dataclass

HIGHER, LOWER = "higher", "lower"

FORMATS = ("percent", "count", "number", "energy")
"""percent: a fraction in [0, 1] shown ×100 with two decimals; count: an integer; number: three
decimals; energy: a value in pJ shown in nJ or µJ, whichever suits the column's largest value."""

# Direction by the last part of a metric name.
DIRECTIONS = {"acc": HIGHER, "AUROC": HIGHER, "AUPR_In": HIGHER, "AUPR_Out": HIGHER, "detected": HIGHER,
              "nll": LOWER, "brier": LOWER, "ECE": LOWER, "MCE": LOWER, "FPR95": LOWER,
              "modules": LOWER, "draws": LOWER, "draws_per_pass": LOWER, "tiles": LOWER}
# Fractions in [0, 1] and counts, by the last part of a metric name.
PERCENT = {"acc", "ECE", "MCE", "AUROC", "AUPR_In", "AUPR_Out", "FPR95", "detected"}
COUNTS = {"modules", "draws", "draws_per_pass", "tiles", "MCE_images"}


@dataclass(frozen=True)
class ReportColumn:
    """One column: its header label (units included, no direction arrow), the metrics a seed's
    value averages, its direction ('higher', 'lower' or None) and its format (:data:`FORMATS`)."""

    label: str
    metrics: tuple[str, ...]
    better: str | None = None
    format: str = "number"

    def __post_init__(self) -> None:
        if self.better not in (HIGHER, LOWER, None):
            raise ValueError(f"column '{self.label}': better={self.better!r}; use 'higher', 'lower' or None")
        if self.format not in FORMATS:
            raise ValueError(f"column '{self.label}': format={self.format!r}; use one of {', '.join(FORMATS)}")
        if not self.metrics:
            raise ValueError(f"column '{self.label}' names no metric; give at least one metric name")

    def to_json(self) -> dict:
        return {"label": self.label, "metrics": list(self.metrics), "better": self.better, "format": self.format}

    @classmethod
    def from_json(cls, d: dict) -> ReportColumn:
        return cls(d["label"], tuple(d["metrics"]), d.get("better"), d.get("format", "number"))


@dataclass(frozen=True)
class ReportTable:
    """One table of a suite: its title and its columns (methods are its rows)."""

    title: str
    columns: tuple[ReportColumn, ...]

    def to_json(self) -> dict:
        return {"title": self.title, "columns": [c.to_json() for c in self.columns]}

    @classmethod
    def from_json(cls, d: dict) -> ReportTable:
        return cls(d["title"], tuple(ReportColumn.from_json(c) for c in d["columns"]))


@dataclass(frozen=True)
class SuiteReport:
    """A suite's report metadata as stored in each of its ok cells: its group, its tables and its
    ``headline``, the key quantities (columns with a direction) that the report's opening section
    compares between methods (:meth:`suites.base.Suite.headline`; none: the suite states no verdict
    there)."""

    group: str
    tables: tuple[ReportTable, ...]
    headline: tuple[ReportColumn, ...] = ()

    def to_json(self) -> dict:
        return {"group": self.group, "tables": [t.to_json() for t in self.tables],
                "headline": [c.to_json() for c in self.headline]}

    @classmethod
    def from_json(cls, d: dict) -> SuiteReport:
        return cls(d["group"], tuple(ReportTable.from_json(t) for t in d["tables"]),
                   tuple(ReportColumn.from_json(c) for c in d.get("headline", ())))


def leaf(metric: str) -> str:
    """The last part of a metric name (``AUROC`` of ``ood/mnist/entropy/AUROC``)."""
    return metric.rsplit("/", 1)[-1]


def direction(metric: str) -> str | None:
    """'higher', 'lower' or None (no best) for a metric name, from its last part."""
    return DIRECTIONS.get(leaf(metric))


def metric_format(metric: str) -> str:
    """The format of a metric name, from its last part: percent, count or number."""
    name = leaf(metric)
    return "percent" if name in PERCENT else "count" if name in COUNTS else "number"


def metric_column(label: str, metrics: tuple[str, ...]) -> ReportColumn:
    """A column whose direction and format follow its (first) metric's name; a percentage's label
    gets " %"."""
    fmt = metric_format(metrics[0])
    return ReportColumn(f"{label} %" if fmt == "percent" else label, metrics, direction(metrics[0]), fmt)


def generic_table(title: str, names: list[str]) -> ReportTable:
    """One column per metric name, labelled by it, direction and format from its last part."""
    return ReportTable(title, tuple(metric_column(n, (n,)) for n in names))


def fixed_table(title: str, spec: tuple[tuple[str, str], ...], names: list[str]) -> ReportTable:
    """A table of (label, metric) columns (:func:`metric_column`), each kept if ``names`` has its metric."""
    return ReportTable(title, tuple(metric_column(label, (m,)) for label, m in spec if m in names))


def energy_parts(names: list[str]) -> tuple[list[str], list[str]]:
    """(leaf components, aggregates) among ``hw/energy/<part>_pJ`` metric names. A part is an
    aggregate if it is ``total`` or another part's name extends it (``dropout`` of ``dropout_write``)."""
    parts = [n.removeprefix("hw/energy/").removesuffix("_pJ") for n in names if n.startswith("hw/energy/")]
    aggregates = [p for p in parts if p == "total" or any(q.startswith(p + "_") for q in parts)]
    return [p for p in parts if p not in aggregates], aggregates


DEFAULT_REFERENCE = "mc_dropout"
"""The method a report compares every other with when no ``--reference`` is given."""

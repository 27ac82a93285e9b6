"""What a suite declares about its figures (plain data, stored with its cells, like its tables).

A suite (:meth:`suites.base.Suite.plots`) declares :class:`PlotSpec`\\ s; the runner stores them
in every ok cell (``Cell.report["plots"]``) and :mod:`reports.plots` draws each one per (dataset,
model), a plugin suite's included, with no edit in ``reports/``. This module sits below both
(docs/design.md "Packages").
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlotSpec:
    """A line plot: one line per method through the points (``x[i]``, value of ``metrics[i]``),
    each value the mean over seeds with its 95 % interval as a bar (the report's statistics,
    docs/design.md "Statistics"); a percentage metric (``spindrop.report_spec.metric_format``) is
    shown ×100. ``log_x``: a logarithmic x axis (e.g. the number of MC samples T)."""

    title: str
    x_label: str
    y_label: str
    x: tuple[float, ...]
    metrics: tuple[str, ...]
    log_x: bool = False

    def __post_init__(self) -> None:
        if not self.metrics or len(self.x) != len(self.metrics):
            raise ValueError(f"plot '{self.title}': give one x per metric ({len(self.x)} x for "
                             f"{len(self.metrics)} metrics) and at least one metric")
        if self.log_x and min(self.x) <= 0:
            raise ValueError(f"plot '{self.title}': a log x axis needs positive x, got {min(self.x)}")

    def to_json(self) -> dict:
        return {"title": self.title, "x_label": self.x_label, "y_label": self.y_label, "x": list(self.x),
                "metrics": list(self.metrics), "log_x": self.log_x}

    @classmethod
    def from_json(cls, d: dict) -> PlotSpec:
        return cls(d["title"], d["x_label"], d["y_label"], tuple(float(v) for v in d["x"]), tuple(d["metrics"]),
                   bool(d.get("log_x", False)))

"""Quality against energy: what a suite declares about it and the two rules the report applies
(docs/design.md "Quality against energy").

A suite that measures a quality at several operating points (the T sweep: methods × T) declares a
:class:`TradeOff` in its cells' extras: where its energy per image is (a modelled metric of
another suite, with ``{T}`` in its name), and each quality with its direction and the δ values of
the "cheapest within δ of the best" table. Plain data (JSON in the cells), so the report
(:mod:`reports.tradeoff`) renders any suite's declaration with no edit in ``reports/``; this module
sits below both.

The rules, on the means over seeds (descriptive: they mark the means, not a significance test):

* Pareto set: configuration i is on it unless another j is at most as costly and at least as
  good, and strictly better in one of the two (E_j ≤ E_i and q_j ⪰ q_i, one strict).
* Cheapest within δ: among the configurations whose quality is within δ of the best quality
  (q ≥ q* − δ for "higher", q ≤ q* + δ for "lower", up to 1e-12 of float rounding), the one of
  least energy (ties: the better quality, then the first).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .report_spec import HIGHER, LOWER


@dataclass(frozen=True)
class Quality:
    """A measured quality: its metric names (with ``{T}`` for the operating point; a seed's value is
    their mean, e.g. over the near-OOD sets), header label, direction, format
    (:data:`spindrop.report_spec.FORMATS`) and the δ values of its "cheapest within δ" table, in the
    metrics' own units (a fraction for a percent)."""

    metrics: tuple[str, ...]
    label: str
    better: str
    format: str
    deltas: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.better not in (HIGHER, LOWER):
            raise ValueError(f"quality '{self.label}': better={self.better!r}; use 'higher' or 'lower'")
        if any(d < 0 for d in self.deltas):
            raise ValueError(f"quality '{self.label}': δ values {self.deltas} must be >= 0")


@dataclass(frozen=True)
class TradeOff:
    """Where the energy per image is (``energy_suite``'s metric ``energy``, ``{T}`` in it), the
    operating points (``points``: the T values) and the qualities (metrics of the declaring suite)."""

    energy_suite: str
    energy: str
    points: tuple[int, ...]
    qualities: tuple[Quality, ...]

    def to_json(self) -> dict:
        return {"energy_suite": self.energy_suite, "energy": self.energy, "points": list(self.points),
                "qualities": [{"metrics": list(q.metrics), "label": q.label, "better": q.better, "format": q.format,
                               "deltas": list(q.deltas)} for q in self.qualities]}

    @classmethod
    def from_json(cls, d: dict) -> TradeOff:
        return cls(d["energy_suite"], d["energy"], tuple(d["points"]),
                   tuple(Quality(tuple(q["metrics"]), q["label"], q["better"], q["format"], tuple(q["deltas"]))
                         for q in d["qualities"]))


def _at_least_as_good(a: float, b: float, better: str) -> bool:
    return a >= b if better == HIGHER else a <= b


def pareto_front(energy: Sequence[float], quality: Sequence[float], better: str) -> list[bool]:
    """Whether each configuration is on the Pareto set of (least energy, best quality)."""
    n = len(energy)
    return [not any(energy[j] <= energy[i] and _at_least_as_good(quality[j], quality[i], better)
                    and (energy[j] < energy[i] or quality[j] != quality[i]) for j in range(n) if j != i)
            for i in range(n)]


def cheapest_within(energy: Sequence[float], quality: Sequence[float], better: str, delta: float) -> int:
    """Index of the least-energy configuration whose quality is within ``delta`` of the best."""
    best = max(quality) if better == HIGHER else min(quality)
    sign = 1.0 if better == HIGHER else -1.0
    slack = delta + 1e-12 * max(1.0, abs(best))  # a quality exactly δ from the best is within δ
    near = [i for i in range(len(energy)) if sign * (quality[i] - best) >= -slack]
    return min(near, key=lambda i: (energy[i], -sign * quality[i], i))

"""What the data support: paired differences of the declared key quantities between methods.

Each suite declares its key quantities (:meth:`suites.base.Suite.headline`, stored with its cells);
this module names no suite. For every (dataset, model), every method is compared with the reference
method (``--reference``, default ``mc_dropout``), and SpinDrop with MC-SpatialDropout (the paper's
comparison), on each declared quantity. A difference is judged by the paired t-test over the seeds
both methods have (:meth:`reports.results.Results.paired`); the comparisons of one (dataset, model)
are one family, whose p-values are Holm-adjusted (:func:`spindrop.stats.holm`); a difference is
*significant* when its adjusted p is below 0.05 with at least 3 seeds
(:func:`spindrop.stats.significant`). With fewer seeds no verdict is stated. The report's opening
section, the forest plots and ``comparisons.csv`` all come from :func:`comparisons`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from spindrop.report_spec import ReportColumn
from spindrop.stats import ALPHA, MIN_SEEDS, holm, significant

from .results import Paired, Results, dataset_name
from .tables import ONE_NETWORK, Column, format_delta, render_column

PAPER_PAIR = ("spatial", "spindrop")
"""Compared with each other whatever the reference (arXiv 2306.10185 compares them)."""


@dataclass(frozen=True)
class Quantity:
    """A declared key quantity: the suite that declared it and its rendered column."""

    suite: str
    column: Column


@dataclass(frozen=True)
class Comparison:
    """One paired difference ``a − b`` of a key quantity on (dataset, model), with its Holm-adjusted
    p-value within its family (None: no test, e.g. one seed) and the family's size."""

    dataset: str
    model: str
    quantity: Quantity
    paired: Paired
    adjusted_p: float | None = None
    family: int = 0

    @property
    def significant(self) -> bool:
        return significant(self.adjusted_p, self.paired.seeds)

    @property
    def text(self) -> str:
        delta = format_delta(self.paired, self.quantity.column, self.adjusted_p)
        if self.paired.seeds < MIN_SEEDS:
            return f"{self.quantity.column.label} {delta}"
        verdict = "significant" if self.significant else "not significant"
        return f"{self.quantity.column.label} {delta}, {verdict}"

    def row(self) -> dict[str, object]:
        """A row of ``comparisons.csv`` (fractions, not percentages): Δ and its interval, the test,
        its raw and Holm-adjusted p-values, the number of paired seeds, the family's size and the
        verdict."""
        d, p = self.paired.delta, self.paired.p
        return {"dataset": self.dataset, "model": self.model, "quantity": self.quantity.column.label,
                "metrics": " ".join(self.quantity.column.metrics), "method": self.paired.a, "versus": self.paired.b,
                "delta": d.value, "ci_low": d.low, "ci_high": d.high, "test": self.paired.test,
                "seeds": self.paired.seeds, "p": math.nan if p is None else p,
                "p_holm": math.nan if self.adjusted_p is None else self.adjusted_p,
                "family_size": self.family, "significant": self.significant}


def declared_quantities(res: Results, suite: str, dataset: str, model: str) -> list[ReportColumn]:
    """The key quantities ``suite`` declared in its ok cells on (dataset, model), merged by label
    (first-seen order; a label's metrics united over the cells)."""
    merged: dict[str, ReportColumn] = {}
    for spec in res.report_specs(suite, dataset, model):
        for col in spec.headline:
            seen = merged.get(col.label)
            merged[col.label] = col if seen is None else replace(
                seen, metrics=tuple(dict.fromkeys((*seen.metrics, *col.metrics))))
    return list(merged.values())


def _pairs(res: Results, suite: str, dataset: str, model: str) -> list[tuple[str, str]]:
    labels = res.labels(suite, dataset, model)
    ref = res.reference_label(suite, dataset, model)
    pairs = [(label, ref) for label in labels if ref is not None and label != ref]
    a, b = PAPER_PAIR
    if a in labels and b in labels and (a, b) not in pairs and (b, a) not in pairs:
        pairs.append((a, b))
    return pairs


def comparisons(res: Results) -> list[Comparison]:
    """Every available comparison, by (dataset, model), suite, declared quantity, then pair; the
    family of a comparison is every comparison of its (dataset, model), Holm-adjusted together."""
    found = []
    for dataset, model in res.targets():
        family = []
        for suite in res.suites():
            for declared in declared_quantities(res, suite, dataset, model):
                quantity = Quantity(suite, render_column(declared))
                for a, b in _pairs(res, suite, dataset, model):
                    paired = res.paired(suite, dataset, model, declared.metrics, a, b)
                    if paired is not None:
                        family.append(Comparison(dataset, model, quantity, paired))
        adjusted = holm([math.nan if c.paired.p is None else c.paired.p for c in family])
        found += [replace(c, adjusted_p=None if math.isnan(p) else p, family=len(family))
                  for c, p in zip(family, adjusted)]
    return found


def findings_lines(res: Results, found: list[Comparison]) -> list[str]:
    """The report's opening section: per (dataset, model), its family of comparisons, each pair's
    differences and, with enough seeds, whether the data support them."""
    lines = ["## What the data support", "",
             f"Paired differences (method − `{res.reference}`, and spatial − spindrop) of the key quantities the "
             "suites declare. A difference is judged by the **paired t-test over training seeds** (a trained "
             "network is the unit of replication; per-seed differences, S − 1 degrees of freedom) and shown with "
             "its 95 % t-interval. The differences of one dataset and model are one **family**: their p-values "
             f"are Holm-adjusted together, and *significant* means a Holm-adjusted p < {ALPHA:g} with at least "
             f"{MIN_SEEDS} seeds; *not significant*: the data do not tell the two methods apart on that quantity. "
             f"Below {MIN_SEEDS} seeds no verdict is stated.", ""]
    if not found:
        return [*lines, f"No comparison is available: no method pairs with `{res.reference}` (pass "
                        "`--reference METHOD`), or no suite declares a key quantity.", ""]
    for dataset, model in dict.fromkeys((c.dataset, c.model) for c in found):
        here = [c for c in found if (c.dataset, c.model) == (dataset, model)]
        seeds = max(c.paired.seeds for c in here)
        lines += [f"### {dataset_name(dataset)} / {model} ({seeds} seed{'s' * (seeds > 1)})", ""]
        if seeds < MIN_SEEDS:
            lines += [f"**No verdict**: {seeds} seed{'s' * (seeds > 1)}; {ONE_NETWORK}. "
                      + ("The intervals below are the paired bootstrap over the test images of that one pair of "
                         "networks: they describe it and decide nothing." if seeds == 1 else
                         f"A verdict needs at least {MIN_SEEDS} seeds."), ""]
        else:
            lines += [f"Family: the {len(here)} comparisons below (Holm–Bonferroni, α = {ALPHA:g}).", ""]
        for a, b in dict.fromkeys((c.paired.a, c.paired.b) for c in here):
            texts = [c.text.replace(f"{a} vs {b}: ", "") for c in here if (c.paired.a, c.paired.b) == (a, b)]
            lines.append(f"- **{a} vs {b}**: " + "; ".join(texts))
        if seeds >= MIN_SEEDS:
            significant_ones = [c for c in here if c.significant]
            lines += ["", f"{len(significant_ones)} of {len(here)} differences are significant." if significant_ones
                      else f"None of the {len(here)} differences is significant."]
        lines.append("")
    return lines

"""What the data support: paired differences of the key quantities between methods.

For every (dataset, model), every method is compared with the reference method (``--reference``,
default ``mc_dropout``), and SpinDrop with MC-SpatialDropout (the paper's comparison), on three
key quantities: test accuracy, ECE, and the OOD AUROC of the entropy score averaged over the
dataset's OOD sets. Each difference carries its paired 95 % interval
(:meth:`reports.results.Results.paired`) and is called significant when that interval excludes 0.
The report's opening section, the forest plots and ``comparisons.csv`` all come from
:func:`comparisons`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .results import Paired, Results, dataset_name
from .tables import HIGHER, LOWER, Column, format_delta


@dataclass(frozen=True)
class Quantity:
    """A key quantity: its suite, its column (label, direction, scale) and how to pick its metrics
    from the metric names of the suite's cells."""

    suite: str
    column: Column
    pick: Callable[[list[str]], tuple[str, ...]]


def _ood_auroc(names: list[str]) -> tuple[str, ...]:
    return tuple(n for n in names if n.startswith("ood/") and n.endswith("/entropy/AUROC"))


QUANTITIES = (
    Quantity("accuracy", Column("accuracy", ("test/acc",), HIGHER, 100.0, 2), lambda names: ("test/acc",)),
    Quantity("calibration", Column("ECE", ("test/cal/ECE",), LOWER, 100.0, 2), lambda names: ("test/cal/ECE",)),
    Quantity("ood", Column("OOD AUROC (entropy, mean over OOD sets)", (), HIGHER, 100.0, 2), _ood_auroc),
)
PAPER_PAIR = ("spatial", "spindrop")
"""Compared with each other whatever the reference (arXiv 2306.10185 compares them)."""


@dataclass(frozen=True)
class Comparison:
    """One paired difference ``a − b`` of a key quantity on (dataset, model)."""

    dataset: str
    model: str
    quantity: Quantity
    paired: Paired

    @property
    def text(self) -> str:
        verdict = "significant" if self.paired.significant else "not significant"
        return f"{self.quantity.column.label} {format_delta(self.paired, self.quantity.column)}, {verdict}"

    def row(self) -> dict[str, object]:
        """A row of ``comparisons.csv`` (fractions, not percentages)."""
        d = self.paired.delta
        return {"dataset": self.dataset, "model": self.model, "quantity": self.quantity.column.label,
                "method": self.paired.a, "versus": self.paired.b, "delta": d.value, "ci_low": d.low,
                "ci_high": d.high, "seeds": self.paired.seeds, "significant": self.paired.significant}


def _pairs(res: Results, suite: str, dataset: str, model: str) -> list[tuple[str, str]]:
    labels = res.labels(suite, dataset, model)
    ref = res.reference_label(suite, dataset, model)
    pairs = [(label, ref) for label in labels if ref is not None and label != ref]
    a, b = PAPER_PAIR
    if a in labels and b in labels and (a, b) not in pairs and (b, a) not in pairs:
        pairs.append((a, b))
    return pairs


def comparisons(res: Results) -> list[Comparison]:
    """Every available comparison, by (dataset, model), quantity, then pair."""
    found = []
    for dataset, model in res.targets():
        for q in QUANTITIES:
            metrics = q.pick(res.metric_names(q.suite, dataset, model))
            if not metrics:
                continue
            column = Column(q.column.label, metrics, q.column.better, q.column.scale, q.column.decimals)
            quantity = Quantity(q.suite, column, q.pick)
            for a, b in _pairs(res, q.suite, dataset, model):
                paired = res.paired(q.suite, dataset, model, metrics, a, b)
                if paired is not None:
                    found.append(Comparison(dataset, model, quantity, paired))
    return found


def findings_lines(res: Results, found: list[Comparison]) -> list[str]:
    """The report's opening section: per (dataset, model), each pair's differences and whether the
    data support them."""
    lines = ["## What the data support", "",
             f"Paired differences (method − `{res.reference}`, and spatial − spindrop) of the key measured "
             "quantities, with their paired 95 % intervals over the same test images and seeds (see "
             "Conventions). *Significant*: the interval excludes 0; *not significant*: the data do not tell "
             "the two methods apart on that quantity.", ""]
    if not found:
        return [*lines, f"No comparison is available: no method pairs with `{res.reference}` (pass "
                        "`--reference METHOD`), or the cells have no bootstrap replicates.", ""]
    for dataset, model in dict.fromkeys((c.dataset, c.model) for c in found):
        here = [c for c in found if (c.dataset, c.model) == (dataset, model)]
        seeds = max(c.paired.seeds for c in here)
        lines += [f"### {dataset_name(dataset)} / {model} ({seeds} seed{'s' * (seeds > 1)})", ""]
        for a, b in dict.fromkeys((c.paired.a, c.paired.b) for c in here):
            texts = [c.text.replace(f"{a} vs {b}: ", "") for c in here if (c.paired.a, c.paired.b) == (a, b)]
            lines.append(f"- **{a} vs {b}**: " + "; ".join(texts))
        significant = [c for c in here if c.paired.significant]
        lines += ["", f"{len(significant)} of {len(here)} differences are significant." if significant
                  else f"None of the {len(here)} differences is significant.", ""]
    return lines

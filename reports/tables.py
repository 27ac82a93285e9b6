"""Comparison tables, grouped like torch-uncertainty: Classification, Calibration, OOD, Shift, Hardware.

One table per (group, dataset, model) — the OOD, Shift and Hardware groups split into a few
narrow tables rather than one wide one — with methods as rows and metrics as columns. A value
is the mean ± sample std over seeds (std left out with one seed, or when it is exactly zero, as
for the deterministic cost model) and, for measured numbers, its 95 % interval in brackets.

The best value of a column is flagged using the metric's direction, and only when it is
distinguishable: a measured best is flagged only if the paired 95 % interval of its difference
to the runner-up excludes 0 (:meth:`reports.results.Results.paired`); otherwise the table's
notes say "no significant difference" (or that no paired interval exists). Modelled numbers are
exact, so their best is flagged whenever it differs from the others. A column whose values are
all equal flags nothing.

The tables are plain data (:class:`Table`, :class:`Row`, :class:`Entry`); :func:`to_rich` and
:func:`to_markdown` only lay them out, so every number and every "best" is decided here once.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.table import Table as RichTable
from rich.text import Text

from spindrop.store import MEASURED

from .results import Paired, Results, Stat, dataset_name

HIGHER, LOWER = "higher", "lower"
STALE_MARK = "†"
"""Marks a row with a cell kept although its provenance changed (``--reuse-stale``)."""
ARROWS = {HIGHER: "↑", LOWER: "↓", None: ""}

# Direction by the last part of a metric name (hw/energy/* is lower-better as well).
DIRECTIONS = {"acc": HIGHER, "AUROC": HIGHER, "AUPR": HIGHER, "detected": HIGHER,
              "nll": LOWER, "brier": LOWER, "ECE": LOWER, "MCE": LOWER, "FPR95": LOWER,
              "modules": LOWER, "draws": LOWER, "draws_per_pass": LOWER, "tiles": LOWER}
# Fractions in [0, 1], shown ×100 with two decimals.
PERCENT = {"acc", "ECE", "MCE", "AUROC", "AUPR", "FPR95", "detected"}
COUNTS = {"modules", "draws", "draws_per_pass", "tiles"}

GROUPS = ("Classification", "Calibration", "OOD", "Shift", "Hardware")
SUITE_GROUPS = {"accuracy": "Classification", "calibration": "Calibration", "ood": "OOD", "shift": "Shift",
                "modules": "Hardware", "energy": "Hardware"}

SCORE_NAMES = {"entropy": "entropy", "mutual_info": "mutual information", "one_minus_msp": "1 − MSP"}
# (score, metric) of the OOD tables, main table first; the rest are in results.csv.
OOD_TABLES = (("entropy", "AUROC"), ("entropy", "detected"), ("entropy", "FPR95"), ("entropy", "AUPR"),
              ("mutual_info", "AUROC"), ("one_minus_msp", "AUROC"))
OOD_TITLES = {"AUROC": "AUROC %", "detected": "% OOD detected", "FPR95": "FPR@95%TPR %", "AUPR": "AUPR %"}


def direction(metric: str) -> str | None:
    """'higher', 'lower' or None (no best) for a metric name such as ``ood/mnist/entropy/AUROC``."""
    if metric.startswith("hw/energy/"):
        return LOWER
    return DIRECTIONS.get(metric.rsplit("/", 1)[-1])


def energy_unit(max_pj: float) -> tuple[str, float]:
    """(unit, factor from pJ) for energies up to ``max_pj``: nJ below 1 µJ, else µJ."""
    return ("µJ", 1e-6) if max_pj >= 1e6 else ("nJ", 1e-3)


@dataclass(frozen=True)
class Column:
    """One column: its header, the metrics a seed's value averages, and how to show it.

    ``label`` is the short header without the direction arrow (units included, e.g. "Acc %");
    a seed's value is the mean of those of ``metrics`` it has; shown value = value × ``scale``.
    """

    label: str
    metrics: tuple[str, ...]
    better: str | None
    scale: float = 1.0
    decimals: int = 3

    @property
    def header(self) -> str:
        arrow = ARROWS[self.better]
        return f"{self.label} {arrow}" if arrow else self.label


@dataclass(frozen=True)
class Entry:
    """One shown value and whether it is the best of its column."""

    stat: Stat
    text: str
    best: bool


@dataclass(frozen=True)
class Row:
    """A method: its entries (one per column) and its seeds ("2", or "1 of 2" when cells failed)."""

    label: str
    entries: tuple[Entry, ...]
    seeds: str


@dataclass(frozen=True)
class Table:
    """One table of one report group for one (dataset, model)."""

    group: str
    title: str
    suite: str
    dataset: str
    model: str
    kind: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        """The header line: what, where, and whether the numbers are measured or modelled."""
        spread = "mean ± std over seeds [95 % interval]" if self.kind == MEASURED else "mean ± std over seeds"
        return f"{self.title} — {dataset_name(self.dataset)} / {self.model} — {self.kind}, {spread}"

    def entry(self, row_label: str, column_label: str) -> Entry:
        """The entry of a row (method label) and a column (its ``label``)."""
        row = next(r for r in self.rows if r.label == row_label)
        return row.entries[[c.label for c in self.columns].index(column_label)]


def format_value(value: float, column: Column) -> str:
    """One number in the column's scale and decimals."""
    return f"{value * column.scale:,.{column.decimals}f}"


def format_stat(stat: Stat, column: Column) -> str:
    """``mean ± std [low, high]`` in the column's scale (std and interval when they exist);
    '—' when nothing was measured."""
    if stat.n == 0:
        return "—"
    text = format_value(stat.mean, column)
    if stat.std:
        text += f" ± {format_value(stat.std, column)}"
    if stat.low is not None and stat.high is not None:
        text += f" [{format_value(stat.low, column)}, {format_value(stat.high, column)}]"
    return text


def format_delta(paired: Paired, column: Column) -> str:
    """``a vs b: Δ = +x [lo, hi]`` in the column's scale (pp for percentages)."""
    unit = " pp" if column.scale == 100.0 else ""
    d = paired.delta
    sign = lambda v: f"{v * column.scale:+,.{column.decimals}f}"  # noqa: E731
    return f"{paired.a} vs {paired.b}: Δ = {sign(d.value)}{unit} [{sign(d.low)}, {sign(d.high)}]"


def significant_best(res: Results, suite: str, dataset: str, model: str, column: Column, labels: list[str],
                     stats: list[Stat]) -> tuple[list[bool], str | None]:
    """(flags, note) of a measured column: the best mean is flagged only when the paired interval of
    its difference to the runner-up excludes 0; otherwise the note says why nothing is flagged."""
    flags = [False] * len(stats)
    ranked = sorted((i for i, s in enumerate(stats) if s.n), key=lambda i: stats[i].mean,
                    reverse=column.better == HIGHER)
    if column.better is None or len({stats[i].mean for i in ranked}) < 2:
        return flags, None
    best, runner = ranked[0], ranked[1]
    paired = res.paired(suite, dataset, model, column.metrics, labels[best], labels[runner])
    if paired is None:
        return flags, f"{column.label}: {labels[best]} vs {labels[runner]}: no paired interval (replicates missing)"
    if stats[best].mean != stats[runner].mean and paired.significant:
        flags[best] = True
        return flags, None
    return flags, f"{column.label}: {format_delta(paired, column)}, no significant difference"


def best_flags(stats: list[Stat], better: str | None) -> list[bool]:
    """Which stats hold the best mean (ties all flagged); none if there is no direction or
    fewer than two distinct means."""
    means = [s.mean for s in stats if s.n]
    if better is None or len(set(means)) < 2:
        return [False] * len(stats)
    best = max(means) if better == HIGHER else min(means)
    return [bool(s.n) and math.isclose(s.mean, best, rel_tol=1e-12) for s in stats]


def metric_column(label: str, metrics: tuple[str, ...]) -> Column:
    """A column whose direction and format follow its (first) metric's name."""
    leaf = metrics[0].rsplit("/", 1)[-1]
    if leaf in PERCENT:
        return Column(f"{label} %", metrics, direction(metrics[0]), 100.0, 2)
    return Column(label, metrics, direction(metrics[0]), 1.0, 0 if leaf in COUNTS else 3)


# --- column layouts per suite: metric names present → [(title, columns)] -------------------------

Layout = Callable[[Results, str, str, list[str]], list[tuple[str, list[Column]]]]


def _fixed(title: str, spec: tuple[tuple[str, str], ...]) -> Layout:
    """A one-table layout of (label, metric) columns, each shown if the cells have that metric."""
    def layout(res: Results, dataset: str, model: str, names: list[str]) -> list[tuple[str, list[Column]]]:
        return [(title, [metric_column(label, (m,)) for label, m in spec if m in names])]
    return layout


def _ood(res: Results, dataset: str, model: str, names: list[str]) -> list[tuple[str, list[Column]]]:
    sets = list(dict.fromkeys(n.split("/")[1] for n in names if n.startswith("ood/") and n.count("/") == 3))
    tables = []
    for score, metric in OOD_TABLES:
        columns = [Column(s, (f"ood/{s}/{score}/{metric}",), direction(metric), 100.0, 2)
                   for s in sets if f"ood/{s}/{score}/{metric}" in names]
        tables.append((f"OOD: {OOD_TITLES[metric]} ({SCORE_NAMES[score]} score)", columns))
    return tables


def _shift(res: Results, dataset: str, model: str, names: list[str]) -> list[tuple[str, list[Column]]]:
    keys = [n.split("/") for n in names if n.startswith("shift/") and n.count("/") == 3]
    corruptions = list(dict.fromkeys(k[1] for k in keys))
    tables = []
    for metric, title in (("acc", "Shift: accuracy %"), ("ECE", "Shift: ECE %")):
        of = {c: tuple(f"shift/{c}/{k[2]}/{metric}" for k in keys if k[1] == c and k[3] == metric)
              for c in corruptions}
        columns = [Column(c, of[c], direction(metric), 100.0, 2) for c in corruptions if of[c]]
        every = tuple(m for c in corruptions for m in of[c])
        if every:
            columns.append(Column("mean", every, direction(metric), 100.0, 2))
        tables.append((f"{title} (mean over severities)", columns))
    return tables


def energy_parts(names: list[str]) -> tuple[list[str], list[str]]:
    """(leaf components, aggregates) among ``hw/energy/<part>_pJ`` metric names. A part is an
    aggregate if it is ``total`` or another part's name extends it (``dropout`` of ``dropout_write``)."""
    parts = [n.removeprefix("hw/energy/").removesuffix("_pJ") for n in names if n.startswith("hw/energy/")]
    aggregates = [p for p in parts if p == "total" or any(q.startswith(p + "_") for q in parts)]
    return [p for p in parts if p not in aggregates], aggregates


def _energy(res: Results, dataset: str, model: str, names: list[str]) -> list[tuple[str, list[Column]]]:
    """One table of the top-level parts (e.g. crossbar read, sense amp, dropout, total), one per
    aggregate with its components (e.g. dropout write/read/reset)."""
    leaves, aggregates = energy_parts(names)
    split = [a for a in aggregates if a != "total"]
    top = [p for p in [*leaves, *aggregates] if not any(p.startswith(a + "_") for a in split)]
    per_image = f"per image, T = {res.mc_samples} MC samples"
    tables = [(f"Hardware: energy {per_image}", top)]
    tables += [(f"Hardware: {a} energy by component, {per_image}", [p for p in leaves if p.startswith(a + "_")])
               for a in split]
    return [(title, [_energy_column(res, dataset, model, p) for p in parts]) for title, parts in tables]


def _energy_column(res: Results, dataset: str, model: str, part: str) -> Column:
    """An energy column in nJ or µJ, whichever suits its largest value."""
    metric = f"hw/energy/{part}_pJ"
    largest = max((abs(s.mean) for s in res.stats("energy", dataset, model, [metric]).values() if s.n), default=0.0)
    unit, factor = energy_unit(largest)
    return Column(f"{part.replace('_', ' ')} {unit}", (metric,), LOWER, factor, 2)


def _generic(res: Results, dataset: str, model: str, names: list[str]) -> list[tuple[str, list[Column]]]:
    return [("", [metric_column(n, (n,)) for n in names])]


LAYOUTS: dict[str, Layout] = {
    "accuracy": _fixed("Classification", (("Acc", "test/acc"), ("NLL", "test/nll"), ("Brier", "test/brier"),
                                          ("Det. acc", "test/det/acc"))),
    "calibration": _fixed("Calibration (15 bins, top-label)", (("ECE", "test/cal/ECE"), ("MCE", "test/cal/MCE"))),
    "ood": _ood,
    "shift": _shift,
    "modules": _fixed("Hardware: dropout modules and random draws",
                      (("Modules", "hw/modules"), ("Draws / inference", "hw/draws"),
                       ("Draws / pass", "hw/draws_per_pass"), ("Tiles", "hw/tiles"))),
    "energy": _energy,
    "robustness": lambda res, dataset, model, names: [],  # its own section and plots: reports.robustness
}


def group_of(suite: str) -> str:
    """The report group of a suite (a suite of its own for one the report does not know)."""
    return SUITE_GROUPS.get(suite, suite)


def build_tables(res: Results) -> list[Table]:
    """Every table of the report, ordered by group, then (dataset, model), then suite."""
    tables = []
    for suite in res.suites():
        layout = LAYOUTS.get(suite, _generic)
        for dataset, model in res.targets():
            labels = res.labels(suite, dataset, model)
            if not labels:
                continue
            counts = res.seed_counts(suite, dataset, model)
            names = res.metric_names(suite, dataset, model)
            for title, columns in layout(res, dataset, model, names):
                if not columns:
                    continue
                tables.append(_table(res, suite, title or suite, dataset, model, columns, labels, counts))
    order = {g: i for i, g in enumerate(GROUPS)}
    targets = res.targets()
    suites = res.suites()
    return sorted(tables, key=lambda t: (order.get(t.group, len(GROUPS)), t.group,
                                         targets.index((t.dataset, t.model)), suites.index(t.suite)))


def _table(res: Results, suite: str, title: str, dataset: str, model: str, columns: list[Column],
           labels: list[str], counts: dict[str, tuple[int, int]]) -> Table:
    per_column, notes = [], []
    measured = res.kind(suite) == MEASURED
    for col in columns:
        stats = res.stats(suite, dataset, model, col.metrics)
        column_stats = [stats[label] for label in labels]
        if measured:
            flags, note = significant_best(res, suite, dataset, model, col, labels, column_stats)
            notes += [note] if note else []
        else:
            flags = best_flags(column_stats, col.better)
        per_column.append([Entry(s, format_stat(s, col), f) for s, f in zip(column_stats, flags)])
    rows = []
    stale = res.stale_labels(suite, dataset, model)
    for i, label in enumerate(labels):
        ok, total = counts[label]
        rows.append(Row(f"{label} {STALE_MARK}" if label in stale else label, tuple(entries[i] for entries in per_column),
                        str(ok) if ok == total else f"{ok} of {total}"))
    return Table(group_of(suite), title, suite, dataset, model, res.kind(suite), tuple(columns), tuple(rows),
                 tuple(notes))


# --- renderers ------------------------------------------------------------------------------------

def to_rich(table: Table) -> RichTable:
    """The table for a terminal: best values bold green; the notes as its caption."""
    out = RichTable(title=table.heading, title_justify="left", title_style="bold",
                    caption="\n".join(table.notes) or None, caption_justify="left")
    out.add_column("Method", no_wrap=True)
    for col in table.columns:
        out.add_column(col.header, justify="right", overflow="fold")
    out.add_column("Seeds", justify="right")
    for row in table.rows:
        cells = [Text(e.text, style="bold green" if e.best else "") for e in row.entries]
        out.add_row(Text(row.label), *cells, Text(row.seeds))
    return out


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(table: Table) -> str:
    """The table as GitHub Markdown with its header line above; best values bold."""
    head = ["Method", *(c.header for c in table.columns), "Seeds"]
    lines = [f"**{_md_escape(table.heading)}**", "",
             "| " + " | ".join(_md_escape(h) for h in head) + " |",
             "|" + "|".join([":---", *["---:"] * (len(head) - 1)]) + "|"]
    for row in table.rows:
        cells = [f"**{e.text}**" if e.best else e.text for e in row.entries]
        lines.append("| " + " | ".join([_md_escape(row.label), *cells, row.seeds]) + " |")
    if table.notes:
        lines += ["", "Best not bold — " + "; ".join(_md_escape(n) for n in table.notes) + "."]
    return "\n".join(lines)

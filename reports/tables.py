"""Comparison tables, grouped like torch-uncertainty: Classification, Calibration, OOD, Shift, Hardware.

Every suite declares its group and its tables (:mod:`spindrop.report_spec`), and its cells store
them, so any suite, a plugin's included, is rendered from its cells alone: one table per declared
table and (dataset, model), with methods as rows and the declared columns. A value
is the mean ± sample std over seeds (std left out with one seed, or when it is exactly zero, as
for the deterministic cost model) and, for measured numbers, its 95 % interval in brackets.

The best value of a column is flagged using the metric's direction, and only when it is
distinguishable. A measured table is one family of verdicts: in each column with a best, the best
method against the runner-up by the paired t-test over their seeds
(:meth:`reports.results.Results.paired`), Holm-adjusted over the table's columns
(:func:`spindrop.stats.holm`); a best is bold when its adjusted p is below 0.05 with at least 3
seeds (:func:`spindrop.stats.significant`). Below 3 seeds nothing measured is bold. The table's
notes say which family and why each best is not bold. Modelled numbers are exact, so their best is
flagged whenever it differs from the others. A column whose values are all equal flags nothing.

The tables are plain data (:class:`Table`, :class:`Row`, :class:`Entry`); :func:`to_rich` and
:func:`to_markdown` only lay them out, so every number and every "best" is decided here once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from rich.table import Table as RichTable
from rich.text import Text

from spindrop.report_spec import HIGHER, LOWER, ReportColumn, ReportTable, SuiteReport, generic_table
from spindrop.stats import MIN_SEEDS, holm, significant
from spindrop.store import MEASURED

from .results import Paired, Results, Stat, dataset_name

STALE_MARK = "†"
"""Marks a row with a cell kept although its provenance changed (``--reuse-stale``)."""
WIDE_MARK = "‡"
"""Marks a t-interval that passes the metric's range (:attr:`reports.results.Stat.wide`)."""
WIDE_NOTE = (f"{WIDE_MARK} the t-interval over seeds passes the range the metric can take: fewer seeds than this "
             "metric needs (shown as computed, not clipped)")
ONE_NETWORK = "one seed describes one network, not a method"
ARROWS = {HIGHER: "↑", LOWER: "↓", None: ""}

GROUPS = ("Classification", "Calibration", "OOD", "Shift", "Hardware")
"""Report order of the built-in suites' groups; any other group follows, by name."""
SCALES = {"percent": (100.0, 2), "count": (1.0, 0), "number": (1.0, 3)}
"""(scale, decimals) of each format but ``energy`` (:data:`spindrop.report_spec.FORMATS`)."""


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
        text += WIDE_MARK if stat.wide else ""
    return text


def format_delta(paired: Paired, column: Column, adjusted_p: float | None = None) -> str:
    """``a vs b: Δ = +x [lo, hi]`` in the column's scale (pp for percentages), with the test's
    Holm-adjusted p where one was given."""
    unit = " pp" if column.scale == 100.0 else ""
    d = paired.delta
    sign = lambda v: f"{v * column.scale:+,.{column.decimals}f}"  # noqa: E731
    text = f"{paired.a} vs {paired.b}: Δ = {sign(d.value)}{unit} [{sign(d.low)}, {sign(d.high)}]"
    return text if adjusted_p is None or math.isnan(adjusted_p) else f"{text}, Holm p = {adjusted_p:.3f}"


def _best_and_runner(column: Column, stats: list[Stat]) -> tuple[int, int] | None:
    """(best, runner-up) positions of a column with a direction and at least two distinct means."""
    ranked = sorted((i for i, s in enumerate(stats) if s.n), key=lambda i: stats[i].mean,
                    reverse=column.better == HIGHER)
    if column.better is None or len({stats[i].mean for i in ranked}) < 2:
        return None
    return ranked[0], ranked[1]


def significant_best(res: Results, suite: str, dataset: str, model: str, columns: list[Column], labels: list[str],
                     stats: list[list[Stat]]) -> tuple[list[list[bool]], list[str]]:
    """(flags per column, notes) of a measured table: the family is, in every column with a best,
    the best against the runner-up (paired t over seeds, :meth:`Results.paired`); Holm over the
    family; a best is flagged when :func:`spindrop.stats.significant` holds for it."""
    flags = [[False] * len(labels) for _ in columns]
    family = [(k, *pair) for k, (col, column_stats) in enumerate(zip(columns, stats))
              if (pair := _best_and_runner(col, column_stats)) is not None]
    if not family:
        return flags, []
    seeds = max(s.n for column_stats in stats for s in column_stats)
    if seeds < MIN_SEEDS:
        return flags, [f"No value is bold: {seeds} seed{'s' * (seeds > 1)}, no verdict below {MIN_SEEDS} seeds "
                       f"({ONE_NETWORK})"]
    paired = [res.paired(suite, dataset, model, columns[k].metrics, labels[b], labels[r]) for k, b, r in family]
    adjusted = holm([math.nan if p is None or p.p is None else p.p for p in paired])
    notes = [f"Bold: the best of a column differs from the runner-up (paired t-test over seeds, Holm-adjusted over "
             f"the {len(family)} column{'s' * (len(family) > 1)} of this table with a best, α = 0.05)"]
    for (k, best, runner), pair, adj in zip(family, paired, adjusted):
        if pair is None:
            notes.append(f"{columns[k].label}: {labels[best]} vs {labels[runner]}: no paired seeds, not bold")
        elif significant(adj, pair.seeds):
            flags[k][best] = True
        else:
            notes.append(f"{columns[k].label}: {format_delta(pair, columns[k], adj)}, no significant difference")
    return flags, notes


def best_flags(stats: list[Stat], better: str | None) -> list[bool]:
    """Which stats hold the best mean (ties all flagged); none if there is no direction or
    fewer than two distinct means."""
    means = [s.mean for s in stats if s.n]
    if better is None or len(set(means)) < 2:
        return [False] * len(stats)
    best = max(means) if better == HIGHER else min(means)
    return [bool(s.n) and math.isclose(s.mean, best, rel_tol=1e-12) for s in stats]


def render_column(spec: ReportColumn, largest: float = 0.0) -> Column:
    """The rendered column of a declared one; an energy column (pJ) in nJ or µJ, whichever suits
    ``largest``, its largest absolute value."""
    if spec.format == "energy":
        unit, factor = energy_unit(largest)
        return Column(f"{spec.label} {unit}", spec.metrics, spec.better, factor, 2)
    scale, decimals = SCALES[spec.format]
    return Column(spec.label, spec.metrics, spec.better, scale, decimals)


def suite_layout(res: Results, suite: str, dataset: str, model: str) -> SuiteReport:
    """The group and tables of ``suite`` on (dataset, model), merged over its ok cells: tables by
    title, columns by label in first-seen order, a label's metrics united. Cells that hold no
    layout (written before suites declared one) get one generic table in a group named after the suite."""
    specs = res.report_specs(suite, dataset, model)
    if not specs:
        return SuiteReport(suite, (generic_table(suite, res.metric_names(suite, dataset, model)),))
    merged: dict[str, dict[str, ReportColumn]] = {}
    for spec in specs:
        for table in spec.tables:
            columns = merged.setdefault(table.title, {})
            for col in table.columns:
                seen = columns.get(col.label)
                columns[col.label] = col if seen is None else replace(
                    seen, metrics=tuple(dict.fromkeys((*seen.metrics, *col.metrics))))
    return SuiteReport(specs[0].group, tuple(ReportTable(t, tuple(c.values())) for t, c in merged.items()))


def build_tables(res: Results) -> list[Table]:
    """Every table of the report, ordered by group (:data:`GROUPS` first), then (dataset, model), then suite."""
    tables = []
    for suite in res.suites():
        for dataset, model in res.targets():
            labels = res.labels(suite, dataset, model)
            if not labels:
                continue
            counts = res.seed_counts(suite, dataset, model)
            layout = suite_layout(res, suite, dataset, model)
            for spec in layout.tables:
                if not spec.columns:
                    continue
                columns = [render_column(c, _largest(res, suite, dataset, model, c)) for c in spec.columns]
                tables.append(_table(res, suite, layout.group, spec.title, dataset, model, columns, labels, counts))
    order = {g: i for i, g in enumerate(GROUPS)}
    targets = res.targets()
    suites = res.suites()
    return sorted(tables, key=lambda t: (order.get(t.group, len(GROUPS)), t.group,
                                         targets.index((t.dataset, t.model)), suites.index(t.suite)))


def _largest(res: Results, suite: str, dataset: str, model: str, spec: ReportColumn) -> float:
    """The largest absolute mean of an energy column (0 for the other formats, which need none)."""
    if spec.format != "energy":
        return 0.0
    return max((abs(s.mean) for s in res.stats(suite, dataset, model, spec.metrics).values() if s.n), default=0.0)


def _table(res: Results, suite: str, group: str, title: str, dataset: str, model: str, columns: list[Column],
           labels: list[str], counts: dict[str, tuple[int, int]]) -> Table:
    stats = [[found[label] for label in labels] for found in (res.stats(suite, dataset, model, c.metrics)
                                                              for c in columns)]
    notes: list[str] = []
    if res.kind(suite) == MEASURED:
        flags, notes = significant_best(res, suite, dataset, model, columns, labels, stats)
    else:
        flags = [best_flags(column_stats, col.better) for col, column_stats in zip(columns, stats)]
    if any(s.wide for column_stats in stats for s in column_stats):
        notes.append(WIDE_NOTE)
    per_column = [[Entry(s, format_stat(s, col), f) for s, f in zip(column_stats, column_flags)]
                  for col, column_stats, column_flags in zip(columns, stats, flags)]
    rows = []
    stale = res.stale_labels(suite, dataset, model)
    for i, label in enumerate(labels):
        ok, total = counts[label]
        rows.append(Row(f"{label} {STALE_MARK}" if label in stale else label,
                        tuple(entries[i] for entries in per_column), str(ok) if ok == total else f"{ok} of {total}"))
    return Table(group, title, suite, dataset, model, res.kind(suite), tuple(columns), tuple(rows),
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
        lines += ["", *(f"- {_md_escape(n)}." for n in table.notes)]
    return "\n".join(lines)

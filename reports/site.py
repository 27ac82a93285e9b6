"""The leaderboard page: ``python -m reports.site RUN_DIR... --out DIR`` writes ``DIR/index.html``.

One static, self-contained HTML page (inline CSS and JavaScript, plots as data URIs: no server, no
CDN, it works from ``file://`` and on any static host) from one or more result stores or report
folders (each holding ``results.csv``, ``comparisons.csv`` and the report's plots). Per store and
per (dataset, model) a sortable table, one row per method: accuracy, ECE, NLL, near-OOD AUROC,
energy per image, T and seeds, each measured number with its 95 % interval; a mark where the
report's paired comparison with the reference method excludes 0 (``comparisons.csv``, the statistics
protocol of docs/design.md "Statistics"); the accuracy–energy (Pareto) plot where the report has
one; and per row links to the zoo records of its recipe (``--zoo DIR``, default the package zoo or
``$SPINDROP_ZOO``, :func:`spindrop.zoo.zoo_root`): records with the row's dataset, model, width,
method and profile whose resolved method parameters agree with the row's wherever both name a
parameter, one link per record (seed), relative to the page's folder; a link says whether it is the
network the row measured (its run measured the row's accuracy for that seed) or one trained to the
same recipe in another run.

Numbers (docs/design.md "Statistics"): per seed the metric of the cell (near-OOD AUROC: the mean of
the entropy AUROC over the near-OOD sets, :func:`spindrop.data.shift.ood_group`), then over seeds
the mean with the Student-t interval (truncated to the metric's range), or for one seed the cell's
bootstrap interval from ``results.csv`` (none for a mean over several sets: its interval needs the
replicates, which ``results.csv`` does not hold). Energy is modelled: no interval.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
import sys
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from spindrop.data.shift import NEAR, ood_group
from spindrop.stats import t_interval
from spindrop.store import atomic_write_text
from spindrop.zoo import names, record, zoo_root

from .results import DATASET_ORDER, METHOD_ORDER, dataset_name, metric_range

EXIT_OK, EXIT_USAGE = 0, 2
NJ_PER_PJ = 1e-3


@dataclass(frozen=True)
class Column:
    """One column of a table: its title, how a seed's value is read from the cell rows, its format,
    whether higher is better, and the comparison quantity (``comparisons.csv``) whose marks it shows."""

    key: str
    title: str
    fmt: str
    higher_better: bool | None
    quantity: str | None = None
    measured: bool = True


COLUMNS = (
    Column("acc", "Accuracy %", "percent", True, "accuracy"),
    Column("ece", "ECE %", "percent", False, "ECE"),
    Column("nll", "NLL", "plain", False),
    Column("near_auroc", "Near-OOD AUROC %", "percent", True, "near"),
    Column("energy", "Energy / image (nJ)", "energy", False, measured=False),
)


@dataclass
class Cell:
    """A table cell: mean over seeds, its interval (None: none), the seeds, and its mark."""

    mean: float
    low: float | None = None
    high: float | None = None
    n: int = 0
    mark: str = ""
    mark_title: str = ""


@dataclass(frozen=True)
class ZooLink:
    """A row's link to a zoo record: the record's seed and path, and whether it is the network the row
    measured (else one trained to the same recipe in another run)."""

    seed: int
    path: Path
    same_network: bool

    @property
    def text(self) -> str:
        return f"s{self.seed}" if self.same_network else f"s{self.seed} (other run)"

    @property
    def title(self) -> str:
        if self.same_network:
            return f"zoo record of the network this row measured at seed {self.seed}"
        return (f"zoo record of a network trained to this row's recipe with seed {self.seed} in another run "
                "(its own numbers are in the record)")


@dataclass(frozen=True)
class Recipe:
    """What a row's networks are trained from, as a zoo record names it: ``params`` maps each method
    parameter the row's cells name (their key's ``params`` and their resolved ``method_params``) to
    its values as text (:func:`param_text`)."""

    dataset: str
    model: str
    width: float
    method: str
    profile: str
    params: dict[str, frozenset[str]]

    def matches(self, rec: dict) -> bool:
        """Whether the zoo record ``rec`` is of this recipe: the same dataset, model, width, method and
        profile, and each parameter both name has the row's one value (a malformed record: no)."""
        try:
            theirs = {k: param_text(v) for k, v in rec["method_params"].items()}
            return ((rec["dataset"], rec["model"], rec["method"], rec["profile"])
                    == (self.dataset, self.model, self.method, self.profile)
                    and float(rec["width"]) == self.width
                    and all(values == {theirs[k]} for k, values in self.params.items() if k in theirs))
        except (KeyError, TypeError, ValueError, AttributeError):
            return False


def param_text(value: object) -> str:
    """A method parameter's value as comparable text: numbers as floats (``1`` and ``1.0`` agree),
    everything else as ``str`` (``True``, ``window``)."""
    text = str(value)
    try:
        return repr(float(text))
    except ValueError:
        return text


@dataclass
class Row:
    method: str
    cells: dict[str, Cell]
    T: int
    seeds: int
    links: list[ZooLink] = field(default_factory=list)


@dataclass
class Board:
    """The tables of one store: per (dataset, model) its rows; the plot and the notes."""

    title: str
    profile: str
    T: int
    tables: dict[tuple[str, str], list[Row]]
    plots: dict[tuple[str, str], str]
    notes: list[str]


def find(folder: Path, name: str) -> Path | None:
    """``name`` in ``folder``, its ``report/`` or its ``results/`` subfolder (a report folder or a run)."""
    for candidate in (folder / name, folder / "report" / name, folder / "results" / name):
        if candidate.is_file():
            return candidate
    return None


def near_auroc_metrics(metrics: Sequence[str]) -> list[str]:
    """The entropy-AUROC metrics of the near-OOD sets among ``metrics``."""
    found = []
    for m in metrics:
        parts = m.split("/")
        if len(parts) == 4 and parts[0] == "ood" and parts[2:] == ["entropy", "AUROC"]:
            try:
                if ood_group(parts[1]) == NEAR:
                    found.append(m)
            except ValueError:  # a set this version does not know: not counted
                continue
    return found


def seed_values(ok: pd.DataFrame, key: str) -> tuple[pd.Series, pd.DataFrame | None]:
    """Per (label, seed) the value of column ``key``, and for a single-metric column its rows (for the
    one-seed bootstrap interval)."""
    index = ["label", "seed"]
    if key == "near_auroc":
        names = near_auroc_metrics(ok.metric.unique().tolist())
        rows = ok[ok.metric.isin(names)]
        return rows.groupby(index)["value"].mean(), rows if len(names) == 1 else None
    metric = {"acc": "test/acc", "ece": "test/cal/ECE", "nll": "test/nll", "energy": "hw/energy/total_pJ"}[key]
    rows = ok[ok.metric == metric]
    values = rows.set_index(index)["value"]
    return (values * NJ_PER_PJ if key == "energy" else values), rows


def summarise(values: pd.Series, rows: pd.DataFrame | None, metric: str | None, measured: bool) -> Cell:
    """Mean over seeds with its interval (module docstring)."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return Cell(math.nan)
    mean = sum(finite) / len(finite)
    if not measured:
        return Cell(mean, n=len(finite))
    if len(finite) >= 2:
        _, _, low, high = t_interval(finite)
        floor, ceiling = metric_range(metric or "")
        return Cell(mean, max(low, floor), min(high, ceiling), len(finite))
    if rows is not None and len(rows) == 1 and math.isfinite(rows.ci_low.iloc[0]):
        return Cell(mean, float(rows.ci_low.iloc[0]), float(rows.ci_high.iloc[0]), 1)
    return Cell(mean, n=1)


def _labels(ok: pd.DataFrame) -> pd.Series:
    """The report's row labels (:func:`reports.results.method_labels`): the method name, with its
    parameters where the method has several parameter sets, except tuned rows (their parameters are
    the method's operating point per dataset)."""
    params = ok["params"].fillna("")
    tuned = ok["tuning"].notna() if "tuning" in ok else pd.Series(False, index=ok.index)
    several = ok.groupby("method")["params"].transform(lambda p: p.fillna("").nunique() > 1)
    return ok["method"].where(~several | tuned, ok["method"] + " (" + params + ")")


def _rank(order: Sequence[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _method_key(label: str) -> tuple[int, str]:
    return _rank(METHOD_ORDER, label.split(" (")[0]), label


def load_board(folder: Path, zoo: Path | None = None) -> Board:
    """The tables of the store or report folder ``folder``, rows linked to the records of the zoo at
    ``zoo`` (default :func:`spindrop.zoo.zoo_root`)."""
    csv = find(folder, "results.csv")
    if csv is None:
        raise FileNotFoundError(f"no results.csv in {folder} (nor in its report/ or results/): pass a run's output "
                                "folder or a report folder")
    frame = pd.read_csv(csv)
    ok = frame[(frame["status"] == "ok") & frame["metric"].notna()].copy()
    combos = ok.groupby(["profile", "mc_samples"]).size().sort_values(ascending=False)
    profile, T = combos.index[0]
    notes = [f"left out: {n} numbers of profile {p}, T = {t}" for (p, t), n in combos.iloc[1:].items()]
    ok = ok[(ok.profile == profile) & (ok.mc_samples == T)]
    ok["label"] = _labels(ok)
    comparisons = _comparisons(find(csv.parent, "comparisons.csv"))
    records = zoo_records(zoo)
    tables, plots = {}, {}
    targets = sorted(ok.groupby(["dataset", "model"]), key=lambda item: (_rank(DATASET_ORDER, item[0][0]), item[0]))
    for (dataset, model), group in targets:
        rows = []
        for label in sorted(group.label.unique(), key=_method_key):
            mine = group[group.label == label]
            cells = {}
            for col in COLUMNS:
                values, value_rows = seed_values(mine, col.key)
                metric = "ood/near/entropy/AUROC" if col.key == "near_auroc" else (
                    value_rows.metric.iloc[0] if value_rows is not None and len(value_rows) else None)
                cells[col.key] = summarise(values, value_rows, metric, col.measured)
                if col.quantity:
                    _mark(cells[col.key], col, comparisons.get((dataset, model, label, col.quantity)))
            accuracy = mine[mine.metric == "test/acc"].set_index("seed")["value"]
            seeds = sorted(accuracy.index.tolist())
            width = float(mine.width.iloc[0])
            recipe = Recipe(dataset, model, width, label.split(" (")[0], str(profile), _row_params(mine))
            links = _zoo_links(records, recipe, accuracy)
            rows.append(Row(label, cells, int(T), len(seeds), links))
        tables[dataset, model] = rows
        plot = _plot(csv.parent, dataset, model)
        if plot:
            plots[dataset, model] = plot
    unmatched = sorted({q for (_, _, _, q) in comparisons} - {c.quantity for c in COLUMNS if c.quantity})
    notes += [f"paired comparisons of “{q}” are in comparisons.csv (no column of this page shows that quantity)"
              for q in unmatched]
    return Board(str(folder), str(profile), int(T), tables, plots, notes)


def _comparisons(path: Path | None) -> dict[tuple[str, str, str, str], dict]:
    """(dataset, model, method, column quantity) → its comparison row with the reference (the method
    every other one is compared with: the most frequent ``versus``)."""
    if path is None:
        return {}
    rows = pd.read_csv(path)
    if rows.empty:
        return {}
    reference = rows["versus"].mode().iloc[0]
    found = {}
    for row in rows[rows["versus"] == reference].to_dict("records"):
        quantity = "near" if "near" in str(row["quantity"]) and "AUROC" in str(row["quantity"]) else row["quantity"]
        key = (row["dataset"], row["model"], row["method"], quantity)
        found[key] = row
    return found


def _mark(cell: Cell, col: Column, comparison: dict | None) -> None:
    """▲/▼ where the paired 95 % interval against the reference excludes 0 (better/worse)."""
    if comparison is None or not bool(comparison["significant"]):
        return
    better = (comparison["delta"] > 0) == bool(col.higher_better)
    cell.mark = "▲" if better else "▼"
    scale = 100 if col.fmt == "percent" else 1
    cell.mark_title = (f"{'better' if better else 'worse'} than {comparison['versus']}: paired Δ = "
                       f"{comparison['delta'] * scale:+.2f} [{comparison['ci_low'] * scale:+.2f}, "
                       f"{comparison['ci_high'] * scale:+.2f}] over {int(comparison['seeds'])} seed(s), 95 %")


def zoo_records(root: Path | None = None) -> list[tuple[Path, dict]]:
    """(path, record) of each entry of the zoo at ``root`` (default :func:`spindrop.zoo.zoo_root`); an
    unreadable record is left out (no link)."""
    found = []
    for name in names(root):
        try:
            rec = record(name, root)
        except (OSError, ValueError, LookupError):
            continue
        if isinstance(rec, dict):
            found.append((zoo_root(root) / f"{name}.json", rec))
    return found


def _row_params(rows: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Each method parameter the row's cells name → its values as text: the cell key's ``params``
    (``p=0.2,q=1``) and the resolved ``method_params`` of the cells' provenance (JSON) where recorded."""
    found: dict[str, set[str]] = {}
    for text in rows["params"].dropna().unique():
        for pair in str(text).split(","):
            name, _, value = pair.partition("=")
            if name:
                found.setdefault(name, set()).add(param_text(value))
    resolved = rows["method_params"].dropna().unique() if "method_params" in rows else []
    for text in resolved:
        for name, value in json.loads(text).items():
            found.setdefault(name, set()).add(param_text(value))
    return {name: frozenset(values) for name, values in found.items()}


def _zoo_links(records: list[tuple[Path, dict]], recipe: Recipe, accuracy: pd.Series) -> list[ZooLink]:
    """The row's links: one per zoo record of its recipe, by seed; the same network where the record's
    run measured the row's accuracy for the record's seed exactly (not a retrained network)."""
    links = []
    for path, rec in records:
        if not recipe.matches(rec):
            continue
        try:
            seed = int(rec["seed"])
        except (KeyError, TypeError, ValueError):
            continue
        try:
            ran = rec["source"]["run_metrics"]["test/acc"]
        except (KeyError, TypeError):  # a record without its run's numbers: not known to be the same network
            ran = None
        links.append(ZooLink(seed, path, ran is not None and ran in accuracy[accuracy.index == seed].tolist()))
    return sorted(links, key=lambda link: (link.seed, not link.same_network, link.path.name))


def _plot(folder: Path, dataset: str, model: str) -> str | None:
    """The report's Pareto (accuracy vs energy) plot of (dataset, model) as a data URI, if it has one."""
    for name in (f"pareto_{dataset}_{model}.png", f"accuracy_energy_{dataset}_{model}.png"):
        if (folder / name).is_file():
            return "data:image/png;base64," + base64.b64encode((folder / name).read_bytes()).decode()
    return None


def _fmt(value: float, fmt: str) -> str:
    if not math.isfinite(value):
        return "—"
    if fmt == "percent":
        return f"{value * 100:.2f}"
    if fmt == "energy":
        return f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"
    return f"{value:.3f}"


def _cell_html(cell: Cell, col: Column) -> str:
    sort = "" if not math.isfinite(cell.mean) else f"{cell.mean!r}"
    text = html.escape(_fmt(cell.mean, col.fmt))
    if cell.low is not None and cell.high is not None:
        text += f' <span class="ci">[{_fmt(cell.low, col.fmt)}, {_fmt(cell.high, col.fmt)}]</span>'
    if cell.mark:
        text += f' <span class="mark" title="{html.escape(cell.mark_title)}">{cell.mark}</span>'
    return f'<td data-sort="{sort}" data-col="{col.key}">{text}</td>'


def _href(path: Path, out: Path) -> str:
    """``path`` relative to the page's folder ``out`` as a URL path (works from file:// and a static host
    serving the repository)."""
    return urllib.parse.quote(Path(os.path.relpath(path, out)).as_posix())


def _table_html(rows: list[Row], out: Path) -> str:
    head = "".join(f'<th data-type="number" title="click to sort">{html.escape(c.title)}</th>' for c in COLUMNS)
    body = []
    for row in rows:
        links = " ".join(f'<a href="{html.escape(_href(link.path, out))}" title="{html.escape(link.title)}">'
                         f'{html.escape(link.text)}</a>' for link in row.links) or "—"
        body.append(f'<tr><td data-sort="{html.escape(row.method)}" data-col="method">{html.escape(row.method)}</td>'
                    + "".join(_cell_html(row.cells[c.key], c) for c in COLUMNS)
                    + f'<td data-sort="{row.T}" data-col="T">{row.T}</td>'
                    + f'<td data-sort="{row.seeds}" data-col="seeds">{row.seeds}</td><td>{links}</td></tr>')
    return ('<table class="board"><thead><tr><th data-type="text" title="click to sort">Method</th>' + head
            + '<th data-type="number" title="click to sort">T</th><th data-type="number" title="click to sort">'
            'Seeds</th><th>Zoo</th></tr></thead><tbody>' + "".join(body) + "</tbody></table>")


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table.board{border-collapse:collapse;margin:1em 0}
.board th,.board td{border-bottom:1px solid #ddd;padding:.35em .7em;text-align:right;white-space:nowrap}
.board th:first-child,.board td:first-child{text-align:left}
.board th[data-type]{cursor:pointer;user-select:none}
.board th[aria-sort=ascending]::after{content:" ▲"} .board th[aria-sort=descending]::after{content:" ▼"}
.ci{color:#777;font-size:.85em} .mark{font-weight:bold} img{max-width:100%} .note{color:#555}
"""

SCRIPT = """
document.querySelectorAll("table.board").forEach(function (table) {
  table.querySelectorAll("th[data-type]").forEach(function (th, index) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = th.dataset.type === "number";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].dataset.sort, y = b.cells[index].dataset.sort;
        if (x === "" || y === "") { return (x === "") - (y === ""); }
        var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def page(boards: list[Board], out: Path) -> str:
    """The leaderboard page of ``boards`` (links relative to the folder ``out`` it is written to)."""
    parts = []
    for board in boards:
        parts.append(f"<h2>{html.escape(board.title)}: profile {html.escape(board.profile)}, T = {board.T}</h2>")
        for (dataset, model), rows in board.tables.items():
            parts.append(f"<h3>{html.escape(dataset_name(dataset))}, {html.escape(model)}</h3>")
            parts.append(_table_html(rows, out))
            if (dataset, model) in board.plots:
                parts.append(f'<p><img alt="accuracy vs energy per image, {html.escape(dataset)}" '
                             f'src="{board.plots[dataset, model]}"></p>')
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in board.notes]
    legend = ("Measured numbers: mean over seeds with its 95 % interval in brackets (Student t over seeds; one "
              "seed: the bootstrap over the test images). Energy per image is modelled (MTJ-crossbar cost model), "
              "no interval. ▲/▼: better/worse than the reference method, where the paired 95 % interval of the "
              "difference excludes 0 (hover for it); no mark: no such evidence. — : not applicable. Zoo: the "
              "zoo records of the row's recipe (dataset, model, width, method and parameters, training profile), "
              "by seed: “s0” is the network the row measured, “s0 (other run)” one trained to the same recipe "
              "in another run, whose own numbers are in its record. Click a column header to sort.")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spindrop-bench leaderboard"
            f"</title><style>{STYLE}</style></head><body><h1>spindrop-bench leaderboard</h1>"
            f'<p class="note">{html.escape(legend)}</p>' + "".join(parts)
            + f"<script>{SCRIPT}</script></body></html>\n")


def write_site(folders: Sequence[Path], out: Path, zoo: Path | None = None) -> Path:
    """Write ``out/index.html`` for the stores or report folders ``folders``, rows linked to the records
    of the zoo at ``zoo`` (default :func:`spindrop.zoo.zoo_root`); returns its path."""
    if zoo is not None and not zoo.is_dir():
        raise FileNotFoundError(f"no zoo folder {zoo}: pass --zoo a folder of zoo records (written by "
                                "python -m suites.zoo export RUN_DIR) or leave it out for the package zoo")
    boards = [load_board(Path(f), zoo) for f in folders]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    atomic_write_text(path, page(boards, out))
    return path


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m reports.site", description="Write the leaderboard page: one "
                                 "self-contained HTML file from one or more result stores or report folders.")
    ap.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                    help="a run's output folder or a report folder (holding results.csv)")
    ap.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder of index.html")
    ap.add_argument("--zoo", type=Path, metavar="DIR", help="the zoo whose records the rows link to (default: "
                    "$SPINDROP_ZOO if set, else the zoo shipped with spindrop)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        path = write_site(args.runs, args.out, args.zoo)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""The report's view of a result store: the cells of one profile, method labels and seed statistics.

Tables, plots, the paper-claims section and the Markdown report read numbers only through
:class:`Results`, so that the selection of cells, the row labels, the aggregation over seeds
(mean ± sample standard deviation with a 95 % interval) and the paired comparisons between
methods are defined once (docs/design.md "Statistics").

A store can hold cells of several profiles or MC-sample counts (e.g. a ``smoke`` run and a
``quick`` run into the same output folder); averaging them would mix unlike numbers, so the
report shows one (profile, T) combination: the latest recorded run's if the store has cells of
it, else the most frequent one. The others stay in ``results.csv``/``results.json`` and the
report says they were left out.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from spindrop.plot_spec import PlotSpec
from spindrop.report_spec import SuiteReport
from spindrop.stats import Interval, Replicates, paired_difference, paired_t, percentile_interval, t_interval
from spindrop.store import MEASURED, Cell, CellKey, ResultStore

# Baselines and the paper's methods first, in this order; any other (plugin) method follows by name.
METHOD_ORDER = ("deterministic", "mc_dropout", "spindrop", "spatial", "scale")

# The built-in suites in report order; others (plugins) follow by name.
SUITE_ORDER = ("accuracy", "calibration", "ood", "shift", "modules", "energy")
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10 (JPEG copy)"}
DATASET_ORDER = tuple(DATASET_NAMES)


UNBOUNDED = frozenset({"nll", "MCE_images"})
"""Last components of measured metric names with no upper bound (NLL; the image count of the MCE bin);
``brier`` is at most 2 and every other measured metric (accuracy, ECE/MCE, AUROC, AUPR, FPR, share
detected) is a fraction."""


def metric_range(metric: str) -> tuple[float, float]:
    """The values a measured metric can take: every one is ≥ 0; see :data:`UNBOUNDED`."""
    last = metric.rsplit("/", 1)[-1]
    return 0.0, math.inf if last in UNBOUNDED else 2.0 if last == "brier" else 1.0


def dataset_name(dataset: str) -> str:
    """Display name of a dataset (CIFAR-10 is the JPEG copy of the shared data folder)."""
    return DATASET_NAMES.get(dataset, dataset)


class ReportError(Exception):
    """The output folder has nothing to report (no store, or a store without cells)."""


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof = 1) of one quantity over ``n`` seeds, and its
    95 % interval [``low``, ``high``]: the t-interval over seeds (n ≥ 2) or the bootstrap interval
    over the images of the one seed (n = 1); None for modelled numbers and where no interval exists.
    ``wide``: the t-interval passes the range the metric can take (:func:`metric_range`), so it
    cannot be read (fewer seeds than the metric's spread needs); it is shown as computed, marked,
    never clipped to the range.

    ``std`` is None with fewer than two values; ``n`` = 0 (mean NaN) when nothing was measured.
    """

    mean: float
    std: float | None
    n: int
    low: float | None = None
    high: float | None = None
    wide: bool = False

    @classmethod
    def of(cls, values: Iterable[float]) -> Stat:
        finite = [float(v) for v in values if v is not None and math.isfinite(v)]
        if not finite:
            return cls(math.nan, None, 0)
        return cls(statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else None,
                   len(finite))


def params_text(params: Sequence[tuple[str, object]]) -> str:
    """Method parameters as the store's frame writes them (``p=0.2,q=1``)."""
    return ",".join(f"{k}={v}" for k, v in params)


@dataclass
class Results:
    """The cells of one (profile, MC samples) combination of a store, ready to report.

    ``cells``/``frame``: the reported cells (ok and failed) and their long frame with an added
    ``label`` column (the row label of the method); ``all_frame``: every cell of the store;
    ``run``: the recorded run info of the reported profile ({} if none was recorded);
    ``left_out``: (profile, T, number of cells) of the combinations not reported;
    ``method_labels``: (method, parameters text) → row label.
    """

    out: Path
    cells: list[Cell]
    frame: pd.DataFrame
    all_frame: pd.DataFrame
    meta: dict
    run: dict
    profile: str
    mc_samples: int
    left_out: list[tuple[str, int, int]]
    method_labels: dict[tuple[str, str], str]

    reference: str = "mc_dropout"

    @classmethod
    def load(cls, out: str | Path, reference: str = "mc_dropout") -> Results:
        """Read the store under ``out``; :class:`ReportError` if it is missing or has no cells.
        ``reference``: the method every other is compared with (paired differences)."""
        out = Path(out)
        store = ResultStore(out)
        if not (store.root / "cells").is_dir():
            raise ReportError(f"no result store in {out} (expected {store.root / 'cells'}); "
                              "run `python -m suites.run --out DIR` first")
        every = store.cells()
        if not every:
            raise ReportError(f"result store {store.root} has no cells; run `python -m suites.run` first")
        meta = store.read_metadata()
        combos = Counter((c.key.profile, c.key.mc_samples) for c in every)
        latest = meta.get("latest") or {}
        wanted = (latest.get("profile"), latest.get("mc_samples"))
        profile, mc_samples = wanted if wanted in combos else combos.most_common(1)[0][0]
        runs = [r for r in meta.get("runs", [])
                if (r.get("profile"), r.get("mc_samples")) == (profile, mc_samples)]
        cells = [c for c in every if (c.key.profile, c.key.mc_samples) == (profile, mc_samples)]
        all_frame = store.frame()
        frame = all_frame[(all_frame["profile"] == profile) & (all_frame["mc_samples"] == mc_samples)].copy()
        labels = _method_labels(cells)
        frame["label"] = [labels[(m, p)] for m, p in zip(frame["method"], frame["params"])]
        left_out = sorted((p, t, n) for (p, t), n in combos.items() if (p, t) != (profile, mc_samples))
        computing = [r for r in runs if r.get("cells_done")] or runs  # a no-op rerun computes nothing
        return cls(out, cells, frame, all_frame, meta, computing[-1] if computing else {}, profile, mc_samples,
                   left_out, labels, reference)

    def __post_init__(self) -> None:
        self.cells = sorted(self.cells, key=_cell_order)
        self._groups: dict[tuple[str, str, str], list[Cell]] = {}
        for c in self.cells:
            self._groups.setdefault((c.key.suite, c.key.dataset, c.key.model), []).append(c)
        ok = self.frame[self.frame["status"] == "ok"]
        self._frames = dict(tuple(ok.groupby(["suite", "dataset", "model"])))
        self._pivots: dict[tuple[str, str, str], pd.DataFrame] = {}
        self._stats: dict[tuple[str, str, str, tuple[str, ...]], dict[str, Stat]] = {}
        self._store = ResultStore(self.out)
        self._replicates: dict[str, Replicates | None] = {}

    def label(self, key: CellKey) -> str:
        """Row label of a cell's method (with its parameters when the method has several)."""
        return self.method_labels[(key.method, params_text(key.params))]

    def targets(self) -> list[tuple[str, str]]:
        """(dataset, model) pairs with at least one cell: known datasets first (MNIST, Fashion-MNIST,
        CIFAR-10), then by name."""
        return list(dict.fromkeys((c.key.dataset, c.key.model) for c in self.cells))

    def suites(self) -> list[str]:
        """Suites with at least one cell: the built-in ones in report order, then by name."""
        return list(dict.fromkeys(c.key.suite for c in self.cells))

    def _select(self, suite: str, dataset: str, model: str, ok: bool = True) -> list[Cell]:
        chosen = self._groups.get((suite, dataset, model), [])
        return [c for c in chosen if c.status == "ok"] if ok else chosen

    def labels(self, suite: str, dataset: str, model: str) -> list[str]:
        """Row labels of every method with a cell (ok or failed) of ``suite`` on (dataset, model):
        baselines and the paper's methods first (:data:`METHOD_ORDER`), then by name."""
        return list(dict.fromkeys(self.label(c.key) for c in self._select(suite, dataset, model, ok=False)))

    def seed_counts(self, suite: str, dataset: str, model: str) -> dict[str, tuple[int, int]]:
        """label → (cells ok, cells in all) of ``suite`` on (dataset, model)."""
        counts: dict[str, tuple[int, int]] = {}
        for c in self._select(suite, dataset, model, ok=False):
            ok, total = counts.get(self.label(c.key), (0, 0))
            counts[self.label(c.key)] = (ok + (c.status == "ok"), total + 1)
        return counts

    def metric_names(self, suite: str, dataset: str, model: str) -> list[str]:
        """Metric names of the ok cells, in the order the suite wrote them."""
        return list(dict.fromkeys(m for c in self._select(suite, dataset, model) for m in c.metrics))

    def report_specs(self, suite: str, dataset: str, model: str) -> list[SuiteReport]:
        """The group and tables stored in each ok cell of ``suite`` on (dataset, model); cells written
        before suites declared them hold none."""
        return [SuiteReport.from_json(c.report) for c in self._select(suite, dataset, model) if c.report]

    def plot_specs(self, suite: str, dataset: str, model: str) -> list[PlotSpec]:
        """The figures ``suite`` declares (:meth:`suites.base.Suite.plots`) in its ok cells on
        (dataset, model), each title once (the last cell's declaration of it)."""
        found = {}
        for c in self._select(suite, dataset, model):
            for d in (c.report or {}).get("plots", []):
                spec = PlotSpec.from_json(d)
                found[spec.title] = spec
        return list(found.values())

    def kind(self, suite: str) -> str:
        """'measured', 'modelled' (or both, joined) for the numbers of ``suite``."""
        kinds = self.frame.loc[(self.frame["suite"] == suite) & self.frame["kind"].notna(), "kind"]
        return " and ".join(sorted(set(kinds))) or "unknown"

    def _pivot(self, suite: str, dataset: str, model: str) -> pd.DataFrame:
        """(label, seed) × metric values of the ok cells, built once per (suite, dataset, model)."""
        key = (suite, dataset, model)
        if key not in self._pivots:
            rows = self._frames.get(key)
            self._pivots[key] = (pd.DataFrame() if rows is None else
                                 rows.pivot_table(index=["label", "seed"], columns="metric", values="value",
                                                  aggfunc="first"))
        return self._pivots[key]

    def stats(self, suite: str, dataset: str, model: str, metrics: Sequence[str]) -> dict[str, Stat]:
        """label → :class:`Stat` over seeds of one quantity: per seed the mean of those of
        ``metrics`` it has (e.g. one corruption's severities), then mean ± std over the seeds.
        Every label of :meth:`labels` is present (``n`` = 0 where nothing was measured). Computed
        once per arguments (the report's sections and figures ask for the same quantities)."""
        key = (suite, dataset, model, tuple(metrics))
        if key not in self._stats:
            self._stats[key] = self._compute_stats(suite, dataset, model, metrics)
        return dict(self._stats[key])

    def _compute_stats(self, suite: str, dataset: str, model: str, metrics: Sequence[str]) -> dict[str, Stat]:
        pivot = self._pivot(suite, dataset, model)
        present = [m for m in metrics if m in pivot.columns]
        values: dict[str, list[float]] = {}
        if present:
            per_seed = pivot[present].mean(axis=1)
            values = {label: list(group) for label, group in per_seed.groupby(level="label")}
        stats = {label: Stat.of(values.get(label, [])) for label in self.labels(suite, dataset, model)}
        if self.kind(suite) != MEASURED:
            return stats
        return {label: self._with_interval(stat, suite, dataset, model, label, metrics)
                for label, stat in stats.items()}

    def _with_interval(self, stat: Stat, suite: str, dataset: str, model: str, label: str,
                       metrics: Sequence[str]) -> Stat:
        """``stat`` with its 95 % interval: t over seeds (n ≥ 2), else the one seed's bootstrap."""
        if stat.n >= 2:
            # a t-interval over few seeds can pass the metric's range (an AUROC above 100 %): kept as
            # computed and marked wide, as the report's Conventions say
            _, _, low, high = t_interval(self._seed_values(suite, dataset, model, label, metrics))
            floor, ceiling = (max(bounds) for bounds in zip(*(metric_range(m) for m in metrics)))
            return Stat(stat.mean, stat.std, stat.n, low, high, wide=low < floor or high > ceiling)
        if stat.n == 1:
            cell = next(c for c in self._select(suite, dataset, model) if self.label(c.key) == label
                        and self._seed_value(c, metrics) is not None)
            present = [m for m in metrics if cell.metrics.get(m) is not None]
            if len(present) == 1 and present[0] in cell.intervals:
                ci = cell.intervals[present[0]]
                return Stat(stat.mean, stat.std, 1, ci["ci_low"], ci["ci_high"])
            found = self.seed_replicates(cell, metrics)
            if found is not None:
                return Stat(stat.mean, stat.std, 1, *percentile_interval(found[1]))
        return stat

    @staticmethod
    def _seed_value(cell: Cell, metrics: Sequence[str]) -> float | None:
        """A seed's value of a quantity: the mean of those of ``metrics`` the cell has (None: none)."""
        present = [cell.metrics[m] for m in metrics if cell.metrics.get(m) is not None]
        return statistics.fmean(present) if present else None

    def _seed_values(self, suite: str, dataset: str, model: str, label: str, metrics: Sequence[str]) -> list[float]:
        found = (self._seed_value(c, metrics) for c in self._select(suite, dataset, model)
                 if self.label(c.key) == label)
        return [v for v in found if v is not None and math.isfinite(v)]

    def replicates(self, cell: Cell) -> Replicates | None:
        """The bootstrap replicates of ``cell`` (None: none, or its side file is unusable)."""
        ident = cell.key.id
        if ident not in self._replicates:
            self._replicates[ident] = self._store.replicates(cell)
        return self._replicates[ident]

    def seed_replicates(self, cell: Cell, metrics: Sequence[str]) -> tuple[float, np.ndarray] | None:
        """(value, replicates) of one seed's quantity: the mean over those of ``metrics`` the cell
        has, replicate by replicate; None when a metric has no replicates."""
        present = [m for m in metrics if cell.metrics.get(m) is not None]
        reps = self.replicates(cell)
        if not present or reps is None or any(m not in reps.values for m in present):
            return None
        return statistics.fmean(cell.metrics[m] for m in present), np.mean([reps.values[m] for m in present], axis=0)

    def paired(self, suite: str, dataset: str, model: str, metrics: Sequence[str], label_a: str,
               label_b: str) -> Paired | None:
        """Δ = a − b of one quantity (the mean of ``metrics`` per seed) over the seeds both methods
        have (with the same metrics present). With S ≥ 2 seeds: the paired t-test over the per-seed
        differences (:func:`spindrop.stats.paired_t`: t-interval and p-value), which needs only the
        per-seed values of ``results.csv``. With one seed: the paired bootstrap over the images
        (:func:`spindrop.stats.paired_difference`), which describes that pair of networks and has
        no p-value. None without a common seed (or, with one seed, without replicates that pair)."""
        by_seed = {label: {c.key.seed: c for c in self._select(suite, dataset, model) if self.label(c.key) == label}
                   for label in (label_a, label_b)}
        pairs = []
        for seed in sorted(set(by_seed[label_a]) & set(by_seed[label_b])):
            ca, cb = by_seed[label_a][seed], by_seed[label_b][seed]
            present = [m for m in metrics if ca.metrics.get(m) is not None]
            if present and present == [m for m in metrics if cb.metrics.get(m) is not None]:
                pairs.append((ca, cb, present))
        if len(pairs) >= 2:
            values = [(self._seed_value(ca, present), self._seed_value(cb, present)) for ca, cb, present in pairs]
            t = paired_t(*zip(*values))
            return Paired(label_a, label_b, Interval(t.estimate, t.low, t.high), t.seeds, t.p, t.test)
        if not pairs:
            return None
        ca, cb, present = pairs[0]
        ra, rb = self.replicates(ca), self.replicates(cb)
        if ra is None or rb is None or not all(ra.pairs_with(rb, m) for m in present):
            return None
        (va, xa), (vb, xb) = self.seed_replicates(ca, present), self.seed_replicates(cb, present)
        return Paired(label_a, label_b, paired_difference(va, vb, xa, xb), 1, None, IMAGE_BOOTSTRAP)

    def reference_label(self, suite: str, dataset: str, model: str) -> str | None:
        """The row label of the reference method in ``suite`` on (dataset, model), if it has cells."""
        found = [c for c in self._select(suite, dataset, model) if c.key.method == self.reference]
        return self.label(found[0].key) if found else None

    def extras(self, suite: str, dataset: str, model: str) -> dict[str, list[tuple[int, dict]]]:
        """label → [(seed, extras), ...] of the ok cells, seeds ascending."""
        found: dict[str, list[tuple[int, dict]]] = {}
        for c in self._select(suite, dataset, model):
            found.setdefault(self.label(c.key), []).append((c.key.seed, c.extras))
        return found

    def failed(self) -> list[Cell]:
        """The failed cells of the reported profile."""
        return [c for c in self.cells if c.status != "ok"]

    def stale(self) -> list[Cell]:
        """The ok cells a run kept although their provenance had changed (``--reuse-stale``)."""
        return [c for c in self.cells if c.status == "ok" and c.stale]

    def stale_labels(self, suite: str, dataset: str, model: str) -> set[str]:
        """Row labels of ``suite`` on (dataset, model) with at least one stale cell."""
        return {self.label(c.key) for c in self._select(suite, dataset, model) if c.stale}

    def presets(self) -> dict[str, int]:
        """Hardware preset name → number of cells whose numbers were priced with it."""
        found = Counter((c.provenance.get("preset") or {}).get("name") for c in self.cells)
        found.pop(None, None)
        return dict(found)


IMAGE_BOOTSTRAP = "paired bootstrap over images (one seed: descriptive, no test)"
"""The ``test`` of a one-seed :class:`Paired`: an interval that describes one pair of networks."""


@dataclass(frozen=True)
class Paired:
    """The difference ``a − b`` of two methods' quantity over ``seeds`` paired seeds: ``delta`` with
    its 95 % interval (paired t over seeds, or the image bootstrap of one seed), the test's raw
    two-sided ``p`` (None: no test) and the ``test``'s name. Whether it is *significant* is decided
    per family (:func:`spindrop.stats.holm`, :func:`spindrop.stats.significant`), not here."""

    a: str
    b: str
    delta: Interval
    seeds: int
    p: float | None
    test: str


def _rank(order: Sequence[str], name: str) -> tuple[int, str]:
    """Sort key: position in ``order``, names not in it after, by name."""
    return (order.index(name) if name in order else len(order)), name


def _cell_order(cell: Cell) -> tuple:
    """Report order: suite, dataset, model, method (baselines and the paper's first), seed."""
    k = cell.key
    return (_rank(SUITE_ORDER, k.suite), _rank(DATASET_ORDER, k.dataset), k.model, _rank(METHOD_ORDER, k.method),
            params_text(k.params), k.seed)


def _method_labels(cells: Iterable[Cell]) -> dict[tuple[str, str], str]:
    """(method, params text) → row label: the method name, plus its parameters when one method
    appears with several parameter sets or with parameters besides the run's p (``--method-param``).
    Parameters selected by the tuning protocol (the cell's provenance names its tuning record) are
    the method's operating point on each dataset, not a variant: their label is the method name
    (the report's "Tuned operating points" says which values)."""
    cells = list(cells)
    tuned = {(c.key.method, params_text(c.key.params)) for c in cells if c.provenance.get("tuning")}
    every = {(c.key.method, params_text(c.key.params)) for c in cells}
    own = {(c.key.method, params_text(c.key.params)): any(name != "p" for name, _ in c.key.params)
           for c in cells if (c.key.method, params_text(c.key.params)) not in tuned}
    per_method = Counter(method for method, _ in every)
    labels = {(m, p): f"{m} ({p})" if per_method[m] > 1 or set_ else m for (m, p), set_ in own.items()}
    return {**labels, **{(m, p): m for m, p in tuned}}

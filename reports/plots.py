"""PNG figures of the report (matplotlib, Agg canvas, 120 dpi), one set per (dataset, model).

* reliability diagrams, one panel per method: per-bin accuracy with its 95 % Wilson interval, the
  gap to the mean confidence (over- and under-confident gaps in their own opaque colours, so each
  colour drawn is the one in the legend), the diagonal; bins pooled over seeds (counts summed), ECE (mean over
  seeds, with its 95 % interval) in the panel title;
* accuracy vs energy: measured test accuracy (vertical bar: its 95 % interval,
  :meth:`reports.results.Results.stats`) against the modelled energy per image (log x; exact, no
  bar), total and dropout-module energy side by side, each point labelled with its method where
  the label meets no other (:func:`label_points`);
* energy breakdown: stacked bars of the modelled energy components per method, plus a panel
  per aggregate component (e.g. the dropout module's write/read/reset) so small parts stay
  visible; modelled numbers are exact outputs of the cost model, so they carry no error bars;
* predictive-entropy histograms, ID vs every OOD set, one panel per method (first seed): a
  picture of the score's distribution, not an estimate, so no error bars (the AUROCs with their
  intervals are in the OOD table and the forest plot);
* training curves: per-epoch training loss and accuracy, validation accuracy and NLL, one line
  per method (mean over seeds) with a band of the 95 % t-interval over seeds (two or more seeds
  with a log), from the training logs the accuracy cells point to;
* the figures a suite declares (:class:`spindrop.plot_spec.PlotSpec`, :func:`declared`): one line
  per method, mean over seeds with its 95 % interval as a bar;
* forest plot: per method other than the reference, the paired difference Δ = method − reference
  of accuracy, ECE and the entropy OOD AUROC averaged over the OOD sets, with its paired 95 %
  interval (:func:`reports.findings.comparisons`, :func:`forest_rows`).

Every vertical bar, band and horizontal line is a 95 % interval of a measured quantity
(docs/design.md "Statistics").

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas (no pyplot state, no
display needed); constrained layout keeps labels apart, and the pixel size is exactly
figure size × :data:`DPI`.
"""
from __future__ import annotations

import functools
import math
import multiprocessing
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

from spindrop.plot_spec import PlotSpec
from spindrop.report_spec import energy_parts, metric_column, metric_format
from spindrop.stats import MIN_SEEDS, t_interval
from spindrop.training.curves import read_curves

from .findings import Comparison, comparisons
from .results import Results, Stat, dataset_name
from .robustness import draw_robustness, figure_size, has_robustness
from .tables import energy_unit, format_stat, render_column

DPI = 120
PANEL = (3.6, 3.0)      # inches per subplot of the per-method grids
MAX_COLS = 3
LEGEND_ROW = 0.6        # inches added below a grid for its figure legend
MARKERS = "osD^vP*Xh<>p"
TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Plot:
    """One written figure."""

    dataset: str
    model: str
    title: str
    path: Path


def grid(n: int) -> tuple[int, int]:
    """(rows, columns) of a grid of ``n`` panels, at most :data:`MAX_COLS` wide."""
    cols = min(MAX_COLS, max(n, 1))
    return math.ceil(n / cols), cols


def grid_size(n: int) -> tuple[float, float]:
    """Figure size in inches of a grid of ``n`` panels with a legend row below."""
    rows, cols = grid(n)
    return cols * PANEL[0], rows * PANEL[1] + LEGEND_ROW + 0.4


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(wspace=0.06, hspace=0.04)  # keeps neighbouring tick labels apart
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _panels(fig: Figure, n: int, xlabel: str, ylabel: str) -> list:
    """The ``n`` axes of a grid with shared axes, labelled on the outer panels only; the unused
    grid places are removed."""
    rows, cols = grid(n)
    axes = list(fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).flat)
    for ax in axes[n:]:
        ax.remove()
    for i, ax in enumerate(axes[:n]):
        if i + cols >= n:  # nothing below it: keep its x tick labels and label the axis
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(xlabel)
        if i % cols == 0:
            ax.set_ylabel(ylabel)
    return axes[:n]


def _legend(fig: Figure, loc: str, **kwargs) -> None:
    """One figure legend with every distinct label of every panel."""
    handles = {label: h for ax in fig.axes for h, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc=loc, frameon=False, **kwargs)


def _style(labels: list[str]) -> dict[str, tuple[str, str]]:
    """label → (colour, marker), fixed by the label's position so figures agree."""
    return {label: (f"C{i % 10}", MARKERS[i % len(MARKERS)]) for i, label in enumerate(labels)}


def _filename(kind: str, dataset: str, model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}_{dataset}_{model}") + ".png"


def error_bar(stat: Stat, scale: float = 1.0) -> tuple[float, float]:
    """(below, above): the distances from the mean of ``stat`` to the ends of its 95 % interval,
    × ``scale`` (matplotlib's asymmetric ``yerr``); (0, 0) when the stat has no interval."""
    if stat.low is None or stat.high is None:
        return 0.0, 0.0
    return (stat.mean - stat.low) * scale, (stat.high - stat.mean) * scale


Z95 = 1.959963984540054
"""The 0.975 quantile of the standard normal distribution (95 % two-sided)."""


def wilson_interval(accuracy: np.ndarray, count: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the Wilson score interval (Wilson 1927, JASA 22:209) of a proportion
    ``accuracy`` of ``count`` Bernoulli outcomes:
    (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n). NaN where ``count`` is 0."""
    p, n = np.asarray(accuracy, dtype=float), np.asarray(count, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the interval contains p̂; at p̂ ∈ {0, 1} rounding can leave an end a few ulp inside it
    return np.fmin(centre - half, p), np.fmax(centre + half, p)


def _pool(bins: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool reliability bins over seeds: counts summed, conf/acc count-weighted (NaN if empty)."""
    count = np.zeros(len(bins[0]["count"]))
    conf_sum, acc_sum = np.zeros_like(count), np.zeros_like(count)
    for b in bins:
        n = np.asarray(b["count"], dtype=float)
        conf = np.nan_to_num(np.asarray(b["confidence"], dtype=float))
        acc = np.nan_to_num(np.asarray(b["accuracy"], dtype=float))
        count += n
        conf_sum += n * conf
        acc_sum += n * acc
    with np.errstate(invalid="ignore", divide="ignore"):
        return conf_sum / count, acc_sum / count, count


OVER_CONFIDENT = "#f3b3b3"   # a gap above the accuracy bar
UNDER_CONFIDENT = "#5f5b83"  # a gap inside the accuracy bar: opaque, distinct from both neighbours


def reliability(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Reliability diagrams, one panel per method; None without calibration cells.

    A bin's bar carries the Wilson interval (:func:`wilson_interval`) of its accuracy given the
    predictions that fell into it, treating the pooled predictions as independent outcomes: it
    leaves out the randomness of bin membership and, pooled over seeds, the variation between
    networks (the same images are counted once per seed), so it is a lower bound on the bin's
    uncertainty. The cells keep no per-bin bootstrap replicates to do better."""
    extras = res.extras("calibration", dataset, model)
    if not extras:
        return None
    ece = res.stats("calibration", dataset, model, ["test/cal/ECE"])
    ece_col = render_column(metric_column("ECE", ("test/cal/ECE",)))
    fig = _figure(grid_size(len(extras)))
    for ax, (label, seeds) in zip(_panels(fig, len(extras), "confidence (top-label)", "accuracy"), extras.items()):
        conf, acc, count = _pool([e["reliability"] for _, e in seeds])
        edges = np.linspace(0.0, 1.0, len(count) + 1)
        full = count > 0
        width = np.diff(edges)[full]
        ax.bar(edges[:-1][full], acc[full], width=width, align="edge", color="C0", edgecolor="black",
               linewidth=0.5, label="accuracy")
        for gap, colour, name in ((conf > acc, OVER_CONFIDENT, "over-confident gap"),
                                  (conf < acc, UNDER_CONFIDENT, "under-confident gap")):
            shown = full & gap  # opaque: the colour drawn is the colour in the legend
            if shown.any():
                ax.bar(edges[:-1][shown], np.abs(conf - acc)[shown], bottom=np.minimum(conf, acc)[shown],
                       width=np.diff(edges)[shown], align="edge", color=colour, edgecolor="C3", linewidth=0.5,
                       label=name)
        low, high = wilson_interval(acc[full], count[full])
        ax.errorbar((edges[:-1] + np.diff(edges) / 2)[full], acc[full], yerr=(acc[full] - low, high - acc[full]),
                    fmt="none", ecolor="black", elinewidth=0.8, capsize=1.5, label="95 % Wilson interval")
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.3", linewidth=1, label="perfect calibration")
        ax.set(xlim=(0, 1), ylim=(0, 1), xticks=TICKS, yticks=TICKS)
        ax.set_title(f"{label}\nECE {format_stat(ece[label], ece_col)} %", fontsize=10)
    seeds = max(len(s) for s in extras.values())
    fig.suptitle(f"Reliability diagrams — {dataset_name(dataset)} / {model} "
                 f"(measured; {len(count)} bins, pooled over {seeds} seed{'s' * (seeds > 1)})")
    _legend(fig, "outside lower center", ncols={1: 2, 2: 3}.get(grid(len(extras))[1], 5))
    return _save(fig, path)


EnergyPanel = tuple[str, str, dict[str, tuple[Stat, Stat]]]


def accuracy_energy_points(res: Results, dataset: str, model: str) -> list[EnergyPanel]:
    """The panels of :func:`accuracy_energy`: (energy name, title note, label → (accuracy stat,
    energy stat)) for the total and the dropout-module energy; a method is in a panel when it has
    an accuracy and a positive energy (a log axis); panels without a method are left out."""
    acc = res.stats("accuracy", dataset, model, ["test/acc"])
    panels = []
    for metric, name, note in (("hw/energy/total_pJ", "total energy", ""),
                               ("hw/energy/dropout_pJ", "dropout-module energy", " (methods with none left out)")):
        energy = res.stats("energy", dataset, model, [metric])
        points = {label: (acc[label], energy[label]) for label in acc
                  if acc[label].n and label in energy and energy[label].n and energy[label].mean > 0}
        if points:
            panels.append((name, note, points))
    return panels


def accuracy_energy(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Measured accuracy vs modelled energy per image (log x), one marker per method with the
    accuracy's 95 % interval as a vertical bar (:func:`error_bar`); the energy is modelled (exact),
    so it has no bar. Left the total energy, right the dropout-module energy alone (where the
    methods differ most; methods without dropout energy cannot sit on a log axis and are left out
    there). None unless some method has both an accuracy and an energy cell."""
    panels = accuracy_energy_points(res, dataset, model)
    if not panels:
        return None
    style = _style(res.labels("accuracy", dataset, model))
    fig = _figure((5.0 * len(panels) + 1.6, 4.6))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (name, note, points) in zip(axes, panels):
        unit, factor = energy_unit(max(e.mean for _, e in points.values()))
        for label, (acc, energy) in points.items():
            colour, marker = style[label]
            below, above = error_bar(acc, 100.0)
            ax.errorbar(energy.mean * factor, acc.mean * 100, yerr=[[below], [above]],
                        color=colour, marker=marker, markersize=MARKER_SIZE, markeredgecolor="white",
                        linestyle="none", elinewidth=1, capsize=3, alpha=0.9, label=label)
        ax.set_xscale("log")
        values = [e.mean for _, e in points.values() if e.mean > 0]
        decades = math.log10(max(values) / min(values)) if values else 0.0
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades <= 2 else (1.0,)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{name} per image, T = {res.mc_samples} ({unit}, modelled: exact, no bar)")
        ax.set_title(name + note, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("test accuracy % (measured; bar: 95 % interval)")
    _legend(fig, "outside right upper", fontsize=9)
    fig.suptitle(f"Accuracy vs energy — {dataset_name(dataset)} / {model}")
    for ax, (_, _, points) in zip(axes, panels):  # after the layout: labels are placed in display space
        unit, factor = energy_unit(max(e.mean for _, e in points.values()))
        label_points(ax, [(e.mean * factor, a.mean * 100, label, style[label][0]) for label, (a, e) in points.items()])
    return _save(fig, path)


MARKER_SIZE = 9  # points
# Where a point's label may go, tried in this order: (dx, dy) in points from the point, alignment.
LABEL_PLACES = ((7, 3, "left", "bottom"), (7, -3, "left", "top"), (-7, 3, "right", "bottom"),
                (-7, -3, "right", "top"), (0, 9, "center", "bottom"), (0, -9, "center", "top"))


def label_points(ax, points: list[tuple[float, float, str, str]]) -> list:
    """Label each point (x, y, text, colour) next to its marker: at the first place of
    :data:`LABEL_PLACES` (then the same places twice, three and four times as far) where the
    label's box stays inside the axes and meets neither a label placed before nor a marker; where
    no place is free, at the last one tried. Labels are left out of the layout (placing one moves
    nothing), so the figure's layout is drawn first and the boxes are measured by its renderer."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    half = MARKER_SIZE * fig.dpi / 72 / 2
    taken = [Bbox.from_extents(px - half, py - half, px + half, py + half)
             for px, py in ax.transData.transform([(x, y) for x, y, _, _ in points])]
    labels = []
    for x, y, text, colour in points:
        for scale in (1, 2, 3, 4):
            for dx, dy, ha, va in LABEL_PLACES:
                note = ax.annotate(text, (x, y), xytext=(dx * scale, dy * scale), textcoords="offset points",
                                   ha=ha, va=va, fontsize=8, color=colour, annotation_clip=False)
                note.set_in_layout(False)
                box = note.get_window_extent(renderer)
                free = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
                        and not any(box.overlaps(other) for other in taken))
                if free or (scale, (dx, dy, ha, va)) == (4, LABEL_PLACES[-1]):
                    break
                note.remove()
            else:
                continue
            break
        taken.append(box)
        labels.append(note)
    return labels


def energy_breakdown(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Stacked horizontal bars of the energy components per method: one panel with every leaf
    component, one per aggregate (other than the total) with its own components."""
    leaves, aggregates = energy_parts(res.metric_names("energy", dataset, model))
    if not leaves:
        return None
    panels = [("all components", leaves)] + [
        (f"{agg} components", [p for p in leaves if p.startswith(agg + "_")]) for agg in aggregates if agg != "total"]
    stats = {p: res.stats("energy", dataset, model, [f"hw/energy/{p}_pJ"]) for p in leaves}
    labels = [label for label in res.labels("energy", dataset, model) if any(stats[p][label].n for p in leaves)]
    colours = {p: f"C{i % 10}" for i, p in enumerate(leaves)}
    fig = _figure((5.2 * len(panels), 2.2 + 0.45 * len(labels)))
    y = np.arange(len(labels))
    for i, (ax, (title, parts)) in enumerate(zip(fig.subplots(1, len(panels), squeeze=False)[0], panels)):
        values = {p: np.array([np.nan_to_num(stats[p][label].mean) for label in labels]) for p in parts}
        total = sum(values.values())
        unit, factor = energy_unit(float(total.max()) if total.size else 0.0)
        left = np.zeros(len(labels))
        for p in parts:
            ax.barh(y, values[p] * factor, left=left, color=colours[p], label=p.replace("_", " "))
            left += values[p] * factor
        for yi, t in zip(y, total * factor):
            ax.annotate(f"{t:.4g}", (t, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(y, labels if i == 0 else [""] * len(labels))
        ax.invert_yaxis()
        ax.margins(x=0.18)
        ax.set_xlabel(f"energy per image, T = {res.mc_samples} ({unit}, modelled)")
        ax.set_title(title, fontsize=10)
    _legend(fig, "outside lower center", ncols=min(len(leaves), 5), fontsize=9)
    fig.suptitle(f"Energy breakdown — {dataset_name(dataset)} / {model} (modelled: exact, no error bars)")
    return _save(fig, path)


def _density(counts: list[int], edges: np.ndarray) -> np.ndarray:
    """Histogram counts as a density (area 1), so sets of different sizes compare."""
    counts = np.asarray(counts, dtype=float)
    return counts / max(counts.sum(), 1.0) / np.diff(edges)


def entropy_histograms(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Predictive-entropy densities of the ID test set and each OOD set, one panel per method,
    from each method's first seed; None without OOD cells."""
    extras = res.extras("ood", dataset, model)
    hists = {label: seeds[0] for label, seeds in extras.items() if "entropy_hist" in seeds[0][1]}
    if not hists:
        return None
    fig = _figure(grid_size(len(hists)))
    panels = _panels(fig, len(hists), "predictive entropy (nats)", "density")
    for ax, (label, (seed, e)) in zip(panels, hists.items()):
        h = e["entropy_hist"]
        edges = np.asarray(h["edges"], dtype=float)
        ax.stairs(_density(h["id"], edges), edges, fill=True, color="0.75", label="in-distribution (test)")
        for i, name in enumerate(k for k in h if k not in ("edges", "id")):
            ax.stairs(_density(h[name], edges), edges, color=f"C{i % 10}", linewidth=1.4, label=name)
        ax.set_title(f"{label} (seed {seed})", fontsize=10)
    fig.suptitle(f"Predictive entropy, ID vs OOD — {dataset_name(dataset)} / {model} (measured)")
    _legend(fig, "outside lower center", ncols=4)
    return _save(fig, path)


# (log column, panel title, y label, scale of the shown value)
CURVE_PANELS = (("train/loss", "training loss (masks sampled)", "cross-entropy (nats)", 1.0),
                ("train/acc", "training accuracy (masks sampled)", "accuracy %", 100.0),
                ("val/acc", "validation accuracy (deterministic pass)", "accuracy %", 100.0),
                ("val/nll", "validation NLL (deterministic pass)", "NLL (nats)", 1.0))


def seed_logs(res: Results, dataset: str, model: str) -> dict[str, list[pd.DataFrame]]:
    """label → the per-epoch training logs of its seeds, for every method whose accuracy cells lead
    to a training log (``<out>/logs/<checkpoint key>``, the key stored by the accuracy suite);
    seeds without a log are left out."""
    found = {}
    for label, seeds in res.extras("accuracy", dataset, model).items():
        logs = [read_curves(res.out, e["checkpoint_key"]) for _, e in seeds if "checkpoint_key" in e]
        logs = [log for log in logs if log is not None]
        if logs:
            found[label] = logs
    return found


def _mean_curve(logs: list[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    return pd.concat(logs).groupby(level="epoch").mean(), len(logs)


def method_curves(res: Results, dataset: str, model: str) -> dict[str, tuple[pd.DataFrame, int]]:
    """label → (per-epoch curves averaged over seeds, number of seeds) of :func:`seed_logs`."""
    return {label: _mean_curve(logs) for label, logs in seed_logs(res, dataset, model).items()}


def curve_band(logs: list[pd.DataFrame], column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(epochs, low, high): per epoch the 95 % t-interval over the seeds (:func:`t_interval`) of
    ``column``, at the epochs where two or more seeds logged it; None where no epoch has two."""
    values = pd.concat([log[column] for log in logs if column in log]).dropna()
    rows = [(epoch, *t_interval(list(group))[2:]) for epoch, group in values.groupby(level="epoch") if len(group) >= 2]
    if not rows:
        return None
    epochs, low, high = (np.array(col, dtype=float) for col in zip(*rows))
    return epochs, low, high


def training_curves(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Per-epoch training curves (:func:`method_curves`), one panel per quantity, one line per
    method with its band of 95 % t-intervals over seeds (:func:`curve_band`); None when no method
    has a training log."""
    logs = seed_logs(res, dataset, model)
    curves = {label: _mean_curve(seeds) for label, seeds in logs.items()}
    if not curves:
        return None
    style = _style(res.labels("accuracy", dataset, model))
    epochs = max(len(log) for log, _ in curves.values())
    fig = _figure((2 * 4.4, 2 * 3.2 + LEGEND_ROW))
    axes = fig.subplots(2, 2, squeeze=False, sharex=True).flat
    for i, (ax, (column, title, ylabel, scale)) in enumerate(zip(axes, CURVE_PANELS)):
        for label, (log, n) in curves.items():
            if column in log:
                colour, marker = style[label]
                ax.plot(log.index + 1, log[column] * scale, color=colour, marker=marker, markersize=5,
                        label=f"{label} ({n} seed{'s' * (n > 1)})")
                band = curve_band(logs[label], column)
                if band is not None:
                    epochs_, low, high = band
                    ax.fill_between(epochs_ + 1, low * scale, high * scale, color=colour, alpha=0.15, linewidth=0)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        if i >= 2:
            ax.set_xlabel("epoch")
        ax.set_xlim(0.5, epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(True, alpha=0.3)
    _legend(fig, "outside lower center", ncols=min(len(curves), 4), fontsize=9)
    fig.suptitle(f"Training curves — {dataset_name(dataset)} / {model} "
                 "(measured; mean over seeds, band: 95 % t-interval over seeds)")
    return _save(fig, path)


def declared(res: Results, suite: str, spec: PlotSpec, dataset: str, model: str, path: Path) -> Path | None:
    """A figure a suite declares (:class:`spindrop.plot_spec.PlotSpec`): one line per method through
    (x, mean over seeds of the metric) with the 95 % interval as a bar (:meth:`Results.stats`);
    None when no method has a value."""
    stats = [res.stats(suite, dataset, model, [m]) for m in spec.metrics]
    labels = [label for label in res.labels(suite, dataset, model) if any(s[label].n for s in stats)]
    if not labels:
        return None
    scale = 100.0 if metric_format(spec.metrics[0]) == "percent" else 1.0
    style = _style(labels)
    fig = _figure((6.4, 4.2 + LEGEND_ROW))
    ax = fig.subplots()
    for label in labels:
        points = [(x, s[label]) for x, s in zip(spec.x, stats) if s[label].n]
        colour, marker = style[label]
        bars = np.array([error_bar(stat, scale) for _, stat in points]).T
        ax.errorbar([x for x, _ in points], [stat.mean * scale for _, stat in points], yerr=bars, color=colour,
                    marker=marker, capsize=3, elinewidth=1, label=label)
    if spec.log_x:
        ax.set_xscale("log")
    ax.set(xlabel=spec.x_label, ylabel=spec.y_label + (" %" if scale == 100.0 else ""))
    ax.grid(True, alpha=0.3)
    _legend(fig, "outside lower center", ncols=min(len(labels), 4), fontsize=9)
    fig.suptitle(f"{spec.title} — {dataset_name(dataset)} / {model} ({res.kind(suite)}; bar: 95 % interval)")
    return _save(fig, path)


def robustness(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Metric vs dropout-module non-ideality (:func:`reports.robustness.draw_robustness`)."""
    if not has_robustness(res, dataset, model):
        return None
    fig = _figure(figure_size())
    labels = res.labels("robustness", dataset, model)
    draw_robustness(fig, res, dataset, model, _style(labels))
    _legend(fig, "outside lower center", ncols=min(len(labels), 5), fontsize=9)
    return _save(fig, path)


@dataclass(frozen=True)
class ForestRow:
    """One row of a forest plot: Δ = ``method`` − ``reference`` of ``quantity`` with its paired 95 %
    interval [``low``, ``high``] (fractions, as stored), over ``seeds`` paired seeds."""

    method: str
    reference: str
    quantity: str
    delta: float
    low: float
    high: float
    seeds: int
    significant: bool


def forest_rows(res: Results, found: list[Comparison], dataset: str, model: str) -> list[ForestRow]:
    """The rows of the forest plot of (dataset, model): the comparisons of ``found``
    (:func:`reports.findings.comparisons`) against the reference method, by method then quantity
    (accuracy, ECE, OOD AUROC); the paper's spatial − spindrop pair is not against the reference
    and stays in the report's opening section."""
    rows = [ForestRow(c.paired.a, c.paired.b, c.quantity.column.label, c.paired.delta.value, c.paired.delta.low,
                      c.paired.delta.high, c.paired.seeds, c.significant)
            for c in found if (c.dataset, c.model) == (dataset, model)
            and c.paired.b == res.reference_label(c.quantity.suite, dataset, model)]
    methods = list(dict.fromkeys(r.method for r in rows))
    return sorted(rows, key=lambda r: methods.index(r.method))


FOREST_ROW = 0.32  # inches per forest-plot row


def forest(res: Results, found: list[Comparison], dataset: str, model: str, path: Path) -> Path | None:
    """Forest plot of :func:`forest_rows`: one panel per quantity (its own Δ scale, in percentage
    points), one row per method, a point at Δ and a line over its paired 95 % interval, a
    vertical line at 0; filled markers: significant (paired t over seeds, Holm-adjusted within the
    (dataset, model)'s comparisons: :func:`reports.findings.comparisons`). None without a
    paired comparison against the reference."""
    rows = forest_rows(res, found, dataset, model)
    if not rows:
        return None
    quantities = list(dict.fromkeys(r.quantity for r in rows))
    methods = list(dict.fromkeys(r.method for r in rows))
    style = _style(res.labels("accuracy", dataset, model) + methods)
    fig = _figure((3.6 * len(quantities) + 1.2, 1.6 + FOREST_ROW * len(methods) + LEGEND_ROW))
    axes = fig.subplots(1, len(quantities), squeeze=False, sharey=True)[0]
    y = {m: i for i, m in enumerate(methods)}
    for ax, quantity in zip(axes, quantities):
        ax.axvline(0.0, color="0.3", linewidth=1, linestyle="--")
        for r in (r for r in rows if r.quantity == quantity):
            colour, marker = style[r.method]
            ax.errorbar(100 * r.delta, y[r.method], xerr=[[100 * (r.delta - r.low)], [100 * (r.high - r.delta)]],
                        color=colour, marker=marker, markersize=7, capsize=3, elinewidth=1.2, linestyle="none",
                        markerfacecolor=colour if r.significant else "white", label=r.method)
        ax.set_title(quantity, fontsize=10)
        ax.set_xlabel("Δ vs reference (pp)")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(methods)), methods)
    axes[0].set_ylim(len(methods) - 0.5, -0.5)
    seeds = max(r.seeds for r in rows)
    fig.suptitle(f"Paired differences vs the reference {rows[0].reference} — {dataset_name(dataset)} / {model}\n"
                 f"(measured; Δ with its 95 % paired interval, {seeds} seed{'s' * (seeds > 1)}; "
                 + ("filled marker: significant, paired t-test with Holm's correction)" if seeds >= MIN_SEEDS else
                    f"no verdict below {MIN_SEEDS} seeds)"), fontsize=10)
    return _save(fig, path)


FIGURES = (("reliability", "Reliability diagrams", reliability),
           ("accuracy_energy", "Accuracy vs energy", accuracy_energy),
           ("energy", "Energy breakdown", energy_breakdown),
           ("entropy", "Predictive entropy, ID vs OOD", entropy_histograms),
           ("training", "Training curves", training_curves),
           ("robustness", "Robustness to dropout-module non-idealities", robustness))


FOREST_TITLE = "Paired differences vs the reference (forest plot)"
ROBUSTNESS_TITLE = next(title for kind, title, _ in FIGURES if kind == "robustness")


def _jobs() -> int:
    """Worker processes for the figures: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


_PENDING: list[Callable[[], Path | None]] = []
"""The figures of the current :class:`PlotJob`, inherited by its forked workers."""


def _ignore_sigint() -> None:
    """Workers leave Ctrl+C (SIGINT, sent to the terminal's whole process group) to the parent, which
    stops them: no traceback from every worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _draw(index: int) -> Path | None:
    return _PENDING[index]()


class PlotJob:
    """Figures being drawn: in forked worker processes when the platform can fork and more than one
    CPU is available (the figures are independent, and matplotlib draws on one core: drawing was
    about 70 % of rendering the quick store's report, docs/performance.md), else at once in this
    process. :meth:`result` waits for them and returns them in report order."""

    def __init__(self, tasks: list[tuple[str, str, str, Callable[[], Path | None]]], jobs: int) -> None:
        """``tasks``: (dataset, model, title, draw) per figure; ``draw()`` writes it and returns its
        path, or None when it has no data."""
        self._meta = [(dataset, model, title) for dataset, model, title, _ in tasks]
        self._pool = self._async = None
        self._paths: list[Path | None] | None = None
        if jobs > 1 and len(tasks) > 1 and "fork" in multiprocessing.get_all_start_methods():
            _PENDING[:] = [draw for *_, draw in tasks]
            self._pool = multiprocessing.get_context("fork").Pool(min(jobs, len(tasks)), initializer=_ignore_sigint)
            self._async = self._pool.map_async(_draw, range(len(tasks)), chunksize=1)
        else:
            self._paths = [draw() for *_, draw in tasks]

    def result(self) -> list[Plot]:
        if self._paths is None:
            assert self._pool is not None and self._async is not None
            try:
                self._paths = self._async.get()
            except BaseException:  # Ctrl+C or a figure's error: no figure is waited for
                self._pool.terminate()
                raise
            finally:
                self._pool.close()
                self._pool.join()
                _PENDING.clear()
        order = {kind: i for i, kind in enumerate(REPORT_ORDER)}  # a suite's declared figures last
        plots = [Plot(dataset, model, title, path) for (dataset, model, title), path in zip(self._meta, self._paths)
                 if path is not None]
        targets = list(dict.fromkeys((p.dataset, p.model) for p in plots))
        return sorted(plots, key=lambda p: (targets.index((p.dataset, p.model)), order.get(p.title, len(order))))


REPORT_ORDER = (*(title for _, title, _ in FIGURES), FOREST_TITLE)
"""Order of a target's figures in the report (whatever order they were drawn in)."""


def render_plots(res: Results, report_dir: Path, found: list[Comparison] | None = None,
                 jobs: int | None = None) -> list[Plot]:
    """Write every figure that has data into ``report_dir``; returns them in report order.
    ``found``: the paired comparisons of the forest plots (default :func:`reports.findings.comparisons`);
    ``jobs``: worker processes (default: the usable CPUs, at most 4; 1 draws in this process)."""
    found = comparisons(res) if found is None else found
    tasks: list[tuple[str, str, str, Callable[[], Path | None]]] = []
    for dataset, model in res.targets():
        for kind, title, draw in FIGURES:
            tasks.append((dataset, model, title,
                          functools.partial(draw, res, dataset, model, report_dir / _filename(kind, dataset, model))))
        tasks.append((dataset, model, FOREST_TITLE, functools.partial(
            forest, res, found, dataset, model, report_dir / _filename("forest", dataset, model))))
        for suite in res.suites():
            for spec in res.plot_specs(suite, dataset, model):
                path = report_dir / _filename(f"{suite}_{spec.title.lower()}", dataset, model)
                tasks.append((dataset, model, spec.title,
                              functools.partial(declared, res, suite, spec, dataset, model, path)))
    tasks.sort(key=lambda t: t[2] != ROBUSTNESS_TITLE)  # first: they take longest
    return PlotJob(tasks, _jobs() if jobs is None else jobs).result()

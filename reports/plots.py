"""PNG figures of the report (matplotlib, Agg canvas, 120 dpi), one set per (dataset, model).

* reliability diagrams, one panel per method: per-bin accuracy, the gap to the mean
  confidence, the diagonal; bins pooled over seeds (counts summed), ECE (mean over seeds) in
  the panel title;
* accuracy vs energy: measured test accuracy against the modelled energy per image (log x),
  total and dropout-module energy side by side;
* energy breakdown: stacked bars of the modelled energy components per method, plus a panel
  per aggregate component (e.g. the dropout module's write/read/reset) so small parts stay visible;
* predictive-entropy histograms, ID vs every OOD set, one panel per method (first seed);
* training curves: per-epoch training loss and accuracy, validation accuracy and NLL, one line
  per method (mean over seeds), from the training logs the accuracy cells point to.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas (no pyplot state, no
display needed); constrained layout keeps labels apart, and the pixel size is exactly
figure size × :data:`DPI`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from spindrop.report_spec import energy_parts, metric_column
from spindrop.training.curves import read_curves

from .results import Results, dataset_name
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


def reliability(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Reliability diagrams, one panel per method; None without calibration cells."""
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
        ax.bar(edges[:-1][full], (conf - acc)[full], bottom=acc[full], width=width, align="edge",
               color="C3", alpha=0.35, edgecolor="C3", hatch="//", linewidth=0.5, label="gap to confidence")
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.3", linewidth=1, label="perfect calibration")
        ax.set(xlim=(0, 1), ylim=(0, 1), xticks=TICKS, yticks=TICKS)
        ax.set_title(f"{label}\nECE {format_stat(ece[label], ece_col)} %", fontsize=10)
    seeds = max(len(s) for s in extras.values())
    fig.suptitle(f"Reliability diagrams — {dataset_name(dataset)} / {model} "
                 f"(measured; {len(count)} bins, pooled over {seeds} seed{'s' * (seeds > 1)})")
    _legend(fig, "outside lower center", ncols=3)
    return _save(fig, path)


def accuracy_energy(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Measured accuracy vs modelled energy per image (log x), one marker per method; left the
    total energy, right the dropout-module energy alone (where the methods differ most; methods
    without dropout energy cannot sit on a log axis and are left out there). None unless some
    method has both an accuracy and an energy cell."""
    acc = res.stats("accuracy", dataset, model, ["test/acc"])
    panels = []
    for metric, name, note in (("hw/energy/total_pJ", "total energy", ""),
                               ("hw/energy/dropout_pJ", "dropout-module energy", " (methods with none left out)")):
        energy = res.stats("energy", dataset, model, [metric])
        points = {label: energy[label] for label in acc
                  if acc[label].n and label in energy and energy[label].n and energy[label].mean > 0}
        if points:
            panels.append((name, note, points))
    if not panels:
        return None
    style = _style(res.labels("accuracy", dataset, model))
    fig = _figure((5.0 * len(panels) + 1.6, 4.6))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (name, note, points) in zip(axes, panels):
        unit, factor = energy_unit(max(s.mean for s in points.values()))
        for label, energy in points.items():
            colour, marker = style[label]
            ax.errorbar(energy.mean * factor, acc[label].mean * 100, yerr=(acc[label].std or 0) * 100,
                        color=colour, marker=marker, markersize=9, markeredgecolor="white", linestyle="none",
                        elinewidth=1, capsize=3, alpha=0.9, label=label)
        ax.set_xscale("log")
        values = [s.mean for s in points.values() if s.mean > 0]
        decades = math.log10(max(values) / min(values)) if values else 0.0
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades <= 2 else (1.0,)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{name} per image, T = {res.mc_samples} ({unit}, modelled)")
        ax.set_title(name + note, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("test accuracy % (measured, mean ± std over seeds)")
    _legend(fig, "outside right upper", fontsize=9)
    fig.suptitle(f"Accuracy vs energy — {dataset_name(dataset)} / {model}")
    return _save(fig, path)


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
    fig.suptitle(f"Energy breakdown — {dataset_name(dataset)} / {model} (modelled)")
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


def method_curves(res: Results, dataset: str, model: str) -> dict[str, tuple[pd.DataFrame, int]]:
    """label → (per-epoch curves averaged over seeds, number of seeds) for every method whose
    accuracy cells lead to a training log (``<out>/logs/<checkpoint key>``, the key stored by the
    accuracy suite); seeds without a log are left out."""
    curves = {}
    for label, seeds in res.extras("accuracy", dataset, model).items():
        logs = [read_curves(res.out, e["checkpoint_key"]) for _, e in seeds if "checkpoint_key" in e]
        logs = [log for log in logs if log is not None]
        if logs:
            curves[label] = (pd.concat(logs).groupby(level="epoch").mean(), len(logs))
    return curves


def training_curves(res: Results, dataset: str, model: str, path: Path) -> Path | None:
    """Per-epoch training curves (:func:`method_curves`), one panel per quantity, one line per
    method; None when no method has a training log."""
    curves = method_curves(res, dataset, model)
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
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        if i >= 2:
            ax.set_xlabel("epoch")
        ax.set_xlim(0.5, epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(True, alpha=0.3)
    _legend(fig, "outside lower center", ncols=min(len(curves), 4), fontsize=9)
    fig.suptitle(f"Training curves — {dataset_name(dataset)} / {model} (measured; mean over seeds)")
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


FIGURES = (("reliability", "Reliability diagrams", reliability),
           ("accuracy_energy", "Accuracy vs energy", accuracy_energy),
           ("energy", "Energy breakdown", energy_breakdown),
           ("entropy", "Predictive entropy, ID vs OOD", entropy_histograms),
           ("training", "Training curves", training_curves),
           ("robustness", "Robustness to dropout-module non-idealities", robustness))


def render_plots(res: Results, report_dir: Path) -> list[Plot]:
    """Write every figure that has data into ``report_dir``; returns them in report order."""
    plots = []
    for dataset, model in res.targets():
        for kind, title, draw in FIGURES:
            path = draw(res, dataset, model, report_dir / _filename(kind, dataset, model))
            if path is not None:
                plots.append(Plot(dataset, model, title, path))
    return plots

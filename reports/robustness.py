"""The robustness section of the report: metric vs device non-ideality, and the tolerated fault rate.

Reads the ``robustness`` suite's cells (:mod:`suites.robustness`): per method and sweep point the
mean over chips (``robust/<axis>/<value>/<metric>``) and the per-chip values (extras ``chips``).

*Tolerated fault rate* of a method on one axis (docs/hardware.md "Fault and variation models"):
the largest swept value v such that at every swept value u with 0 < |u| ≤ |v| the **upper end of the
95 % interval** of the accuracy loss is at most :data:`ACC_POINTS` points and that of the entropy OOD
AUROC loss at most :data:`AUROC_POINTS` points. A loss is paired per (training seed, chip): chip d's
value at the fault-free point minus its value at u (the same chip index draws the same MC masks at
every point); the interval is Student's t over those seeds × chips losses (:func:`loss_bound`; one
loss, or losses without spread, bound at their mean). 0 if the smallest swept value already breaks
the bound. For ``p_drift`` both signs must hold and |δ| is reported. "≥ v" marks a method that holds
at every swept value (the sweep ends before it breaks).
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from spindrop.stats import t_interval

from .results import Results, Stat, dataset_name

SUITE = "robustness"
ACC_POINTS = 1.0     # accuracy may drop by at most 1 point (issue 12)
AUROC_POINTS = 2.0   # OOD AUROC (entropy) by at most 2 points (issue 12)
AXES = (("sigma", "σ of Δ, I_c0"), ("stuck_drop", "stuck-at-drop"), ("stuck_keep", "stuck-at-keep"),
        ("p_drift", "p drift δ"))
PANELS = (("acc", "accuracy %"), ("ECE", "ECE %"), ("ood/entropy/AUROC", "OOD AUROC % (entropy)"),
          ("ood/mutual_info/AUROC", "OOD AUROC % (mutual information)"))
TABLE_METRICS = (("acc", "Acc"), ("ood/entropy/AUROC", "AUROC H"))


def key(axis: str, value: float, metric: str) -> str:
    """Metric key of one point (as :func:`suites.robustness.point_key` writes it)."""
    return f"robust/{axis}/{format(value, 'g')}/{metric}"


def axis_values(res: Results, dataset: str, model: str, axis: str) -> list[float]:
    """Swept values of ``axis`` (0 included), ascending, from the cells' keys."""
    prefix = f"robust/{axis}/"
    found = {float(m[len(prefix):].split("/")[0]) for m in res.metric_names(SUITE, dataset, model)
             if m.startswith(prefix)}
    return sorted(found)


def _mean(res: Results, dataset: str, model: str, metric: str) -> dict[str, float]:
    return {label: s.mean for label, s in res.stats(SUITE, dataset, model, [metric]).items()}


def losses(cells: list[tuple[int, dict]], axis: str, value: float, metric: str) -> list[float]:
    """Paired losses in points, one per (training seed, chip): 100 · (chip's fault-free value − its
    value at ``value``), from the cells' per-chip values (extras ``chips``)."""
    return [100 * (ref - hit) for _, e in cells
            for ref, hit in zip(e["chips"][key(axis, 0.0, metric)], e["chips"][key(axis, value, metric)])]


def loss_bound(values: list[float]) -> float:
    """Upper end of the 95 % Student-t interval of the mean loss; the mean itself for one loss or for
    losses without spread (no interval exists)."""
    if len(values) < 2 or not np.ptp(values) > 0:
        return float(np.mean(values))
    return t_interval(values)[3]


def tolerated(res: Results, dataset: str, model: str, axis: str) -> dict[str, tuple[float, bool]]:
    """label → (tolerated value, holds at every swept value) on ``axis`` (module docstring)."""
    values = axis_values(res, dataset, model, axis)
    magnitudes = sorted({abs(v) for v in values if v != 0})
    extras = res.extras(SUITE, dataset, model)
    out = {}
    for label in measured_labels(res, dataset, model):
        best, holds = 0.0, True
        for mag in magnitudes:
            ok = True
            for v in (v for v in values if abs(v) == mag):
                ok &= (loss_bound(losses(extras[label], axis, v, "acc")) <= ACC_POINTS
                       and loss_bound(losses(extras[label], axis, v, "ood/entropy/AUROC")) <= AUROC_POINTS)
            if not ok:
                holds = False
                break
            best = mag
        out[label] = (best, holds)
    return out


def measured_labels(res: Results, dataset: str, model: str) -> list[str]:
    """Row labels with at least one ok robustness cell on (dataset, model), in report order (a method
    whose cells all failed has no row: it is listed under the report's failed cells)."""
    return list(res.extras(SUITE, dataset, model))


def _fmt_rate(value: float, holds: bool) -> str:
    text = f"{100 * value:g} %"
    return f"≥ {text}" if holds and value > 0 else text


def _percent(stat: Stat) -> str:
    """``mean [low, high]`` in % (the 95 % interval of :meth:`Results.stats`: t over training seeds,
    or the one seed's bootstrap over images); '—' when nothing was measured."""
    if stat.n == 0 or math.isnan(stat.mean):
        return "—"
    text = f"{100 * stat.mean:.1f}"
    if stat.low is not None and stat.high is not None:
        text += f" [{100 * stat.low:.1f}, {100 * stat.high:.1f}]"
    return text


def robustness_lines(res: Results) -> list[str]:
    """The Markdown section (empty without robustness cells)."""
    targets = [t for t in res.targets() if has_robustness(res, *t)]
    if not targets:
        return []
    intro = ("Networks trained with ideal masks, evaluated with MC masks drawn by the MTJ device model of the "
             "run's preset with one non-ideality at a time (docs/hardware.md \"Fault and variation models\"); "
             "mean over seeded chips per point, with its 95 % interval (t over training seeds; with one seed, "
             "bootstrap over the images); bands in the plots: min–max over chips. **Tolerated fault rate**: "
             "the largest swept rate at which, at that and every smaller swept rate, the upper end of the 95 % "
             f"interval of the accuracy loss is at most {ACC_POINTS:g} point and that of the entropy OOD AUROC loss "
             f"at most {AUROC_POINTS:g} points (losses paired per training seed and chip against the fault-free "
             "point, Student's t over seeds × chips; one loss: its value). ≥: holds at every swept rate; p drift: "
             "|δ|, both signs must hold. The rate itself is a swept setting, not an estimate; the interval is "
             "in the rule.")
    lines = ["## Robustness to dropout-module non-idealities (measured)", "", intro, ""]
    for dataset, model in targets:
        extras = [e for seeds in res.extras(SUITE, dataset, model).values() for _, e in seeds]
        ood_set = ", ".join(dict.fromkeys(e["ood_set"] for e in extras))
        heading = (f"### {dataset_name(dataset)} / {model} (OOD set: {ood_set}; "
                   f"{max(e['draws'] for e in extras)} chips per point)")
        lines += [heading, "",
                  "| Method | " + " | ".join(label for _, label in AXES) + " |",
                  "|:---|" + "---:|" * len(AXES)]
        rates = {axis: tolerated(res, dataset, model, axis) for axis, _ in AXES}
        for label in measured_labels(res, dataset, model):
            lines.append(f"| {label} | " + " | ".join(_fmt_rate(*rates[axis][label]) for axis, _ in AXES) + " |")
        lines.append("")
        for axis, title in AXES:
            values = axis_values(res, dataset, model, axis)
            head = " | ".join(f"{format(v, 'g')}" for v in values)
            lines += [f"**{title}: accuracy % / entropy OOD AUROC % (measured)**", "",
                      f"| Method | {head} |", "|:---|" + "---:|" * len(values)]
            cells = {v: [res.stats(SUITE, dataset, model, [key(axis, v, m)]) for m, _ in TABLE_METRICS]
                     for v in values}
            for label in measured_labels(res, dataset, model):
                row = [" / ".join(_percent(s[label]) for s in cells[v]) for v in values]
                lines.append(f"| {label} | " + " | ".join(row) + " |")
            lines.append("")
    return lines


def has_robustness(res: Results, dataset: str, model: str) -> bool:
    return bool(res.extras(SUITE, dataset, model))


def figure_size() -> tuple[float, float]:
    """Inches of the robustness figure: one panel per (metric, axis), a legend row below."""
    return 3.2 * len(AXES), 2.6 * len(PANELS) + 0.6


def draw_robustness(fig: Figure, res: Results, dataset: str, model: str,
                    style: dict[str, tuple[str, str]]) -> None:
    """Metric vs non-ideality on ``fig``: rows = metrics (one shared y range each), columns = axes,
    one line per method (mean over chips and seeds, colour and marker from ``style``) with a min–max
    band over the chips."""
    extras = res.extras(SUITE, dataset, model)
    labels = measured_labels(res, dataset, model)
    # one y range per row (metric): the non-idealities' effects on a metric compare across the row
    axes = fig.subplots(len(PANELS), len(AXES), sharex="col", sharey="row", squeeze=False)
    for col, (axis, title) in enumerate(AXES):
        values = axis_values(res, dataset, model, axis)
        for row, (metric, ylabel) in enumerate(PANELS):
            ax = axes[row][col]
            for label in labels:
                means = [_mean(res, dataset, model, key(axis, v, metric)).get(label, math.nan) for v in values]
                if all(math.isnan(m) for m in means):
                    continue  # not applicable (the mutual information of a deterministic network)
                chips = [[c for _, e in extras.get(label, []) for c in e["chips"].get(key(axis, v, metric), [])
                          if c is not None] for v in values]
                colour, marker = style[label]
                ax.plot(values, 100 * np.asarray(means), color=colour, marker=marker, markersize=4, label=label)
                if all(chips):
                    ax.fill_between(values, [100 * min(c) for c in chips], [100 * max(c) for c in chips],
                                    color=colour, alpha=0.15, linewidth=0)
            ax.grid(True, alpha=0.3)
            if col == 0:
                ax.set_ylabel(ylabel)
            if row == len(PANELS) - 1:
                ax.set_xlabel(title)
    fig.suptitle(f"Robustness to dropout-module non-idealities — {dataset_name(dataset)} / {model} "
                 "(measured; band: min–max over chips)")

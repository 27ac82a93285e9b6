"""Quality against energy: per (dataset, model), the measured quality of every configuration
(method × T) against its modelled energy per image, the Pareto set marked, and the cheapest
configuration within δ of the best (docs/design.md "Quality against energy").

What is compared, and where the energy is, comes from the declaring suite's cells
(:class:`spindrop.tradeoff.TradeOff` in their extras: the T sweep's), so this module names no
suite. A quality is the mean over seeds with its 95 % interval (:meth:`Results.stats`); the energy
is the cost model's (exact, no interval). The Pareto set and the "cheapest within δ" choice are
made on the means (:mod:`spindrop.tradeoff`) and are labelled so: they are descriptive, not a test.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from spindrop.report_spec import ReportColumn
from spindrop.tradeoff import Quality, TradeOff, cheapest_within, pareto_front

from .results import Results, Stat, dataset_name
from .tables import energy_unit, format_stat, render_column

log = logging.getLogger("spindrop.report")
DPI = 120
FRONT_MARK = "◆"


@dataclass(frozen=True)
class Config:
    """One configuration: the method's row label, its T values (several when they give the same
    energy and quality: a method that does not sample runs one pass whatever T is), its modelled
    energy per image (pJ) and its measured quality over seeds."""

    label: str
    Ts: tuple[int, ...]
    energy_pj: float
    quality: Stat

    @property
    def name(self) -> str:
        return f"{self.label}, T={','.join(map(str, self.Ts))}"


def declarations(res: Results, dataset: str, model: str) -> list[tuple[str, TradeOff]]:
    """(suite, trade-off) of every suite whose cells on (dataset, model) declare one."""
    found = []
    for suite in res.suites():
        extras = [e for per_label in res.extras(suite, dataset, model).values() for _, e in per_label]
        decl = next((e["tradeoff"] for e in extras if "tradeoff" in e), None)
        try:
            found += [(suite, TradeOff.from_json(decl))] if decl is not None else []
        except (KeyError, TypeError, ValueError):  # a declaration this code cannot read: no section
            log.warning("%s cells on %s/%s declare a trade-off this report cannot read; left out",
                        suite, dataset, model)
    return found


def configurations(res: Results, suite: str, decl: TradeOff, quality: Quality, dataset: str,
                   model: str) -> list[Config]:
    """Every (method, T) with a measured quality and a modelled energy, by increasing energy; a
    method's T values with the same energy and quality are one configuration."""
    found: dict[tuple[str, float, float], tuple[float, Stat, list[int]]] = {}
    for T in decl.points:
        q = res.stats(suite, dataset, model, tuple(m.format(T=T) for m in quality.metrics))
        e = res.stats(decl.energy_suite, dataset, model, (decl.energy.format(T=T),)) \
            if decl.energy_suite in res.suites() else {}
        for label, stat in q.items():
            if stat.n and label in e and e[label].n and math.isfinite(e[label].mean):
                # equal to 6 significant digits: the same configuration (a network that does not sample
                # gives T identical passes, whose float32 mean differs from one pass in the last bits)
                key = (label, _rounded(e[label].mean), _rounded(stat.mean))
                found.setdefault(key, (e[label].mean, stat, []))[2].append(T)
    configs = [Config(label, tuple(Ts), energy, stat) for (label, _, _), (energy, stat, Ts) in found.items()]
    return sorted(configs, key=lambda c: (c.energy_pj, c.label, c.Ts))


def _rounded(value: float) -> float:
    """``value`` to 6 significant digits."""
    return float(f"{value:.6g}")


def _front(configs: list[Config], quality: Quality) -> list[bool]:
    return pareto_front([c.energy_pj for c in configs], [c.quality.mean for c in configs], quality.better)


def _column(quality: Quality) -> ReportColumn:
    return ReportColumn(quality.label, quality.metrics, quality.better, quality.format)


def _delta_text(quality: Quality, delta: float) -> str:
    return f"{delta * 100:g} points" if quality.format == "percent" else f"{delta:g}"


def tradeoff_lines(res: Results, report_dir: Path) -> list[str]:
    """The report's section: per (dataset, model) and declared quality, the configurations table
    with the Pareto set marked, the "cheapest within δ" table and the plot."""
    lines: list[str] = []
    for dataset, model in res.targets():
        for suite, decl in declarations(res, dataset, model):
            per_quality = [(q, configurations(res, suite, decl, q, dataset, model)) for q in decl.qualities]
            per_quality = [(q, c) for q, c in per_quality if c]
            if not per_quality:
                continue
            lines += [f"### {dataset_name(dataset)} / {model}", ""]
            plot = plot_tradeoff(per_quality, report_dir / _filename(dataset, model), dataset, model)
            lines += [f"![Quality against energy — {dataset_name(dataset)} / {model}]({plot.name})", ""]
            for quality, configs in per_quality:
                lines += _quality_tables(quality, configs)
    if not lines:
        return []
    head = ["## Quality against energy (measured quality, modelled energy)", "",
            f"Every configuration (method × T) by increasing modelled energy per image; {FRONT_MARK}: on the "
            "Pareto set of the means (no configuration is at most as costly and at least as good, one of them "
            "strictly). The Pareto set and the cheapest configuration within δ of the best are read off the "
            "means; they are descriptive, not a significance test (each quality's 95 % interval is beside it).",
            ""]
    return [*head, *lines]


def _quality_tables(quality: Quality, configs: list[Config]) -> list[str]:
    column = render_column(_column(quality))
    unit, factor = energy_unit(max(c.energy_pj for c in configs))
    front = _front(configs, quality)
    lines = [f"**{quality.label}**", "", f"| Configuration | {quality.label} | Energy {unit} | Pareto |",
             "|---|---|---|---|"]
    lines += [f"| {c.name} | {format_stat(c.quality, column)} | {c.energy_pj * factor:.2f} | "
              f"{FRONT_MARK if on else ''} |" for c, on in zip(configs, front)]
    energies, means = [c.energy_pj for c in configs], [c.quality.mean for c in configs]
    best = configs[cheapest_within(energies, means, quality.better, 0.0)]
    best_text = f"{best.name}, {format_stat(best.quality, column)}, {best.energy_pj * factor:.2f} {unit}"
    lines += ["", f"Cheapest configuration within δ of the best mean {quality.label} (best: {best_text}):", "",
              f"| δ | Configuration | {quality.label} | Energy {unit} | Energy / best's |", "|---|---|---|---|---|"]
    for delta in quality.deltas:
        c = configs[cheapest_within(energies, means, quality.better, delta)]
        lines.append(f"| {_delta_text(quality, delta)} | {c.name} | {format_stat(c.quality, column)} | "
                     f"{c.energy_pj * factor:.2f} | {c.energy_pj / best.energy_pj:.3f} |")
    return [*lines, ""]


def _filename(dataset: str, model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"tradeoff_{dataset}_{model}") + ".png"


def plot_tradeoff(per_quality: list[tuple[Quality, list[Config]]], path: Path, dataset: str, model: str) -> Path:
    """One panel per quality: each method's configurations (T labelled) against the modelled energy
    (log x), vertical bars the quality's 95 % interval, the Pareto set of the means as a step line."""
    fig = Figure(figsize=(4.2 * len(per_quality), 3.6), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    labels = list(dict.fromkeys(c.label for _, configs in per_quality for c in configs))
    for ax, (quality, configs) in zip(fig.subplots(1, len(per_quality), squeeze=False).flat, per_quality):
        scale = 100.0 if quality.format == "percent" else 1.0
        unit, factor = energy_unit(max(c.energy_pj for c in configs))
        for i, label in enumerate(labels):
            mine = sorted((c for c in configs if c.label == label), key=lambda c: c.Ts)
            if not mine:
                continue
            x = [c.energy_pj * factor for c in mine]
            y = [c.quality.mean * scale for c in mine]
            err = [[(c.quality.mean - c.quality.low) * scale if c.quality.low is not None else 0.0 for c in mine],
                   [(c.quality.high - c.quality.mean) * scale if c.quality.high is not None else 0.0 for c in mine]]
            ax.errorbar(x, y, yerr=err, color=f"C{i % 10}", marker="o", ms=4, capsize=2, lw=1, label=label)
            for c, xi, yi in zip(mine, x, y):
                ax.annotate("T=" + ",".join(map(str, c.Ts)), (xi, yi), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
        front = [c for c, on in zip(configs, _front(configs, quality)) if on]
        ax.step([c.energy_pj * factor for c in front], [c.quality.mean * scale for c in front], where="post",
                color="black", lw=0.8, ls="--", label="Pareto set (means)")
        ax.set_xscale("log")
        for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
            axis(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.tick_params(axis="x", which="both", labelsize=7)
        ax.set_xlabel(f"modelled energy per image ({unit})")
        ax.set_title(quality.label, fontsize=8)
        ax.set_ylabel("higher is better" if quality.better == "higher" else "lower is better", fontsize=8)
    handles = {lab: h for ax in fig.axes for h, lab in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=min(4, len(handles)),
               frameon=False, fontsize=7)
    fig.suptitle(f"Quality against energy — {dataset_name(dataset)} / {model}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path

"""The report's device-model section: the drop probability the modules realise (modelled).

For every registered preset, at the run's p, and for the σ values the robustness sweep used
(on the run's preset without its non-idealities): the mean and the 5 % / 95 % quantiles of the
modules' realised p_i, their histogram, and the probability that one module is out of order
(p_i outside [p/2, 2p], stuck modules included) — for Scale-Dropout's single shared unit, the
probability that a chip fails (:mod:`hardware.realised`). Nothing here is measured.
"""
from __future__ import annotations

from dataclasses import replace

from hardware import get_preset, list_presets
from hardware.device import MTJConfig
from hardware.realised import BAND, HIST_BINS, realised_p, unit_failure

from .results import Results

ROBUSTNESS = "robustness"
BARS = " ▁▂▃▄▅▆▇█"


def spark(shares: tuple[float, ...]) -> str:
    """A histogram as one character per bin, height ∝ share (the largest bin full)."""
    top = max(shares) or 1.0
    return "".join(BARS[round(s / top * (len(BARS) - 1))] for s in shares)


def swept_sigmas(res: Results) -> list[float]:
    """The σ values (> 0) of the run's robustness cells, ascending."""
    found = {float(v) for cells in (res.extras(ROBUSTNESS, *t) for t in res.targets())
             for seeds in cells.values() for _, e in seeds
             for v in e.get("axes", {}).get("sigma", {}).get("values", [])}
    return sorted(v for v in found if v > 0)


def _row(label: str, cfg: MTJConfig, p: float) -> str:
    r = realised_p(cfg, p)
    return (f"| {label} | {r.mean:.3f} | {r.q05:.3f} | {r.q95:.3f} | `{spark(r.shares)}` | "
            f"{100 * unit_failure(cfg, p):.3g} % |")


def realised_p_lines(res: Results) -> list[str]:
    """The Markdown section."""
    p = float(res.run.get("p", 0.2))
    run_preset = str(res.run.get("hardware_preset", ""))
    base = get_preset(run_preset) if run_preset in list_presets() else get_preset("nvsim_sttram")
    lines = ["## Device model: the drop probability the modules realise (modelled)", "",
             f"At this run's p = {p:g}: the realised p_i of 100,000 modules drawn from each preset's device "
             "(docs/hardware.md §7), their mean and 5 % / 95 % quantiles, a histogram over "
             f"{HIST_BINS} equal bins of [0, 1] (one character per bin, height ∝ share of modules), and the "
             f"probability that one module is out of order (p_i outside [p/{BAND:g}, {BAND:g}·p], stuck modules "
             "included: analytic, `hardware.realised.unit_failure`) — for Scale-Dropout, whose whole chip has one "
             "module, the probability that a chip fails. All **modelled**.", "",
             "| device | mean p_i | 5 % | 95 % | histogram 0 … 1 | P(one module out of order) |",
             "|:---|---:|---:|---:|:---|---:|"]
    lines += [_row(f"preset `{name}`", get_preset(name).mtj, p) for name in list_presets()]
    ideal = replace(base.mtj, sigma_delta=0.0, sigma_ic0=0.0, stuck_at_drop_rate=0.0, stuck_at_keep_rate=0.0,
                    p_drift=0.0)
    lines += [_row(f"`{base.name}`, σ of Δ and I_c0 = {100 * s:g} % (robustness sweep)",
                   replace(ideal, sigma_delta=s, sigma_ic0=s), p) for s in swept_sigmas(res)]
    return [*lines, ""]

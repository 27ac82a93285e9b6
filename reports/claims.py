"""The paper's claims beside this suite's numbers: SpinDrop vs MC-SpatialDropout (all modelled).

Ahmed et al. ("Spatial-SpinDrop", arXiv 2306.10185) claim 9× fewer dropout modules per layer
(a 3×3 conv: k²·C_in word-line modules for SpinDrop, C_in channel modules for Spatial) and
94.11× less energy than SpinDrop. This module reads the stored hardware cells of both methods
(the ``modules`` suite's per-layer extras and the ``energy`` suite's metrics, with the same
method parameters) and forms the same ratios; nothing is recomputed.

The abstract does not say which quantity its 94.11× is. :func:`candidate_lines` therefore adds a
table of every candidate quantity on the reference models (width 1, computed from the cost
model, independent of the store) and names the one nearest to 94.11×, with its assumptions.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from hardware.compare import (
    ENERGY_QUANTITIES,
    LABEL,
    PAPER_ENERGY_RATIO,
    PAPER_MODULE_RATIO,
    Candidate,
    Ratio,
    claim_candidates,
    nearest,
)
from hardware.presets import DEFAULT
from spindrop import build_model
from spindrop.geometry import traced_once

from .results import Results
from .tables import energy_unit

__all__ = ["PAPER_ENERGY_RATIO", "PAPER_MODULE_RATIO", "Claims", "LayerRatio", "Ratio", "candidate_lines",
           "paper_claims", "reference_candidates"]

SPINDROP, SPATIAL = "spindrop", "spatial"


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


@dataclass(frozen=True)
class LayerRatio:
    """Dropout modules of one binary-input conv layer under both methods."""

    layer: str
    kernel: tuple[int, int]
    spindrop: int
    spatial: int

    @property
    def ratio(self) -> float:
        return _ratio(self.spindrop, self.spatial)

    @property
    def formula(self) -> str:
        kh, kw = self.kernel
        return f"k²·C_in / C_in = {kh}·{kw} = {kh * kw}"


@dataclass(frozen=True)
class Claims:
    """The modelled ratios of one (dataset, model, method parameters)."""

    dataset: str
    model: str
    params: str
    mc_samples: int
    layers: tuple[LayerRatio, ...]
    ratios: tuple[Ratio, ...]
    label: str = LABEL


def paper_claims(res: Results) -> list[Claims]:
    """One :class:`Claims` per (dataset, model, parameters) with ok ``modules`` cells of both
    ``spindrop`` and ``spatial``; energy ratios where both have ok ``energy`` cells too."""
    found = []
    for dataset, model in res.targets():
        extras = res.extras("modules", dataset, model)
        for (method, params), sd_label in sorted(res.method_labels.items()):
            if method != SPINDROP:
                continue
            for sp_params, sp_label in _spatial_partners(res, params):
                if sp_label in extras and sd_label in extras:
                    found.append(_claims(res, dataset, model, sp_params, sd_label, sp_label, extras))
    return found


def _params(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if item)


def _spatial_partners(res: Results, sd_params: str) -> list[tuple[str, str]]:
    """(params text, label) of the ``spatial`` runs whose parameters agree with SpinDrop's on every
    parameter SpinDrop has (Spatial may have more, e.g. ``fc_grouping``)."""
    want = _params(sd_params).items()
    return sorted((p, label) for (m, p), label in res.method_labels.items()
                  if m == SPATIAL and want <= _params(p).items())


def _claims(res: Results, dataset: str, model: str, params: str, sd_label: str, sp_label: str,
            extras: dict) -> Claims:
    """The ratios of one SpinDrop run and one Spatial run (``params``: Spatial's) on (dataset, model)."""
    layers = _layer_ratios(extras[sd_label][0][1]["layers"], extras[sp_label][0][1]["layers"])
    ratios = [_network_ratio(res, "modules", dataset, model, sd_label, sp_label, "hw/modules",
                             "network dropout modules", "modules",
                             "Σ_l modules_l(SpinDrop) / Σ_l modules_l(Spatial)", PAPER_MODULE_RATIO,
                             "per 3×3 conv layer")]
    energy = res.extras("energy", dataset, model)
    if sd_label in energy and sp_label in energy:
        ratios += [
            _network_ratio(res, "energy", dataset, model, sd_label, sp_label, "hw/energy/dropout_pJ",
                           "dropout-module energy per image", "pJ",
                           "E_dropout = draws · (E_write + E_read + E_reset); "
                           "E_dropout(SpinDrop) / E_dropout(Spatial)", PAPER_ENERGY_RATIO),
            _network_ratio(res, "energy", dataset, model, sd_label, sp_label, "hw/energy/total_pJ",
                           "total energy per image", "pJ",
                           "E_total = E_crossbar + E_sense_amp + E_dropout; "
                           "E_total(SpinDrop) / E_total(Spatial)", PAPER_ENERGY_RATIO)]
    return Claims(dataset, model, params, res.mc_samples, layers, tuple(ratios))


def _layer_ratios(spindrop: list[dict], spatial: list[dict]) -> tuple[LayerRatio, ...]:
    """Binary-input conv layers (matched by name) where both methods place modules."""
    other = {layer["name"]: layer for layer in spatial}
    ratios = []
    for layer in spindrop:
        match = other.get(layer["name"])
        if (match is not None and layer["kind"] == "conv" and layer["binary_input"]
                and layer["modules"] > 0 and match["modules"] > 0):
            ratios.append(LayerRatio(layer["name"], tuple(layer["kernel"]), layer["modules"], match["modules"]))
    return tuple(ratios)


def _network_ratio(res: Results, suite: str, dataset: str, model: str, sd_label: str, sp_label: str,
                   metric: str, name: str, unit: str, formula: str, paper: float, paper_scope: str = "") -> Ratio:
    stats = res.stats(suite, dataset, model, [metric])
    return Ratio(name, stats[sd_label].mean, stats[sp_label].mean, formula, paper, unit=unit,
                 paper_scope=paper_scope)


# ------------------------------------------------------------------ which quantity is 94.11×?
# The models the candidates are computed on: the reference models of docs/hardware.md, width 1.
REFERENCE_MODELS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("vgg_small", (3, 32, 32)), ("resnet18", (3, 32, 32)), ("lenet5", (1, 28, 28)))
CANDIDATE_T, CANDIDATE_P = 20, 0.2  # T and p of the candidates (the paper profile's T, the default p)


@functools.lru_cache(maxsize=1)
def reference_candidates() -> tuple[Candidate, ...]:
    """:func:`hardware.compare.claim_candidates` of every reference model (width 1, T = 20,
    p = 0.2, default preset); modelled, computed once per process. Each model's layer shapes are
    traced once (:func:`spindrop.geometry.traced_once`) instead of at every candidate, 20 forward
    passes of full-size networks (docs/performance.md)."""
    found: list[Candidate] = []
    with traced_once():
        for name, shape in REFERENCE_MODELS:
            found += claim_candidates(build_model(name, shape, 10, 1.0), shape, T=CANDIDATE_T, preset=DEFAULT,
                                      model_name=name, p=CANDIDATE_P)
    return tuple(found)


def _amount(value: float, unit: str) -> str:
    if unit != "J":
        return f"{value:,.0f}"
    scale, factor = energy_unit(value * 1e12)
    return f"{value * 1e12 * factor:,.4g} {scale}"


def _network_module_line(cands: tuple[Candidate, ...]) -> str:
    parts = []
    for name, _ in REFERENCE_MODELS:
        rows = [c for c in cands if c.model == name and c.quantity == "network dropout modules"]
        parts.append(f"{name} " + ", ".join(f"{c.spindrop:,.0f} / {c.spatial:,.0f} = {c.value:.2f}× ({c.reading})"
                                            for c in rows))
    return ("**Network module ratio** = Σ_l m_l(SpinDrop) / Σ_l m_l(Spatial), with m_l = k²·C_in vs C_in on a "
            "conv layer, C·H·W vs C (channel reading) or C·H·W (element reading) on the flatten→FC layer, "
            "in vs in on any other FC layer: " + "; ".join(parts) + ".")


def candidate_lines() -> list[str]:
    """Markdown: every candidate quantity on the reference models and the one nearest 94.11×."""
    cands = reference_candidates()
    best = nearest(cands)
    totals = [c.value for c in cands if c.quantity == ENERGY_QUANTITIES[1]]
    shapes = ", ".join(f"{n} {s[0]}×{s[1]}×{s[2]}" for n, s in REFERENCE_MODELS)
    lines = [f"### Which quantity is the paper's {PAPER_ENERGY_RATIO:g}×? Candidates on the reference models "
             f"({LABEL})", "",
             "The paper's exact quantity is **not known**: the abstract gives 94.11× less energy, not which "
             "network, feature sizes, FC reading or energy terms. Every candidate below is computed by this "
             f"suite's cost model — all **{LABEL}** — SpinDrop / MC-SpatialDropout at width 1 ({shapes}), "
             f"T = {CANDIDATE_T}, p = {CANDIDATE_P}, preset `{DEFAULT.name}`. *FC reading* is Spatial's "
             "`fc_grouping` on the flatten→FC layer (`both`: a conv layer, read alike under both). "
             "*ln-distance* = |ln(ratio / 94.11)|.", "",
             _network_module_line(cands), "",
             "| model | quantity | FC reading | SpinDrop | Spatial | ratio (modelled) | ln-distance | formula |",
             "|:---|:---|:---|---:|---:|---:|---:|:---|"]
    for c in cands:
        lines.append(f"| {c.model} | {c.quantity} | {c.reading} | {_amount(c.spindrop, c.unit)} | "
                     f"{_amount(c.spatial, c.unit)} | {c.value:,.4g}× | {c.distance():.2f} | {c.formula} |")
    lines += ["",
              f"**Nearest to {PAPER_ENERGY_RATIO:g}× among the energy ratios** ({LABEL}): {best.quantity} of "
              f"{best.model}, {best.reading} reading: {best.value:.4g}× ({best.formula}). The assumptions that "
              "bring a candidate there: energy = the dropout modules' own energy only (one write + read + reset "
              "event per random draw, so the ratio equals the draw ratio Σ k²·C_in·H_out·W_out / Σ m_l(Spatial) "
              "at equal p); with the crossbar reads and sense amplifiers included every total-energy ratio is "
              f"{min(totals):.3g}–{max(totals):.3g}×, because every pass reads every weight at every window for "
              f"both methods. The nearest candidate is {best.value / PAPER_ENERGY_RATIO:.2f}× the claim "
              f"(ln-distance {best.distance():.2f}): it shows which assumptions give the claim's order of "
              "magnitude; it is not a reproduction of the paper's number.", ""]
    return lines

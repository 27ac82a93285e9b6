"""SpinDrop vs MC-SpatialDropout, modelled, beside the paper's claims.

MC-SpatialDropout (Ahmed et al., "Spatial-SpinDrop", arXiv 2306.10185, IEEE TNANO 2024) claims
9× fewer dropout modules per layer and 94.11× less energy than SpinDrop. This module prices both
methods on one model with the common cost model (:func:`hardware.cost`) and returns the
per-layer and network ratios with the formulas that produced them. Every number here is
*modelled*; the paper's numbers are quoted, not reproduced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from torch import nn

from spindrop import get_method

from .cost import CostReport, cost
from .presets import DEFAULT, HardwarePreset

PAPER_MODULE_RATIO = 9.0    # per layer, 3×3 conv: arXiv 2306.10185, abstract ("reduced by a factor of 9×")
PAPER_ENERGY_RATIO = 94.11  # arXiv 2306.10185, abstract ("energy consumption by a factor of 94.11×")
LABEL = "modelled"


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


@dataclass(frozen=True)
class Ratio:
    """spindrop / spatial for one quantity, with its formula and the paper's number if any.

    unit: of ``spindrop``/``spatial`` ("" for counts); paper_scope: what the paper's number
    refers to when it is not the same quantity (e.g. "per 3×3 conv layer").
    """

    name: str
    spindrop: float
    spatial: float
    formula: str
    paper: float | None = None
    label: str = LABEL
    unit: str = ""
    paper_scope: str = ""

    @property
    def value(self) -> float:
        return _div(self.spindrop, self.spatial)

    def __str__(self) -> str:
        paper = f"; paper: {self.paper:g}×" if self.paper is not None else ""
        return f"{self.name}: {self.value:.2f}× ({self.label}: {self.formula}){paper}"


@dataclass(frozen=True)
class LayerRatio:
    """Dropout modules of one binary-input layer under both methods."""

    layer: str
    kind: str
    kernel: tuple[int, int]
    in_channels: int
    spindrop_modules: int
    spatial_modules: int
    formula: str
    label: str = LABEL

    @property
    def ratio(self) -> float:
        return _div(self.spindrop_modules, self.spatial_modules)


@dataclass(frozen=True)
class SpinDropSpatialComparison:
    """Modelled SpinDrop / MC-SpatialDropout ratios for one model."""

    model: str
    input_shape: tuple[int, ...]
    T: int
    preset: str
    params: dict
    layers: tuple[LayerRatio, ...]
    module_ratio: Ratio
    draw_ratio: Ratio
    dropout_energy_ratio: Ratio
    total_energy_ratio: Ratio
    spindrop: CostReport
    spatial: CostReport

    def ratios(self) -> list[Ratio]:
        return [self.module_ratio, self.draw_ratio, self.dropout_energy_ratio, self.total_energy_ratio]

    def to_frame(self) -> pd.DataFrame:
        """Network ratios: one row per quantity (spindrop, spatial, ratio, formula, paper, label)."""
        return pd.DataFrame([{"quantity": r.name, "spindrop": r.spindrop, "spatial": r.spatial,
                              "ratio": r.value, "formula": r.formula, "paper": r.paper, "label": r.label}
                             for r in self.ratios()])

    def layers_frame(self) -> pd.DataFrame:
        """Per-layer module ratios."""
        return pd.DataFrame([{"layer": lr.layer, "kind": lr.kind, "spindrop_modules": lr.spindrop_modules,
                              "spatial_modules": lr.spatial_modules, "ratio": lr.ratio,
                              "formula": lr.formula, "label": lr.label} for lr in self.layers])

    def lines(self) -> list[str]:
        head = (f"SpinDrop vs MC-SpatialDropout on {self.model} {self.input_shape}, T={self.T}, "
                f"preset {self.preset}, {self.params} — all numbers {LABEL}")
        per_layer = [f"  {lr.layer} ({lr.kind}): {lr.ratio:.2f}× ({lr.formula})" for lr in self.layers]
        return [head, "per-layer module ratio:", *per_layer, *(str(r) for r in self.ratios())]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def compare_spindrop_spatial(model: nn.Module, input_shape: tuple[int, ...], T: int = 20,
                             preset: HardwarePreset | str = DEFAULT, model_name: str | None = None,
                             **params: object) -> SpinDropSpatialComparison:
    """Price ``spindrop`` and ``spatial`` (same ``params``, e.g. ``p=0.2``) on ``model`` and compare."""
    sd_method, sp_method = get_method("spindrop", **params), get_method("spatial", **params)
    sd = cost(model, sd_method, input_shape, T, preset, model_name=model_name)
    sp = cost(model, sp_method, input_shape, T, preset, model_name=model_name)
    geoms = {g.name: g for g, _ in sd_method.hardware_plan(model, tuple(input_shape)).layers}

    layers = []
    for a, b in zip(sd.layers, sp.layers):
        if a.modules == 0 and b.modules == 0:
            continue
        g = geoms[a.name]
        k = g.kernel
        if g.kind == "conv":
            formula = f"k²·C_in / C_in = {k[0]}·{k[1]}·{g.in_channels} / {g.in_channels} = {k[0] * k[1]}"
        else:
            formula = f"in / in = {g.in_channels} / {g.in_channels} = 1"
        layers.append(LayerRatio(a.name, g.kind, k, g.in_channels, a.modules, b.modules, formula))

    modules = Ratio("network dropout modules", sd.modules, sp.modules,
                    f"Σ_l rows_l / Σ_l C_in,l = {sd.modules} / {sp.modules} "
                    "(conv: k²·C_in vs C_in; FC: in vs in)")
    draws = Ratio("random draws per inference", sd.draws, sp.draws,
                  f"T·Σ_l k²·C_in·H_out·W_out / T·Σ_l C_in (FC: in / in) = {sd.draws} / {sp.draws}")
    dropout_energy = Ratio("dropout-module energy", sd.energy.dropout, sp.energy.dropout,
                           "draws · (E_write + E_read + E_reset), same p and module ⇒ = draw ratio: "
                           f"{sd.energy.dropout:.4g} J / {sp.energy.dropout:.4g} J",
                           paper=PAPER_ENERGY_RATIO)
    total_energy = Ratio("total energy (crossbar reads + sense amps + dropout)", sd.energy.total,
                         sp.energy.total,
                         f"{sd.energy.total:.4g} J / {sp.energy.total:.4g} J (crossbar and sense-amp "
                         "terms are equal for both methods)", paper=PAPER_ENERGY_RATIO)
    return SpinDropSpatialComparison(
        model=sd.model, input_shape=tuple(input_shape), T=T, preset=sd.preset,
        params=sd_method.params(), layers=tuple(layers), module_ratio=modules, draw_ratio=draws,
        dropout_energy_ratio=dropout_energy, total_energy_ratio=total_energy, spindrop=sd, spatial=sp,
    )

"""SpinDrop vs MC-SpatialDropout, modelled, beside the paper's claims.

MC-SpatialDropout (Ahmed et al., "Spatial-SpinDrop", arXiv 2306.10185, IEEE TNANO 2024) states in its
abstract (:data:`PAPER_CLAIM`) that "the number of dropout modules per network layer is reduced by a
factor of 9× and energy consumption by a factor of 94.11×"; it names no baseline for either factor
(the abstract compares with "existing implementations" and "related works"). This module prices
``spindrop`` and ``spatial`` on one model with the common cost model (:func:`hardware.cost_report`)
and returns the per-layer and network ratios with the formulas that produced them: SpinDrop is one
plausible baseline, not the paper's stated one. Every number here is *modelled*; the paper's numbers
are quoted, not reproduced.

Which quantity the 94.11× is, is not known (the full text is not at hand). :func:`claim_candidates`
lists every candidate quantity of one model under both readings of Spatial on FC layers
(``fc_grouping``), at the p, T and preset it is given; no candidate is picked as "the" one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from spindrop import get_method
from spindrop.geometry import LayerGeometry
from spindrop.methods.spatial import FC_GROUPINGS

from .cost import CostReport, cost_report
from .presets import DEFAULT, HardwarePreset

if TYPE_CHECKING:
    import pandas as pd

PAPER_MODULE_RATIO = 9.0    # per network layer: arXiv 2306.10185, abstract ("reduced by a factor of 9×")
PAPER_ENERGY_RATIO = 94.11  # arXiv 2306.10185, abstract ("energy consumption by a factor of 94.11×")
PAPER_CLAIM = ("the number of dropout modules per network layer is reduced by a factor of 9× and energy "
               "consumption by a factor of 94.11×")
"""The abstract's wording of both claims (arXiv 2306.10185); it names no baseline and no kernel size."""
LABEL = "modelled"


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


@dataclass(frozen=True)
class Ratio:
    """spindrop / spatial for one quantity, with its formula and the paper's number if any.

    unit: of ``spindrop``/``spatial`` ("" for counts); paper_scope: what the paper's number
    refers to when it is not the same quantity (e.g. "per network layer").
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
    """Dropout modules of one binary-input layer under both methods; ``in_map``: the (C, H, W)
    map a flatten→FC layer reads (``None`` otherwise)."""

    layer: str
    kind: str
    kernel: tuple[int, int]
    in_channels: int
    spindrop_modules: int
    spatial_modules: int
    formula: str
    label: str = LABEL
    in_map: tuple[int, int, int] | None = None

    @property
    def layer_type(self) -> str:
        """"k×k conv", "flatten→FC" or "FC"."""
        if self.kind == "conv":
            return f"{self.kernel[0]}×{self.kernel[1]} conv"
        return "flatten→FC" if self.in_map is not None else "FC"

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
        import pandas as pd  # only for the frame: importing hardware stays light

        return pd.DataFrame([{"quantity": r.name, "spindrop": r.spindrop, "spatial": r.spatial,
                              "ratio": r.value, "formula": r.formula, "paper": r.paper, "label": r.label}
                             for r in self.ratios()])

    def layers_frame(self) -> pd.DataFrame:
        """Per-layer module ratios."""
        import pandas as pd

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


def _layer_formula(geom: LayerGeometry, spatial_modules: int) -> str:
    """SpinDrop rows / Spatial modules of one binary-input layer, written out."""
    kh, kw = geom.kernel
    n = geom.in_channels
    if geom.kind == "conv":
        return f"k²·C_in / C_in = {kh}·{kw}·{n} / {n} = {kh * kw}"
    if geom.in_map is not None and spatial_modules != n:  # flatten→FC layer read per channel
        c, h, w = geom.in_map
        return f"C·H·W / C = {c}·{h}·{w} / {c} = H·W = {h * w}"
    return f"in / in = {n} / {n} = 1"


def compare_spindrop_spatial(model: nn.Module, input_shape: tuple[int, ...], T: int = 20,
                             preset: HardwarePreset | str = DEFAULT, model_name: str | None = None,
                             fc_grouping: str | None = None, **params: object) -> SpinDropSpatialComparison:
    """Price ``spindrop`` and ``spatial`` (same ``params``, e.g. ``p=0.2``) on ``model`` and compare.

    ``fc_grouping``: Spatial's reading of the flatten→FC layer (``"channel"`` or ``"element"``;
    ``None``: its default); SpinDrop has one module per word line under both.
    """
    sp_params = dict(params) if fc_grouping is None else {**params, "fc_grouping": fc_grouping}
    sd_method, sp_method = get_method("spindrop", **params), get_method("spatial", **sp_params)
    sd = cost_report(model, sd_method, input_shape, T, preset, model_name=model_name)
    sp = cost_report(model, sp_method, input_shape, T, preset, model_name=model_name)
    geoms = {g.name: g for g, _ in sd_method.hardware_plan(model, tuple(input_shape)).layers}

    layers = []
    for a, b in zip(sd.layers, sp.layers):
        if a.modules == 0 and b.modules == 0:
            continue
        g = geoms[a.name]
        layers.append(LayerRatio(a.name, g.kind, g.kernel, g.in_channels, a.modules, b.modules,
                                 _layer_formula(g, b.modules), in_map=g.in_map))

    reading = sp_method.params()["fc_grouping"]
    modules = Ratio("network dropout modules", sd.modules, sp.modules,
                    f"Σ_l m_l(SpinDrop) / Σ_l m_l(Spatial) = {sd.modules} / {sp.modules} "
                    "(conv: k²·C_in vs C_in; flatten→FC: C·H·W vs "
                    f"{'C' if reading == 'channel' else 'C·H·W'} ({reading} reading); other FC: in vs in)")
    draws = Ratio("random draws per inference", sd.draws, sp.draws,
                  f"T·Σ_l k²·C_in·H_out·W_out / T·Σ_l m_l(Spatial) (FC: as modules) = {sd.draws} / {sp.draws}")
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
        params=sp_method.params(), layers=tuple(layers), module_ratio=modules, draw_ratio=draws,
        dropout_energy_ratio=dropout_energy, total_energy_ratio=total_energy, spindrop=sd, spatial=sp,
    )


ENERGY_QUANTITIES = ("dropout-module energy", "total energy (crossbar reads + sense amps + dropout)")


@dataclass(frozen=True)
class Candidate:
    """One candidate reading of a paper's ratio on one model: SpinDrop / Spatial of ``quantity``
    under ``reading`` (Spatial's FC reading, or the layer type for a per-layer ratio)."""

    model: str
    quantity: str
    reading: str
    spindrop: float
    spatial: float
    formula: str
    label: str = LABEL
    unit: str = ""

    @property
    def value(self) -> float:
        return _div(self.spindrop, self.spatial)


def claim_candidates(model: nn.Module, input_shape: tuple[int, ...], T: int = 20,
                     preset: HardwarePreset | str = DEFAULT, model_name: str | None = None,
                     **params: object) -> list[Candidate]:
    """Every candidate quantity behind the paper's ratios on one model, all modelled.

    Per-layer module ratios (one row per distinct layer type and ratio; conv layers are read the
    same way under both FC readings), then the network module, draw, dropout-energy and
    total-energy ratios (T passes, ``preset``) under each ``fc_grouping``.
    """
    name = model_name or type(model).__name__
    found: list[Candidate] = []
    seen: set[tuple[str, str, float]] = set()
    for reading in FC_GROUPINGS:
        c = compare_spindrop_spatial(model, input_shape, T, preset, model_name=name, fc_grouping=reading, **params)
        for lr in c.layers:
            scope = "both" if lr.kind == "conv" else reading
            if (lr.layer_type, scope, lr.ratio) in seen:
                continue
            seen.add((lr.layer_type, scope, lr.ratio))
            found.append(Candidate(name, f"per-layer modules, {lr.layer_type} (e.g. `{lr.layer}`)", scope,
                                   lr.spindrop_modules, lr.spatial_modules, lr.formula))
        found += [Candidate(name, r.name, reading, r.spindrop, r.spatial, r.formula,
                            unit="J" if r.name in ENERGY_QUANTITIES else "") for r in c.ratios()]
    return found

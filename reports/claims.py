"""The paper's claims beside this suite's numbers: SpinDrop vs MC-SpatialDropout (all modelled).

Ahmed et al. ("Spatial-SpinDrop", arXiv 2306.10185) claim 9× fewer dropout modules per layer
(a 3×3 conv: k²·C_in word-line modules for SpinDrop, C_in channel modules for Spatial) and
94.11× less energy than SpinDrop. This module reads the stored hardware cells of both methods
(the ``modules`` suite's per-layer extras and the ``energy`` suite's metrics, with the same
method parameters) and forms the same ratios; nothing is recomputed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hardware.compare import LABEL, PAPER_ENERGY_RATIO, PAPER_MODULE_RATIO, Ratio

from .results import Results

__all__ = ["PAPER_ENERGY_RATIO", "PAPER_MODULE_RATIO", "Claims", "LayerRatio", "Ratio", "paper_claims"]

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
            sp_label = res.method_labels.get((SPATIAL, params))
            if sp_label not in extras or sd_label not in extras:
                continue
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
            found.append(Claims(dataset, model, params, res.mc_samples, layers, tuple(ratios)))
    return found


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

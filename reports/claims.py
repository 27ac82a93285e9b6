"""The paper's claims beside this suite's numbers: SpinDrop vs MC-SpatialDropout (all modelled).

The abstract of Ahmed et al. ("Spatial-SpinDrop", arXiv 2306.10185) says that "the number of dropout
modules per network layer is reduced by a factor of 9× and energy consumption by a factor of 94.11×"
(:data:`hardware.compare.PAPER_CLAIM`). It names no baseline and no kernel size: 9× is k² of a 3×3
conv (k²·C_in word-line modules vs C_in channel modules) only if SpinDrop is the baseline and the
layer is a 3×3 conv (a premise, not the abstract's wording). This module reads the stored hardware
cells of both methods (the ``modules`` suite's per-layer extras and the ``energy`` suite's metrics,
with the same method parameters) and forms the same ratios; nothing is recomputed.

Which quantity the 94.11× is, is not known. :func:`candidate_lines` therefore adds a table of every
candidate quantity on the reference models (width 1, computed from the cost model at the run's own
p, T and preset, :func:`candidate_setting`) and picks none of them.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from hardware.compare import (
    ENERGY_QUANTITIES,
    LABEL,
    PAPER_CLAIM,
    PAPER_ENERGY_RATIO,
    PAPER_MODULE_RATIO,
    Candidate,
    Ratio,
    claim_candidates,
)
from hardware.presets import DEFAULT, PRESETS, list_presets
from spindrop import build_model
from spindrop.geometry import traced_once

from .results import Results, params_text
from .tables import energy_unit

__all__ = ["PAPER_CLAIM", "PAPER_ENERGY_RATIO", "PAPER_MODULE_RATIO", "CandidateSetting", "Claims",
           "LayerRatio", "Ratio", "candidate_lines", "candidate_setting", "paper_claims", "reference_candidates"]

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
        shown = _run_params(res, dataset, model)
        pairs: dict[tuple[str, str], str] = {}
        for (method, params), sd_label in sorted(res.method_labels.items()):
            if method != SPINDROP or shown.get(sd_label) != params:
                continue
            for sp_params, sp_label in _spatial_partners(res, params):
                if shown.get(sp_label) == sp_params:
                    pairs.setdefault((sd_label, sp_label), sp_params)
        if not pairs and _tuned(res, dataset, model, SPINDROP) and _tuned(res, dataset, model, SPATIAL):
            pairs[SPINDROP, SPATIAL] = (f"tuned: SpinDrop {_tuned(res, dataset, model, SPINDROP)}, "
                                        f"Spatial {_tuned(res, dataset, model, SPATIAL)}")
        found += [_claims(res, dataset, model, params, sd, sp, extras) for (sd, sp), params in pairs.items()]
    return found


def _run_params(res: Results, dataset: str, model: str) -> dict[str, str]:
    """Row label → parameters text of the ok ``modules`` cells on (dataset, model)."""
    return {res.label(c.key): params_text(c.key.params)
            for c in res.cells if (c.key.suite, c.key.dataset, c.key.model) == ("modules", dataset, model)
            and c.status == "ok"}


def _tuned(res: Results, dataset: str, model: str, method: str) -> str | None:
    """The parameters text of ``method``'s tuned ``modules`` cells on (dataset, model), if tuned."""
    return next((params_text(c.key.params) for c in res.cells
                 if (c.key.suite, c.key.dataset, c.key.model, c.key.method) == ("modules", dataset, model, method)
                 and c.status == "ok" and c.provenance.get("tuning")), None)


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
                             "per network layer")]
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


@dataclass(frozen=True)
class CandidateSetting:
    """The p, T and hardware preset the candidates are priced at: the run's own (defaults: the
    default p, the paper profile's T, the default preset, for a store that does not record them)."""

    p: float = 0.2
    T: int = 20
    preset: str = DEFAULT.name


def candidate_setting(res: Results) -> CandidateSetting:
    """The setting of the run the report shows: its p and preset (run metadata) and its T."""
    run = res.run
    return CandidateSetting(float(run.get("p", CandidateSetting.p)), int(res.mc_samples),
                            str(run.get("hardware_preset", CandidateSetting.preset)))


@functools.lru_cache(maxsize=4)
def reference_candidates(setting: CandidateSetting = CandidateSetting()) -> tuple[Candidate, ...]:
    """:func:`hardware.compare.claim_candidates` of every reference model (width 1) at ``setting``'s
    p, T and preset; modelled, computed once per process and setting. Each model's layer shapes are
    traced once (:func:`spindrop.geometry.traced_once`) instead of at every candidate, 20 forward
    passes of full-size networks (docs/performance.md)."""
    found: list[Candidate] = []
    with traced_once():
        for name, shape in REFERENCE_MODELS:
            found += claim_candidates(build_model(name, shape, 10, 1.0), shape, T=setting.T, preset=setting.preset,
                                      model_name=name, p=setting.p)
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


def candidate_lines(setting: CandidateSetting = CandidateSetting()) -> list[str]:
    """Markdown: every candidate quantity on the reference models at ``setting``; none is picked (a
    preset this code does not know, e.g. a plugin's, prices none: the section says so)."""
    title = f"### Candidate quantities for the abstract's {PAPER_ENERGY_RATIO:g}× on the reference models ({LABEL})"
    if setting.preset not in PRESETS:
        return [title, "", f"Not computed: the run's hardware preset `{setting.preset}` is not registered here "
                f"(registered: {', '.join(f'`{n}`' for n in list_presets())}).", ""]
    cands = reference_candidates(setting)
    totals = [c.value for c in cands if c.quantity == ENERGY_QUANTITIES[1]]
    shapes = ", ".join(f"{n} {s[0]}×{s[1]}×{s[2]}" for n, s in REFERENCE_MODELS)
    lines = [title, "",
             "Which quantity the abstract's 94.11× is, is **not known**: it names no baseline, network, feature "
             "sizes or energy terms. Every candidate below is computed by this suite's cost model — all "
             f"**{LABEL}** — SpinDrop / MC-SpatialDropout (SpinDrop as one plausible baseline) at width 1 "
             f"({shapes}), at this run's p = {setting.p:g}, T = {setting.T} and preset `{setting.preset}`. "
             "*FC reading* is Spatial's `fc_grouping` on the flatten→FC layer (`both`: a conv layer, read alike "
             "under both).", "",
             _network_module_line(cands), "",
             "| model | quantity | FC reading | SpinDrop | Spatial | ratio (modelled) | formula |",
             "|:---|:---|:---|---:|---:|---:|:---|"]
    for c in cands:
        lines.append(f"| {c.model} | {c.quantity} | {c.reading} | {_amount(c.spindrop, c.unit)} | "
                     f"{_amount(c.spatial, c.unit)} | {c.value:,.4g}× | {c.formula} |")
    lines += ["",
              "No candidate is picked as the paper's quantity: choosing the one nearest 94.11× among these "
              "would be a choice made after seeing the numbers. What the table does show: the dropout modules' "
              "own energy (one write + read + reset event per random draw) gives the draw ratio "
              "Σ k²·C_in·H_out·W_out / Σ m_l(Spatial) at equal p, of the order of tens to a thousand; with the "
              "crossbar reads and sense amplifiers included every total-energy ratio is "
              f"{min(totals):.3g}–{max(totals):.3g}×, because every pass reads every weight at every window for "
              "both methods. The per-layer module ratio is k² (25× on LeNet-5's 5×5 convs); the abstract's 9× "
              "matches it only on a 3×3 conv with SpinDrop as the baseline, a premise of this comparison.", ""]
    return lines

"""The common cost model: modules, random draws, tiles and energy of (model, method, T).

Everything is derived from the model itself (:func:`spindrop.trace_geometry`) and the method's
:meth:`~spindrop.Method.hardware_plan`, so a new architecture or method is priced with no change
here. All numbers are *modelled*, per image.

Per binary layer (rows R_l = k²·C_in or ``in``, columns C_l = C_out, windows W_l, row blocks
B_l = ceil(R_l / tile rows), passes P_l):

* crossbar cell reads: P_l · W_l · R_l · C_l · 2 cells · V_read² / R_avg · t_read, where a
  complementary pair holds one P and one AP cell whatever the weight, so 2 / R_avg = 1/R_P + 1/R_AP
  (R_avg = harmonic mean of R_P and R_AP, 8 kΩ for 6/12 kΩ). All rows count as active: word-line
  gating by dropout would save at most the dropped share, which is not credited (upper bound).
* sense amplifiers: one sense per column per window per tile row-block:
  P_l · W_l · C_l · B_l · E_sense.
* real-valued inputs (a layer that does not binarise its input: the first layer, the classifier
  unless it binarises), bit-serial (:mod:`hardware.periphery`): the crossbar reads and senses above
  are paid b_l = ``input_bits`` times per window (b_l = 1 for a binary input), plus
  P_l · W_l · C_l · B_l · b_l shift-and-adds of E_add.
* α multiplies (a method whose plan declares them, Scale-Dropout): P_l · multiplies_l · E_mult.
* mask latches: one latch write per random draw, P_l · draws_l · E_latch.
* dropout modules: P_l · draws_l · (E_write + E_read + E_reset), one module event (write + read +
  reset, :func:`hardware.device.event_energy`) per random draw, at the method's drop probability p.
  When the preset's device is not ideal (variation, stuck-at faults, p drift), the event is the
  mean over the layer's drawn modules of their energies at their *realised* p_i
  (:func:`hardware.device.module_event_energies`): the chip ``chip_seed`` that the measured
  suites evaluate (:func:`hardware.sampler.layer_events`).

Area (per chip, m², :class:`AreaBreakdown`): every tile's cells (tile_rows · tile_cols ·
cells_per_weight · A_cell, A_cell = cell_area_F² · F²), one sense amplifier per column of every tile,
one MTJ cell and one latch per dropout module.

Latency per inference (s): layers, windows and passes in sequence, the tiles of a layer in parallel:
Σ_l P_l · (W_l · b_l · t_read + rounds_l · t_module), with t_module = t_pulse + t_read + t_reset the
module's write-read-reset cycle and rounds_l = ceil(draws_l / modules_l) the times each module of
the layer fires per pass (draws_l for a shared module). Module cycles are not overlapped with the
crossbar reads: an upper bound (a pipelined controller writes the next window's modules while the
current one is read).

Passes: a sampling method (``stochastic=True`` and at least one draw on this model) runs T MC
passes, except that the layers before the first layer with random draws give the same result in
every pass and are evaluated once (``reuse_prefix``, as :func:`spindrop.mc_predict` does); a
method with ``stochastic=False`` (or no draws) runs one pass whatever T is.
Modules are counted once per model: Σ layer modules + ``shared_modules``
(:attr:`spindrop.HardwarePlan.total_modules`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from torch import nn

from spindrop import Method, get_method

from .crossbar import LayerMapping, map_layer
from .device import ModuleEventEnergy, event_energy
from .presets import DEFAULT, HardwarePreset, get_preset
from .sampler import layer_events

if TYPE_CHECKING:
    import pandas as pd

FORMULAS: dict[str, str] = {
    "tiles": "ceil(rows / tile_rows) · ceil(cols / tile_cols)",
    "draws": "draws_per_pass · passes",
    "crossbar_read": "passes · windows · rows · cols · cells_per_weight · V_read² · t_read / R_avg, "
                     "R_avg = 2 / (1/R_P + 1/R_AP)",
    "sense_amp": "passes · windows · cols · ceil(rows / tile_rows) · E_sense",
    "dropout": "passes · draws_per_pass · (E_write + E_read + E_reset)",
    "input_bits": "b = input_bits for a real-valued input (bit-serial), 1 for a binary input; crossbar_read "
                  "and sense_amp × b",
    "input_shift_add": "passes · windows · cols · ceil(rows / tile_rows) · b · E_add (real-valued inputs only)",
    "alpha_multiply": "passes · multiplies_per_pass · E_mult",
    "mask_latch": "passes · draws_per_pass · E_latch",
    "modules": "Σ layer modules + shared_modules",
    "area": "Σ tiles · tile_rows · tile_cols · cells_per_weight · A_cell + Σ tiles · tile_cols · A_sense "
            "+ modules · (A_cell + A_latch)",
    "latency": "Σ_l passes · (windows · b · t_read + ceil(draws_per_pass / modules) · (t_pulse + t_read + t_reset))",
    "copies": "a plan built `copies` times side by side (a deep ensemble's M crossbar copies): every energy, "
              "tile, cell, area, module, draw and latency term above × copies (copies evaluated in turn)",
}


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy per image (J) for all passes of one inference."""

    crossbar_read: float = 0.0
    sense_amp: float = 0.0
    dropout_write: float = 0.0
    dropout_read: float = 0.0
    dropout_reset: float = 0.0
    input_shift_add: float = 0.0
    alpha_multiply: float = 0.0
    mask_latch: float = 0.0

    @property
    def dropout(self) -> float:
        return self.dropout_write + self.dropout_read + self.dropout_reset

    @property
    def crossbar(self) -> float:
        """Crossbar cell reads + sense amplifiers."""
        return self.crossbar_read + self.sense_amp

    @property
    def periphery(self) -> float:
        """Shift-and-adds of bit-serial inputs + α multiplies + mask latches."""
        return self.input_shift_add + self.alpha_multiply + self.mask_latch

    @property
    def total(self) -> float:
        return self.crossbar_read + self.sense_amp + self.dropout + self.periphery

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class AreaBreakdown:
    """Chip area (m²) of one model's crossbars, sense amplifiers, dropout modules and mask latches."""

    cells: float = 0.0
    sense_amps: float = 0.0
    modules: float = 0.0
    latches: float = 0.0

    @property
    def total(self) -> float:
        return self.cells + self.sense_amps + self.modules + self.latches

    @property
    def total_mm2(self) -> float:
        return self.total * 1e6


@dataclass(frozen=True)
class LayerCost:
    """One binary layer: its crossbar mapping, dropout modules, draws and energy per image.

    The mapping's fields (``name``, ``kind``, ``rows``, ``cols``, ``windows``, ``tiles``,
    ``cells``, ...) read through, e.g. ``layer_cost.rows``.
    """

    mapping: LayerMapping
    modules: int
    draws_per_pass: int
    passes: int
    energy: EnergyBreakdown
    input_bits: int = 1
    latency: float = 0.0
    """Seconds this layer takes per inference (all its passes)."""

    def __getattr__(self, name: str) -> Any:  # delegates to LayerMapping: any of its attributes
        if name == "mapping":  # not set yet (e.g. while unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.mapping, name)

    @property
    def draws(self) -> int:
        """Random draws (= dropout-module events) per inference: draws_per_pass · passes."""
        return self.draws_per_pass * self.passes

    @property
    def sense_events(self) -> int:
        return self.passes * self.windows * self.cols * self.row_blocks


@dataclass(frozen=True)
class CostReport:
    """Modelled hardware cost of one (model, method, T, preset), per image. ``layers`` are one
    copy's; ``copies`` (:attr:`spindrop.HardwarePlan.copies`) scales every model-level total."""

    model: str
    method: str
    method_params: dict
    input_shape: tuple[int, ...]
    T: int
    passes: int
    sampling: bool
    passes_note: str
    reuse_prefix: bool
    preset: str
    layers: tuple[LayerCost, ...]
    shared_modules: int
    event: ModuleEventEnergy | None
    area: AreaBreakdown = field(default_factory=AreaBreakdown)
    formulas: dict = field(default_factory=lambda: dict(FORMULAS))
    events: dict[str, ModuleEventEnergy] = field(default_factory=dict)
    """Realised mean event per layer with draws (empty for an ideal device: every layer's event is
    ``event``); its ``p`` is the layer's mean realised drop probability."""
    copies: int = 1

    @property
    def p_realised(self) -> float | None:
        """Mean drop probability per draw over all draws (the nominal p for an ideal device;
        None without draws)."""
        if self.draws == 0 or self.event is None:
            return None
        return sum(lc.draws * self.events.get(lc.name, self.event).p for lc in self.layers) \
            / sum(lc.draws for lc in self.layers)

    @property
    def modules(self) -> int:
        """Physical dropout modules of the model (Σ layers + shared, × copies)."""
        return self.copies * (self.shared_modules + sum(lc.modules for lc in self.layers))

    @property
    def draws_per_pass(self) -> int:
        return self.copies * sum(lc.draws_per_pass for lc in self.layers)

    @property
    def draws(self) -> int:
        """Random draws per inference (all T passes)."""
        return self.copies * sum(lc.draws for lc in self.layers)

    @property
    def tiles(self) -> int:
        return self.copies * sum(lc.tiles for lc in self.layers)

    @property
    def cells(self) -> int:
        return self.copies * sum(lc.cells for lc in self.layers)

    @property
    def energy(self) -> EnergyBreakdown:
        total = EnergyBreakdown()
        for lc in self.layers:
            total = total + lc.energy
        return EnergyBreakdown(*(getattr(total, f.name) * self.copies for f in fields(total)))

    @property
    def latency(self) -> float:
        """Seconds per inference (all passes; layers in sequence, copies one after another)."""
        return self.copies * sum(lc.latency for lc in self.layers)

    def summary(self) -> dict[str, object]:
        """Model-level numbers as a flat dict (energies in J, per image, all passes)."""
        e = self.energy
        return {
            "model": self.model, "method": self.method, "T": self.T, "passes": self.passes,
            "sampling": self.sampling, "preset": self.preset, "modules": self.modules,
            "draws_per_pass": self.draws_per_pass, "draws": self.draws, "tiles": self.tiles,
            "cells": self.cells, "E_crossbar_read_J": e.crossbar_read, "E_sense_amp_J": e.sense_amp,
            "E_dropout_write_J": e.dropout_write, "E_dropout_read_J": e.dropout_read,
            "E_dropout_reset_J": e.dropout_reset, "E_dropout_J": e.dropout,
            "E_input_shift_add_J": e.input_shift_add, "E_alpha_multiply_J": e.alpha_multiply,
            "E_mask_latch_J": e.mask_latch, "E_total_J": e.total, "area_mm2": self.area.total_mm2,
            "latency_s": self.latency, "modelled": True,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per binary layer plus a ``total`` row; energies in J per image (all passes).

        With several :attr:`copies` each copy's layers are rows of their own (``copy<k>/<layer>``).
        The total row's ``modules`` includes ``shared_modules``; its rows/cols/windows are empty
        (no meaningful sum); ``passes`` is the model's MC pass count. Run parameters are in ``.attrs``.
        """
        rows = []
        for copy, lc in ((k, lc) for k in range(self.copies) for lc in self.layers):
            name = lc.name if self.copies == 1 else f"copy{copy}/{lc.name}"
            rows.append(_frame_row(name, lc.kind, lc.rows, lc.cols, lc.windows, lc.tiles, lc.cells,
                                   lc.modules, lc.draws_per_pass, lc.passes, lc.draws, lc.sense_events,
                                   lc.energy))
        rows.append(_frame_row("total", "", None, None, None, self.tiles, self.cells, self.modules,
                               self.draws_per_pass, self.passes, self.draws,
                               self.copies * sum(lc.sense_events for lc in self.layers), self.energy))
        import pandas as pd  # only for the frame: importing hardware stays light

        frame = pd.DataFrame(rows)
        frame.attrs.update({k: v for k, v in self.summary().items() if not k.startswith("E_")})
        frame.attrs.update(shared_modules=self.shared_modules, copies=self.copies, passes_note=self.passes_note,
                           method_params=dict(self.method_params), input_shape=self.input_shape)
        return frame


def _frame_row(name: str, kind: str, rows: int | None, cols: int | None, windows: int | None, tiles: int,
               cells: int, modules: int, draws_per_pass: int, passes: int, draws: int, sense_events: int,
               e: EnergyBreakdown) -> dict[str, object]:
    return {
        "layer": name, "kind": kind, "rows": rows, "cols": cols, "windows": windows, "tiles": tiles,
        "cells": cells, "modules": modules, "draws_per_pass": draws_per_pass, "passes": passes,
        "draws": draws, "sense_events": sense_events, "E_crossbar_read_J": e.crossbar_read,
        "E_sense_amp_J": e.sense_amp, "E_dropout_write_J": e.dropout_write,
        "E_dropout_read_J": e.dropout_read, "E_dropout_reset_J": e.dropout_reset,
        "E_dropout_J": e.dropout, "E_input_shift_add_J": e.input_shift_add,
        "E_alpha_multiply_J": e.alpha_multiply, "E_mask_latch_J": e.mask_latch, "E_total_J": e.total,
    }


def _method(method: Method | str) -> Method:
    return get_method(method) if isinstance(method, str) else method


def cost_report(model: nn.Module, method: Method | str, input_shape: tuple[int, ...], T: int = 20,
         preset: HardwarePreset | str = DEFAULT, reuse_prefix: bool = True,
         model_name: str | None = None, chip_seed: int = 0) -> CostReport:
    """Modelled cost per image of ``T``-sample MC inference of ``model`` under ``method``.

    ``method``: a :class:`spindrop.Method` or a registered name (default parameters).
    ``input_shape``: one input, (C, H, W). ``preset``: a :class:`HardwarePreset` or its name.
    ``chip_seed``: which chip's modules price the dropout events when the preset's device is not
    ideal (the seed :func:`hardware.attach_device` draws the modules with).
    """
    if not (isinstance(T, int) and T >= 1):
        raise ValueError(f"number of MC samples T={T!r} must be an int >= 1")
    method = _method(method)
    hw = get_preset(preset)
    plan = method.hardware_plan(model, tuple(input_shape))
    sampling = bool(method.stochastic) and plan.total_draws > 0
    passes = T if sampling else 1
    first = next((i for i, (_, h) in enumerate(plan.layers) if h.draws > 0), len(plan.layers))
    p = float(getattr(method.config, "p", 0.0))
    event = event_energy(hw.mtj, p) if plan.total_draws > 0 else None
    realised = event is not None and not hw.mtj.ideal
    events = layer_events(model, method, tuple(input_shape), hw.mtj, chip_seed) if realised else {}
    unpriced = [g.name for g, lh in plan.layers if realised and lh.draws and g.name not in events]
    if unpriced:
        raise RuntimeError(f"{method.name}: layers {unpriced} have random draws but drew no device modules in "
                           f"a pass; its sites must call their sampler (hardware.sampler.layer_events)")

    mtj, per = hw.mtj, hw.periphery
    r_avg = 2.0 / (1.0 / mtj.r_p + 1.0 / mtj.r_ap)  # harmonic mean: exact for a complementary pair
    cell_read = mtj.v_read ** 2 * mtj.t_read / r_avg  # J per cell per window evaluation
    module_cycle = mtj.t_pulse + mtj.t_read + mtj.t_reset  # s, one module event
    layers = []
    for i, (geom, lh) in enumerate(plan.layers):
        m = map_layer(geom, hw.crossbar)
        layer_passes = passes if (not reuse_prefix or i >= first) else 1
        draws = lh.draws * layer_passes
        layer_event = events.get(geom.name, event)
        bits = 1 if geom.binary_input else per.input_bits  # bit-serial real-valued input
        senses = layer_passes * m.windows * m.cols * m.row_blocks * bits
        energy = EnergyBreakdown(
            crossbar_read=layer_passes * m.windows * m.cells * cell_read * bits,
            sense_amp=senses * hw.sense_amp_energy,
            dropout_write=draws * layer_event.write if layer_event else 0.0,
            dropout_read=draws * layer_event.read if layer_event else 0.0,
            dropout_reset=draws * layer_event.reset if layer_event else 0.0,
            input_shift_add=0.0 if geom.binary_input else senses * per.shift_add_energy,
            alpha_multiply=layer_passes * lh.multiplies * per.multiply_energy,
            mask_latch=draws * per.latch_energy,
        )
        rounds = -(-lh.draws // lh.modules) if lh.modules else lh.draws  # module firings per pass
        latency = layer_passes * (m.windows * bits * mtj.t_read + rounds * module_cycle)
        layers.append(LayerCost(m, modules=lh.modules, draws_per_pass=lh.draws, passes=layer_passes,
                                energy=energy, input_bits=bits, latency=latency))
    tile_cells = hw.crossbar.rows * hw.crossbar.cols * hw.crossbar.cells_per_weight
    tiles = plan.copies * sum(lc.tiles for lc in layers)
    area = AreaBreakdown(cells=tiles * tile_cells * per.cell_area,
                         sense_amps=tiles * hw.crossbar.cols * per.sense_amp_area,
                         modules=plan.total_modules * per.cell_area, latches=plan.total_modules * per.latch_area)

    if not sampling:
        note = (f"one crossbar pass for T={T}: "
                + ("method is deterministic (stochastic=False)" if not method.stochastic
                   else "method has no random draws on this model"))
    elif reuse_prefix and first > 0:
        note = (f"{T} MC passes; the {first} layer(s) before the first stochastic layer are evaluated "
                "once and reused")
    else:
        note = f"{T} MC passes of every layer"
    return CostReport(
        model=model_name or type(model).__name__, method=method.name, method_params=method.params(),
        input_shape=tuple(input_shape), T=T, passes=passes, sampling=sampling, passes_note=note,
        reuse_prefix=reuse_prefix, preset=hw.name, layers=tuple(layers),
        shared_modules=plan.shared_modules, event=event, events=events, area=area, copies=plan.copies,
    )

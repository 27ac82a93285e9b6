"""The CMOS periphery the cost model prices besides the MTJs, at one technology node per preset
(docs/hardware.md §3, "Periphery, area and latency").

* **Real-valued inputs, bit-serial** (the first layer's pixels; the classifier's BatchNorm outputs
  unless it binarises them): the input is quantised to ``input_bits`` bits and applied one bit
  plane per crossbar read (a 1-bit "DAC", as ISAAC feeds its crossbars, Shafiee et al. 2016); the
  column outputs of the b planes are combined by shift-and-add. Cost per window: b crossbar reads and
  b senses per column and row block, plus b shift-adds per column and row block. Chosen over a
  multi-level DAC because it keeps the crossbar binary (one read voltage) like every other layer.
* **α multiply** (Scale-Dropout): one multiply per scaled output (C_out per window) per pass.
* **Mask latches**: every dropout module's drawn bit is captured in a latch that drives its word-line
  gates until the next draw: one latch per module (area), one latch write per draw (energy).
* **Sense amplifiers**: one per column of every tile (area).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeripheryConfig:
    """Periphery constants of one technology node (SI units); the sources are in :mod:`hardware.presets`.

    node: technology node (m), the feature size F of the areas given in F².
    cell_area_f2: one MTJ cell with its access transistor, in F² (a weight takes ``cells_per_weight``
        cells; a dropout module one cell).
    sense_amp_area_f2: one current-sense amplifier (with its IV converter), in F².
    input_bits: bits of a real-valued input, applied bit-serially (1 bit plane per read).
    shift_add_energy: one shift-and-add of a column's partial sum (J).
    multiply_energy: one α multiply (J).
    latch_energy: one write of a mask latch (J); latch_area: one latch (m²).
    """

    node: float
    cell_area_f2: float
    sense_amp_area_f2: float
    input_bits: int
    shift_add_energy: float
    multiply_energy: float
    latch_energy: float
    latch_area: float

    def __post_init__(self) -> None:
        if not (isinstance(self.input_bits, int) and self.input_bits >= 1):
            raise ValueError(f"PeripheryConfig.input_bits must be an int >= 1, got {self.input_bits!r}")

    @property
    def cell_area(self) -> float:
        """One MTJ cell (m²): cell_area_f2 · F²."""
        return self.cell_area_f2 * self.node ** 2

    @property
    def sense_amp_area(self) -> float:
        """One sense amplifier (m²): sense_amp_area_f2 · F²."""
        return self.sense_amp_area_f2 * self.node ** 2

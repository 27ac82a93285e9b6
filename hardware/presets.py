"""Named hardware presets (aihwkit style): frozen dataclasses, every constant cited.

Each constant below carries its source in the comment next to it, as a key of
:data:`REFERENCES` (full citations) or the word "assumption" with the reasoning. Nothing here
is measured by this project; numbers priced with these presets are *modelled*.

Notes on the default cell (NVSim ``sample_STTRAM.cell``):

* Its write energy, 0.193895 pJ for 40.82 µA × 5 ns, is not the MTJ's Joule heat:
  I²·R_P·t = (40.82 µA)² · 6 kΩ · 5 ns = 0.0500 pJ and I²·R_AP·t = 0.1000 pJ, and I²·R·t =
  0.193895 pJ would need R ≈ 23.3 kΩ. It is V·I·t with V = 0.193895 pJ / (40.82 µA · 5 ns) =
  0.950 V: NVSim prices current-mode writes on the supply side (``MemCell::CalculateWriteEnergy``:
  ``setEnergy = vdd * |setCurrent| * setPulse`` when no voltage is given), so the number includes
  the access transistor and driver. The default preset follows docs/hardware.md (I²·R·t at the MTJ);
  ``nvsim_sttram_supply`` prices writes as V·I·t with V = 0.95 V and reproduces NVSim's
  0.193895 pJ per reset.
* The cell file gives no Δ, I_c0 or τ0; those are cited or marked as assumptions below.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from spindrop.naming import UnknownNameError

from .crossbar import CrossbarConfig
from .device import MTJConfig
from .periphery import PeripheryConfig

REFERENCES: dict[str, str] = {
    "NVSim-cell": "NVSim sample cell file sample_STTRAM.cell, repository SEAL-UCSB/NVSim at 4bc8fbb "
                  "(later versions of the file have other values) (Dong, Xu, Xie, Jouppi, IEEE TCAD 31(7), 2012): "
                  "ResistanceOn 6000 Ω, "
                  "ResistanceOff 12000 Ω, ReadMode current, ReadVoltage 0.25 V, Set/Reset current "
                  "40.82 µA, Set/Reset pulse 5 ns, Set/Reset energy 0.193895 pJ",
    "NVSim-MemCell": "NVSim MemCell.cpp, MemCell::CalculateWriteEnergy (SEAL-UCSB/NVSim): for a "
                     "current-mode cell without a given energy, E = vdd · I · t",
    "NVSim-SenseAmp": "NVSim SenseAmp.cpp (SEAL-UCSB/NVSim): current-sensing IV converter 'achieved from "
                      "HSPICE' at 45 nm: read energy 10.26e-14 J per column (SenseAmp::CalculatePower; the latch "
                      "term capLoad·vdd² is technology-computed and not included here), read latency 0.80 ns "
                      "(SenseAmp::CalculateLatency); IV_CONVERTER_AREA = 50000 F² (constant.h, marked there as "
                      "a design-dependent parameter)",
    "Koch2004": "R. H. Koch et al., 'Thermally assisted magnetization reversal in submicron-sized "
                "magnetic thin films', Phys. Rev. Lett. 92, 088302 (2004): τ = τ0·exp(Δ(1 − I/I_c0)) "
                "(as cited by Taniguchi & Imamura, arXiv 1010.5845)",
    "Soumah2024": "L. Soumah, L. Desplat et al., 'Entropy-assisted nanosecond stochastic operation in "
                  "perpendicular superparamagnetic tunnel junctions', arXiv 2402.03452: the Arrhenius "
                  "prefactor τ0 'typically assumed' is 1 ns (they find fs-range values for SMTJs)",
    "Schnitzspan2023": "L. Schnitzspan, M. Kläui, G. Jakob, 'Nanosecond true random number generation with "
                       "superparamagnetic tunnel junctions', arXiv 2301.05694: non-volatile MRAM requires a "
                       "switching energy barrier E_b > 40 k_B T",
    "NVSim-cell-area": "NVSim sample_STTRAM.cell (SEAL-UCSB/NVSim): CellArea 57.5 F², CellAspectRatio 0.57, "
                       "AccessCMOSWidth 8.5 F (1T1MTJ cell with its access transistor)",
    "Horowitz2014": "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014, "
                    "45 nm, 0.9 V: 32-bit integer add 0.1 pJ, 16-bit floating-point multiply 1.1 pJ",
    "NanGate45": "NanGate FreePDK45 Open Cell Library (45 nm): DFF_X1 area 4.522 µm²",
    "ISAAC2016": "A. Shafiee et al., 'ISAAC: a convolutional neural network accelerator with in-situ analog "
                 "arithmetic in crossbars', ISCA 2016: inputs applied to the crossbar one bit per cycle "
                 "(1-bit DAC), partial sums combined by shift-and-add",
    "DESIGN": "docs/hardware.md section 2, 'Crossbar mapping' (this project): complementary MTJ pair per binary "
              "weight, 128×128 default tile",
}

# ----------------------------------------------------------------------------- cited constants
R_P = 6_000.0            # Ω, parallel (low) state [NVSim-cell: ResistanceOn 6000 ohm]
R_AP = 12_000.0          # Ω, antiparallel (high) state, TMR 100 % [NVSim-cell: ResistanceOff 12000 ohm]
V_READ = 0.25            # V [NVSim-cell: ReadVoltage 0.25 V]
T_READ = 0.80e-9         # s, read time of one MTJ read: the cell conducts while the 45 nm current-sense
#                          amplifier senses [NVSim-SenseAmp: 0.80 ns at 45 nm; assumption: the same for
#                          crossbar cell reads and dropout-module reads]
I_WRITE_NVSIM = 40.82e-6  # A [NVSim-cell: SetCurrent/ResetCurrent 40.82 uA]
T_WRITE_NVSIM = 5e-9     # s [NVSim-cell: SetPulse/ResetPulse 5 ns]
E_WRITE_NVSIM = 0.193895e-12  # J [NVSim-cell: SetEnergy/ResetEnergy 0.193895 pJ]; = V·I·t, see V_SUPPLY
V_SUPPLY = E_WRITE_NVSIM / (I_WRITE_NVSIM * T_WRITE_NVSIM)  # = 0.950 V, derived from [NVSim-cell] with
#                          NVSim's E = V·I·t for current-mode writes [NVSim-MemCell]
I_RESET = I_WRITE_NVSIM  # A, deterministic reset pulse = the cell's write [NVSim-cell]
T_RESET = T_WRITE_NVSIM  # s [NVSim-cell]
T_PULSE = T_WRITE_NVSIM  # s, stochastic write pulse width [NVSim-cell pulse; assumption: the dropout
#                          module uses the cell's write pulse width and tunes p with the current]
TAU0 = 1e-9              # s, attempt time [Soumah2024: 'typically assumed value of 1 ns']
DELTA_MEMORY = 40.0      # thermal stability factor [Schnitzspan2023: non-volatile MRAM needs E_b > 40 k_BT;
#                          assumption: the module uses the lowest memory-grade barrier]
DELTA_LOW = 20.0         # assumption: reduced-barrier MTJ for stochastic writes (retention
#                          τ0·e^20 ≈ 0.5 s, ample between a module's write and read); no cited device
I_C0 = I_WRITE_NVSIM     # A, critical current [assumption: NVSim's write current taken as I_c0; the
#                          cell file gives none. At I = I_c0 the model gives τ = τ0, so the 5 ns reset
#                          switches with 1 − e^-5 = 99.3 % (reset failures are not modelled)]
SENSE_AMP_ENERGY = 10.26e-14  # J per sense event [NVSim-SenseAmp: 45 nm current-sense, from HSPICE]
SIGMA_VARIATION = 0.05   # relative σ of Δ and I_c0 [assumption: illustrative 5 % device-to-device spread]
STUCK_RATE = 1e-3        # share of stuck-at-drop and of stuck-at-keep modules [assumption: illustrative]
NODE = 45e-9             # m, the technology node of every CMOS constant of the presets below (F)
CELL_AREA_F2 = 57.5      # F² per MTJ cell with access transistor [NVSim-cell-area]
SENSE_AMP_AREA_F2 = 50_000.0  # F² per current-sense amplifier, its IV converter [NVSim-SenseAmp; the
#                          CACTI-derived latch part is not included]
INPUT_BITS = 8           # bits of a real-valued input, applied bit-serially [ISAAC2016: 1 bit per cycle;
#                          assumption: 8-bit pixels and 8-bit quantised classifier inputs]
SHIFT_ADD_ENERGY = 0.1e-12   # J per shift-and-add of a column partial sum [Horowitz2014: 32-bit integer add;
#                          assumption: a 32-bit accumulator]
MULTIPLY_ENERGY = 1.1e-12    # J per α multiply [Horowitz2014: 16-bit floating-point multiply; assumption:
#                          α and the MAC in FP16]
LATCH_AREA = 4.522e-12   # m² per mask latch [NanGate45: DFF_X1]
LATCH_ENERGY = 1e-15     # J per latch write [assumption: order of magnitude of a 45 nm flip-flop's
#                          data and clock switching, C ≈ 1 fF at 0.9-1 V; no cited value]
TILE_ROWS = 128          # word lines per tile [DESIGN]
TILE_COLS = 128          # bit lines per tile [DESIGN]
CELLS_PER_WEIGHT = 2     # complementary MTJ pair per binary weight [DESIGN]


@dataclass(frozen=True)
class HardwarePreset:
    """A named set of device, crossbar and peripheral parameters.

    sense_amp_energy: energy of one sense event (one column of one tile row-block, one window), J.
    periphery: the CMOS periphery at the preset's one technology node (:mod:`hardware.periphery`).
    references: keys of :data:`REFERENCES` the preset's numbers come from.
    """

    name: str
    summary: str
    mtj: MTJConfig
    crossbar: CrossbarConfig
    sense_amp_energy: float
    periphery: PeripheryConfig
    references: tuple[str, ...] = field(default=())

    def citations(self) -> list[str]:
        return [f"[{k}] {REFERENCES[k]}" for k in self.references]


_NVSIM_MTJ = MTJConfig(
    delta=DELTA_MEMORY, i_c0=I_C0, tau0=TAU0, r_p=R_P, r_ap=R_AP, v_read=V_READ, t_read=T_READ,
    t_pulse=T_PULSE, i_reset=I_RESET, t_reset=T_RESET,
)
_CROSSBAR = CrossbarConfig(rows=TILE_ROWS, cols=TILE_COLS, cells_per_weight=CELLS_PER_WEIGHT)
_PERIPHERY = PeripheryConfig(node=NODE, cell_area_f2=CELL_AREA_F2, sense_amp_area_f2=SENSE_AMP_AREA_F2,
                             input_bits=INPUT_BITS, shift_add_energy=SHIFT_ADD_ENERGY,
                             multiply_energy=MULTIPLY_ENERGY, latch_energy=LATCH_ENERGY, latch_area=LATCH_AREA)
_REFS = ("NVSim-cell", "NVSim-cell-area", "NVSim-SenseAmp", "Koch2004", "Soumah2024", "Schnitzspan2023",
         "Horowitz2014", "NanGate45", "ISAAC2016", "DESIGN")

NVSIM_STTRAM = HardwarePreset(
    name="nvsim_sttram",
    summary="NVSim sample STT-RAM cell, Δ=40 MTJ dropout modules, MTJ Joule energy I²·R·t",
    mtj=_NVSIM_MTJ, crossbar=_CROSSBAR, sense_amp_energy=SENSE_AMP_ENERGY, periphery=_PERIPHERY,
    references=_REFS,
)
NVSIM_STTRAM_SUPPLY = HardwarePreset(
    name="nvsim_sttram_supply",
    summary="as nvsim_sttram, writes priced on the supply side V·I·t (V=0.95 V, NVSim's 0.193895 pJ)",
    mtj=replace(_NVSIM_MTJ, v_write=V_SUPPLY),
    crossbar=_CROSSBAR, sense_amp_energy=SENSE_AMP_ENERGY, periphery=_PERIPHERY,
    references=_REFS + ("NVSim-MemCell",),
)
LOW_BARRIER = HardwarePreset(
    name="low_barrier",
    summary="as nvsim_sttram with a reduced-barrier (Δ=20, assumption) stochastic MTJ",
    mtj=replace(_NVSIM_MTJ, delta=DELTA_LOW),
    crossbar=_CROSSBAR, sense_amp_energy=SENSE_AMP_ENERGY, periphery=_PERIPHERY,
    references=_REFS,
)
NVSIM_STTRAM_VARIATION = HardwarePreset(
    name="nvsim_sttram_variation",
    summary="as nvsim_sttram with 5 % σ on Δ and I_c0 and 0.1 % stuck-at-drop/keep modules (assumptions)",
    mtj=replace(_NVSIM_MTJ, sigma_delta=SIGMA_VARIATION, sigma_ic0=SIGMA_VARIATION,
                stuck_at_drop_rate=STUCK_RATE, stuck_at_keep_rate=STUCK_RATE),
    crossbar=_CROSSBAR, sense_amp_energy=SENSE_AMP_ENERGY, periphery=_PERIPHERY,
    references=_REFS,
)

PRESETS: dict[str, HardwarePreset] = {
    p.name: p for p in (NVSIM_STTRAM, NVSIM_STTRAM_SUPPLY, LOW_BARRIER, NVSIM_STTRAM_VARIATION)
}
DEFAULT = NVSIM_STTRAM


def list_presets() -> list[str]:
    """Names of the presets, sorted."""
    return sorted(PRESETS)


def get_preset(name: str | HardwarePreset) -> HardwarePreset:
    """The preset called ``name`` (a preset passes through unchanged)."""
    if isinstance(name, HardwarePreset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownNameError("hardware preset", name, list_presets()) from None

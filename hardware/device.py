"""MTJ device model of a stochastic dropout module (docs/hardware.md).

Switching (thermal-activation regime, Koch et al., PRL 92, 088302, 2004): a current pulse of
amplitude I and width t switches the free layer with probability

    P_sw(I, t) = 1 − exp(−t/τ),    τ = τ0 · exp(Δ · (1 − I/I_c0)),

with Δ the thermal stability factor, I_c0 the critical current and τ0 the attempt time. The
formula holds for I < I_c0; above it the model is an extrapolation (τ < τ0).

Inverses (closed form), for a target drop probability p ∈ (0, 1):

    τ(p, t) = t / (−ln(1 − p))
    I(p, t) = I_c0 · (1 − ln(τ(p, t)/τ0) / Δ)          (current for pulse width t)
    t(p, I) = −ln(1 − p) · τ0 · exp(Δ · (1 − I/I_c0))  (pulse width for current I)

A dropout module is one MTJ that is reset to P, written with a stochastic pulse (switched to AP
= "drop"), read, and reset again. Energy of one event (one random draw), ``p`` its drop
probability, written in the order the pulses happen:

* write (the stochastic P → AP pulse, current I_w for t_w):
  Joule heat in the MTJ, I_w² · t_w · R_w. The device sits in P until it switches and in AP
  after, so R_w is the time-average resistance: the expected time in P of a pulse of width t_w
  with switching time ~ Exp(τ) is E[min(T_sw, t_w)] = τ·(1 − e^{−t_w/τ}) = τ·p, hence
  R_w = R_AP − (R_AP − R_P) · τ·p / t_w (for the nominal device τ·p/t_w = p / (−ln(1 − p))).
* read: V_read² · t_read · E[1/R] with E[1/R] = p/R_AP + (1 − p)/R_P: the conductance of the
  state that is read (AP with probability p).
* reset (deterministic AP → P pulse, current I_r for t_r), unconditional by default (every
  module gets the pulse, no read-dependent gating): a switched module (probability p) is in AP
  until the reset switches it back, time-average resistance R_r = R_P + (R_AP − R_P)·τ_r·P_r/t_r
  with τ_r, P_r from the switching formula at I_r; a module that did not switch stays in P.
  E_reset = I_r² · t_r · (p · R_r + (1 − p) · R_P); with ``conditional_reset`` only the
  switched modules are pulsed: I_r² · t_r · p · R_r.

With ``v_write`` set, write and reset are priced on the supply side instead, V_write · I · t
(what NVSim does for current-mode cells, ``MemCell::CalculateWriteEnergy``: E = V·I·t), which
includes the access transistor and driver drop that the MTJ's own I²·R·t leaves out.

Device-to-device variation and faults: each physical module draws Δ_i ~ N(Δ, (σ_Δ·Δ)²) and
I_c0,i ~ N(I_c0, (σ_Ic0·I_c0)²) once (seeded); the write current is chosen for the *nominal*
device at the target p, so module i drops with p_i = P_sw(I_w, t_w; Δ_i, I_c0,i). A share
``stuck_at_drop_rate`` of modules always drops (p_i = 1), a share ``stuck_at_keep_rate`` never
drops (p_i = 0). ``p_drift`` δ: the write driver is calibrated for p·(1 + δ) instead of p (the
current error that gives it follows from the inverse, docs/hardware.md). The torch mask sampler
that draws keep bits from these modules is :mod:`hardware.sampler`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import torch
from torch import Tensor


@dataclass(frozen=True)
class MTJConfig:
    """One MTJ dropout module (SI units throughout). Presets: :mod:`hardware.presets`.

    delta: thermal stability factor Δ = E_b / k_B T.
    i_c0: critical switching current I_c0 (A).
    tau0: attempt time τ0 (s).
    r_p, r_ap: resistance in the parallel (P, low) and antiparallel (AP, high) state (Ω).
    v_read: read voltage (V); t_read: read time (s).
    t_pulse: width of the stochastic write pulse (s).
    i_reset, t_reset: current (A) and width (s) of the deterministic reset pulse.
    sigma_delta, sigma_ic0: relative device-to-device standard deviations of Δ and I_c0.
    stuck_at_drop_rate, stuck_at_keep_rate: shares of modules stuck at p = 1 / p = 0.
    v_write: None → write/reset energy is the MTJ's Joule heat I²·R·t; a voltage → V·I·t
        (supply-side, NVSim's definition).
    conditional_reset: reset only the modules that switched (the read result gates the pulse).
    p_drift: relative error of the programmed drop probability (a miscalibrated write driver):
        the write current is the nominal device's current for p·(1 + p_drift) instead of p.
    """

    delta: float
    i_c0: float
    tau0: float
    r_p: float
    r_ap: float
    v_read: float
    t_read: float
    t_pulse: float
    i_reset: float
    t_reset: float
    sigma_delta: float = 0.0
    sigma_ic0: float = 0.0
    stuck_at_drop_rate: float = 0.0
    stuck_at_keep_rate: float = 0.0
    v_write: float | None = None
    conditional_reset: bool = False
    p_drift: float = 0.0

    def __post_init__(self) -> None:
        positive = ("delta", "i_c0", "tau0", "r_p", "r_ap", "v_read", "t_read", "t_pulse",
                    "i_reset", "t_reset")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"MTJConfig.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("sigma_delta", "sigma_ic0", "stuck_at_drop_rate", "stuck_at_keep_rate"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"MTJConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.stuck_at_drop_rate + self.stuck_at_keep_rate > 1:
            raise ValueError("stuck_at_drop_rate + stuck_at_keep_rate must be <= 1")
        if not self.p_drift > -1:
            raise ValueError(f"MTJConfig.p_drift must be > -1 (a relative error of p), got {self.p_drift!r}")
        if self.v_write is not None and not self.v_write > 0:
            raise ValueError(f"MTJConfig.v_write must be > 0 or None, got {self.v_write!r}")

    @property
    def ideal(self) -> bool:
        """True when every module realises the target p exactly: no variation, no stuck-at
        faults, no drift. Masks drawn from an ideal device are ideal Bernoulli masks."""
        return (self.sigma_delta == self.sigma_ic0 == self.stuck_at_drop_rate == self.stuck_at_keep_rate
                == self.p_drift == 0.0)

    @property
    def tmr(self) -> float:
        """Tunnel magnetoresistance (R_AP − R_P) / R_P."""
        return (self.r_ap - self.r_p) / self.r_p


# ----------------------------------------------------------------------------- switching model

@overload
def time_constant(config: MTJConfig, current: float, delta: float | None = None,
                  i_c0: float | None = None) -> float: ...
@overload
def time_constant(config: MTJConfig, current: Tensor, delta: float | Tensor | None = None,
                  i_c0: float | Tensor | None = None) -> Tensor: ...
@overload
def time_constant(config: MTJConfig, current: float | Tensor, delta: Tensor,
                  i_c0: float | Tensor | None = None) -> Tensor: ...
@overload
def time_constant(config: MTJConfig, current: float | Tensor, delta: float | Tensor | None = None,
                  i_c0: float | Tensor | None = None) -> float | Tensor: ...
def time_constant(config: MTJConfig, current: float | Tensor, delta: float | Tensor | None = None,
                  i_c0: float | Tensor | None = None) -> float | Tensor:
    """τ = τ0 · exp(Δ · (1 − I/I_c0)); ``delta``/``i_c0`` override the nominal values (tensors ok)."""
    delta = config.delta if delta is None else delta
    i_c0 = config.i_c0 if i_c0 is None else i_c0
    x = delta * (1.0 - current / i_c0)
    return config.tau0 * (torch.exp(x) if isinstance(x, Tensor) else math.exp(x))


@overload
def p_switch(config: MTJConfig, current: float, pulse: float, delta: float | None = None,
             i_c0: float | None = None) -> float: ...
@overload
def p_switch(config: MTJConfig, current: Tensor, pulse: float | Tensor, delta: float | Tensor | None = None,
             i_c0: float | Tensor | None = None) -> Tensor: ...
@overload
def p_switch(config: MTJConfig, current: float | Tensor, pulse: float | Tensor, delta: Tensor,
             i_c0: float | Tensor | None = None) -> Tensor: ...
@overload
def p_switch(config: MTJConfig, current: float | Tensor, pulse: float | Tensor,
             delta: float | Tensor | None = None, i_c0: float | Tensor | None = None) -> float | Tensor: ...
def p_switch(config: MTJConfig, current: float | Tensor, pulse: float | Tensor,
             delta: float | Tensor | None = None, i_c0: float | Tensor | None = None) -> float | Tensor:
    """Switching probability P_sw(I, t) = 1 − exp(−t/τ) (float, or tensor if any input is one)."""
    tau = time_constant(config, current, delta, i_c0)
    if isinstance(tau, Tensor):
        return -torch.expm1(-pulse / tau)
    return -math.expm1(-pulse / tau)


def _check_p(p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"target switching probability p={p} must be in (0, 1)")


def tau_for_p(p: float, pulse: float) -> float:
    """The time constant τ at which a pulse of width ``pulse`` switches with probability p."""
    _check_p(p)
    return pulse / -math.log1p(-p)


def write_current(config: MTJConfig, p: float, pulse: float | None = None) -> float:
    """Current I that switches the nominal device with probability p in a pulse of width
    ``pulse`` (default ``config.t_pulse``): I = I_c0 · (1 − ln(τ/τ0)/Δ), τ = t/(−ln(1 − p))."""
    pulse = config.t_pulse if pulse is None else pulse
    tau = tau_for_p(p, pulse)
    return config.i_c0 * (1.0 - math.log(tau / config.tau0) / config.delta)


def pulse_width(config: MTJConfig, p: float, current: float) -> float:
    """Pulse width t that switches the nominal device with probability p at current I:
    t = −ln(1 − p) · τ0 · exp(Δ · (1 − I/I_c0))."""
    _check_p(p)
    return -math.log1p(-p) * time_constant(config, current)


# ----------------------------------------------------------------------------- energy

@dataclass(frozen=True)
class ModuleEventEnergy:
    """Energy (J) of one dropout-module event (one random draw) at drop probability ``p``."""

    p: float
    write_current: float
    write_pulse: float
    write: float
    read: float
    reset: float

    @property
    def total(self) -> float:
        return self.write + self.read + self.reset


def event_energy(config: MTJConfig, p: float) -> ModuleEventEnergy:
    """Expected energy of one write + read + reset event of a nominal module at drop probability p
    (:func:`module_event_energies` of the nominal Δ, I_c0; module docstring for the formulas).

    p = 0 means the module is never fired: no write, a read of P, no reset needed.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop probability p={p} must be in [0, 1)")
    write, read, reset = (float(e) for e in module_event_energies(config, p, nominal_parameters(config)))
    if p == 0.0:
        return ModuleEventEnergy(p, 0.0, 0.0, write, read, reset)
    return ModuleEventEnergy(p, programmed_current(config, p), config.t_pulse, write, read, reset)


# ----------------------------------------------------------------------------- variation, faults

def module_switching_probabilities(config: MTJConfig, p_target: float, shape: tuple[int, ...],
                                   generator: torch.Generator | None = None) -> Tensor:
    """Per-module drop probabilities (float64, CPU) of ``shape`` physical modules.

    Draws Δ_i, I_c0,i and the stuck-at faults with ``generator``; the write current is
    :func:`programmed_current` for ``p_target``.
    """
    if not 0.0 <= p_target < 1.0:
        raise ValueError(f"target drop probability p={p_target} must be in [0, 1)")
    params = draw_module_parameters(config, shape, generator)
    return probabilities_from_parameters(config, p_target, params)


def draw_module_parameters(config: MTJConfig, shape: tuple[int, ...],
                           generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """(Δ_i, I_c0,i, fault) of ``shape`` modules; fault = 1 stuck-at-drop, −1 stuck-at-keep, 0 none."""
    z_delta = torch.randn(shape, generator=generator, dtype=torch.float64)
    z_ic0 = torch.randn(shape, generator=generator, dtype=torch.float64)
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    # Clamp far-tail draws so a parameter never turns non-positive (only matters for σ ≳ 0.2).
    delta = (config.delta * (1.0 + config.sigma_delta * z_delta)).clamp_min(1e-3 * config.delta)
    i_c0 = (config.i_c0 * (1.0 + config.sigma_ic0 * z_ic0)).clamp_min(1e-3 * config.i_c0)
    fault = torch.zeros(shape, dtype=torch.int8)
    fault[u < config.stuck_at_drop_rate] = 1
    fault[(u >= config.stuck_at_drop_rate) & (u < config.stuck_at_drop_rate + config.stuck_at_keep_rate)] = -1
    return delta, i_c0, fault


def nominal_parameters(config: MTJConfig) -> tuple[Tensor, Tensor, Tensor]:
    """(Δ, I_c0, no fault) of one nominal module, in the form of :func:`draw_module_parameters`."""
    return (torch.tensor([config.delta], dtype=torch.float64), torch.tensor([config.i_c0], dtype=torch.float64),
            torch.zeros(1, dtype=torch.int8))


def programmed_current(config: MTJConfig, p_target: float) -> float:
    """The write current the periphery applies for target p: the nominal device's current
    (:func:`write_current`) for p·(1 + ``p_drift``), the drifted p of a miscalibrated write driver."""
    programmed = p_target * (1.0 + config.p_drift)
    if not 0.0 < programmed < 1.0:
        raise ValueError(f"p_drift={config.p_drift} moves the programmed p={p_target} to {programmed}, "
                         f"outside (0, 1): use a smaller |p_drift|")
    return write_current(config, programmed)


def probabilities_from_parameters(config: MTJConfig, p_target: float,
                                  params: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """p_i = P_sw(I_w, t_w; Δ_i, I_c0,i) with I_w = :func:`programmed_current` (0 for a target
    of 0: never fired); 1 for stuck-at-drop and 0 for stuck-at-keep modules."""
    delta, i_c0, fault = params
    if p_target == 0.0:
        p = torch.zeros_like(delta)  # never fired
    else:
        p = p_switch(config, programmed_current(config, p_target), config.t_pulse, delta, i_c0)
    p = torch.where(fault == 1, torch.ones_like(p), p)
    return torch.where(fault == -1, torch.zeros_like(p), p)


def module_event_energies(config: MTJConfig, p_target: float,
                          params: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """(write, read, reset) energy (J, float64) of one event of each module of ``params``, at its
    realised drop probability p_i (:func:`probabilities_from_parameters`).

    A healthy module i is written with I_w = :func:`programmed_current` for t_w and switches with
    its own τ_i = τ0·exp(Δ_i(1 − I_w/I_c0,i)), so (module docstring, per module)
    R_w,i = R_AP − (R_AP − R_P)·τ_i·p_i/t_w, E_write = I_w²·t_w·R_w,i, E_read = V_read²·t_read·
    (p_i/R_AP + (1 − p_i)/R_P), E_reset = I_r²·t_r·(p_i·R_r,i + (1 − p_i)·R_P) with R_r,i from
    τ_r,i = τ0·exp(Δ_i(1 − I_r/I_c0,i)). A stuck module still receives every pulse but never
    changes state: stuck-at-drop sits in AP (p_i = 1, every R = R_AP), stuck-at-keep in P
    (p_i = 0, every R = R_P). With ``v_write`` write and reset are V·I·t; with
    ``conditional_reset`` only modules read in AP (share p_i) are reset. Target 0: never fired
    (no write, no reset), a read of the module's state.
    """
    delta, i_c0, fault = params
    p = probabilities_from_parameters(config, p_target, params)
    read = config.v_read ** 2 * config.t_read * (p / config.r_ap + (1.0 - p) / config.r_p)
    if p_target == 0.0:
        return torch.zeros_like(p), read, torch.zeros_like(p)
    i_w, t_w, i_r, t_r = programmed_current(config, p_target), config.t_pulse, config.i_reset, config.t_reset
    reset_share = p if config.conditional_reset else torch.ones_like(p)
    if config.v_write is not None:
        return (torch.full_like(p, config.v_write * i_w * t_w), read,
                reset_share * config.v_write * i_r * t_r)
    stuck_r = torch.full_like(p, config.r_p).masked_fill(fault == 1, config.r_ap)
    # E[time in P]/t_w = τ·p/t_w (module docstring); the switched share p of a healthy module
    tau_w = time_constant(config, i_w, delta, i_c0)
    r_w = torch.where(fault == 0, config.r_ap - (config.r_ap - config.r_p) * tau_w * p / t_w, stuck_r)
    tau_r = time_constant(config, i_r, delta, i_c0)
    r_r = config.r_p + (config.r_ap - config.r_p) * tau_r * -torch.expm1(-t_r / tau_r) / t_r
    healthy_reset = p * r_r + (0.0 if config.conditional_reset else (1.0 - p) * config.r_p)
    r_reset = torch.where(fault == 0, healthy_reset, reset_share * stuck_r)
    return torch.full_like(p, i_w ** 2 * t_w) * r_w, read, i_r ** 2 * t_r * r_reset

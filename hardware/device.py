"""MTJ device model of a stochastic dropout module (DESIGN.md "Hardware cost model").

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
drops (p_i = 0).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from spindrop.methods.base import MASK_LEVELS



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
        if self.v_write is not None and not self.v_write > 0:
            raise ValueError(f"MTJConfig.v_write must be > 0 or None, got {self.v_write!r}")

    @property
    def tmr(self) -> float:
        """Tunnel magnetoresistance (R_AP − R_P) / R_P."""
        return (self.r_ap - self.r_p) / self.r_p


# ----------------------------------------------------------------------------- switching model

def time_constant(config: MTJConfig, current, delta=None, i_c0=None):
    """τ = τ0 · exp(Δ · (1 − I/I_c0)); ``delta``/``i_c0`` override the nominal values (tensors ok)."""
    delta = config.delta if delta is None else delta
    i_c0 = config.i_c0 if i_c0 is None else i_c0
    x = delta * (1.0 - current / i_c0)
    return config.tau0 * (torch.exp(x) if isinstance(x, Tensor) else math.exp(x))


def p_switch(config: MTJConfig, current, pulse, delta=None, i_c0=None):
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


def _avg_resistance(r_from: float, r_to: float, tau: float, pulse: float) -> float:
    """Time-average resistance over a pulse that switches r_from → r_to with time constant τ."""
    frac_from = tau * -math.expm1(-pulse / tau) / pulse  # E[min(T_sw, t)] / t
    return r_to + (r_from - r_to) * frac_from


def event_energy(config: MTJConfig, p: float) -> ModuleEventEnergy:
    """Expected energy of one write + read + reset event of a nominal module at drop probability p.

    p = 0 means the module is never fired: no write, a read of P, no reset needed.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop probability p={p} must be in [0, 1)")
    read = config.v_read ** 2 * config.t_read * (p / config.r_ap + (1.0 - p) / config.r_p)
    if p == 0.0:
        return ModuleEventEnergy(p, 0.0, 0.0, 0.0, read, 0.0)
    i_w, t_w = write_current(config, p), config.t_pulse
    reset_share = p if config.conditional_reset else 1.0
    if config.v_write is not None:
        write = config.v_write * i_w * t_w
        reset = reset_share * config.v_write * config.i_reset * config.t_reset
    else:
        r_w = _avg_resistance(config.r_p, config.r_ap, tau_for_p(p, t_w), t_w)
        write = i_w ** 2 * t_w * r_w
        tau_r = time_constant(config, config.i_reset)
        r_r = _avg_resistance(config.r_ap, config.r_p, tau_r, config.t_reset)
        r_reset = p * r_r + (0.0 if config.conditional_reset else (1.0 - p) * config.r_p)
        reset = config.i_reset ** 2 * config.t_reset * r_reset
    return ModuleEventEnergy(p, i_w, t_w, write, read, reset)


# ----------------------------------------------------------------------------- variation, masks

def module_switching_probabilities(config: MTJConfig, p_target: float, shape: tuple[int, ...],
                                   generator: torch.Generator | None = None) -> Tensor:
    """Per-module drop probabilities (float64, CPU) of ``shape`` physical modules.

    Draws Δ_i, I_c0,i and the stuck-at faults with ``generator``; the write current is the
    nominal device's current for ``p_target``.
    """
    if not 0.0 <= p_target < 1.0:
        raise ValueError(f"target drop probability p={p_target} must be in [0, 1)")
    params = draw_module_parameters(config, shape, generator)
    return probabilities_from_parameters(config, p_target, params)


def draw_module_parameters(config: MTJConfig, shape: tuple[int, ...],
                           generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """(Δ_i, I_c0,i, fault) of ``shape`` modules; fault = 1 stuck-at-drop, −1 stuck-at-keep, 0 none."""
    kw = dict(generator=generator, dtype=torch.float64)
    z_delta = torch.randn(shape, **kw)
    z_ic0 = torch.randn(shape, **kw)
    u = torch.rand(shape, **kw)
    # Clamp far-tail draws so a parameter never turns non-positive (only matters for σ ≳ 0.2).
    delta = (config.delta * (1.0 + config.sigma_delta * z_delta)).clamp_min(1e-3 * config.delta)
    i_c0 = (config.i_c0 * (1.0 + config.sigma_ic0 * z_ic0)).clamp_min(1e-3 * config.i_c0)
    fault = torch.zeros(shape, dtype=torch.int8)
    fault[u < config.stuck_at_drop_rate] = 1
    fault[(u >= config.stuck_at_drop_rate) & (u < config.stuck_at_drop_rate + config.stuck_at_keep_rate)] = -1
    return delta, i_c0, fault


def probabilities_from_parameters(config: MTJConfig, p_target: float,
                                  params: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    delta, i_c0, fault = params
    if p_target == 0.0:
        p = torch.zeros_like(delta)  # never fired
    else:
        current = write_current(config, p_target)
        p = p_switch(config, current, config.t_pulse, delta, i_c0)
    p = torch.where(fault == 1, torch.ones_like(p), p)
    return torch.where(fault == -1, torch.zeros_like(p), p)


class DeviceMaskSampler:
    """A :data:`spindrop.methods.base.MaskSampler` that draws keep bits from MTJ modules.

    On first use for a module shape ``[shape[d] for d in sorted(module_dims)]`` it draws the
    physical modules (seeded by ``seed`` and the module shape, so it does not depend on call
    order) and their drop probabilities p_i; every call then draws keep = U ≥ p_i with U from
    torch's global RNG (so ``mc_predict(seed=...)`` still controls the draws), broadcast over
    the non-module dims (repeated draws of the same modules). Like the ideal sampler, U is a
    15-bit random integer compared with round(p_i·2^15), so p_i is quantised to 2^-15.

    ``p_target``: the drop probability the write current is designed for; ``None`` uses the
    ``p`` the site passes on each call.
    """

    def __init__(self, config: MTJConfig, p_target: float | None = None, seed: int = 0) -> None:
        self.config = config
        self.p_target = p_target
        self.seed = int(seed)
        self._params: dict[tuple[int, ...], tuple[Tensor, Tensor, Tensor]] = {}
        self._p: dict[tuple, Tensor] = {}

    def __repr__(self) -> str:
        return f"DeviceMaskSampler(p_target={self.p_target}, seed={self.seed})"

    def _module_seed(self, module_shape: tuple[int, ...]) -> int:
        return zlib.crc32(repr((self.seed, module_shape)).encode())

    def module_parameters(self, module_shape: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
        """(Δ_i, I_c0,i, fault) of the modules of ``module_shape`` (drawn once, then cached)."""
        module_shape = tuple(int(n) for n in module_shape)
        if module_shape not in self._params:
            gen = torch.Generator().manual_seed(self._module_seed(module_shape))
            self._params[module_shape] = draw_module_parameters(self.config, module_shape, gen)
        return self._params[module_shape]

    def module_p(self, module_shape: tuple[int, ...], p: float | None = None) -> Tensor:
        """Per-module drop probabilities (float64, CPU) for target ``p`` (default ``p_target``)."""
        target = self.p_target if p is None else p
        if target is None:
            raise ValueError("no target p: pass p or construct the sampler with p_target")
        return self._cached_p(tuple(int(n) for n in module_shape), float(target), torch.device("cpu"),
                              torch.float64)

    def _cached_p(self, module_shape, target, device, dtype) -> Tensor:
        key = (module_shape, target, str(device), dtype)
        if key not in self._p:
            cpu = self._p.get((module_shape, target, "cpu", torch.float64))
            if cpu is None:
                cpu = probabilities_from_parameters(self.config, target, self.module_parameters(module_shape))
                self._p[(module_shape, target, "cpu", torch.float64)] = cpu
            if dtype == torch.int32:  # thresholds on the 15-bit grid of ideal_keep_mask
                thr = torch.round(cpu * MASK_LEVELS)
                # int16 compares faster; only p_i = 1 (threshold 2^15) needs int32
                small = thr.numel() == 0 or thr.max().item() < MASK_LEVELS
                self._p[key] = thr.to(device=device, dtype=torch.int16 if small else torch.int32)
            else:
                self._p[key] = cpu.to(device=device, dtype=dtype)
        return self._p[key]

    def __call__(self, shape: tuple[int, ...], module_dims: tuple[int, ...], p: float,
                 device: torch.device) -> Tensor:
        target = float(p if self.p_target is None else self.p_target)
        dims = sorted(int(d) % len(shape) for d in module_dims) if shape else []
        module_shape = tuple(shape[d] for d in dims)
        threshold = self._cached_p(module_shape, target, torch.device(device), torch.int32)
        view = [shape[d] if d in dims else 1 for d in range(len(shape))]
        # As ideal_keep_mask: R uniform on 15 bits, keep = R ≥ round(p_i·2^15), so p_i is quantised
        # to 2^-15; p_i = 1 (stuck-at-drop) gives threshold 2^15 > every R: always dropped.
        r = torch.empty(shape, dtype=torch.int16, device=device).random_()
        return r >= threshold.reshape(view)


def attach_device(model: nn.Module, config: MTJConfig | None = None, seed: int = 0,
                  p_target: float | None = None) -> nn.Module:
    """Draw every dropout site's keep bits from its own MTJ modules (in place; returns ``model``).

    One :class:`DeviceMaskSampler` per site (different physical modules per layer), seeded
    ``seed + i`` for the i-th site. ``config`` defaults to the default preset's MTJ. Call
    after the method is attached (``method.attach(model)``).
    """
    from spindrop import sites

    if config is None:
        from .presets import DEFAULT
        config = DEFAULT.mtj
    for i, site in enumerate(sites(model)):
        site.sampler = DeviceMaskSampler(config, p_target, seed + i)
    return model


def detach_device(model: nn.Module) -> nn.Module:
    """Restore the ideal Bernoulli sampler on every dropout site (in place)."""
    from spindrop import sites
    from spindrop.methods.base import ideal_keep_mask

    for site in sites(model):
        site.sampler = ideal_keep_mask
    return model

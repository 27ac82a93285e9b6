"""Keep bits drawn by the MTJ device model (:mod:`hardware.device`) in place of ideal Bernoulli bits.

A :class:`DeviceMaskSampler` implements the :data:`spindrop.methods.base.MaskSampler` protocol:
``sampler(shape, module_dims, p, device)``. ``module_dims`` name the dimensions of ``shape`` that
index *physical* modules (the site decides them, so the method's fault semantics follow from it,
docs/hardware.md "Fault and variation models"): SpinDrop's word lines (C_in, k_h, k_w), Spatial's
channels (C_in), MC-Dropout's input elements (C, H, W), Scale-Dropout's single unit (no dims).
The other dimensions (images, window positions) are repeated draws of the same modules, so a
stuck module is stuck in every one of them.

:func:`attach_device` gives every dropout site its own sampler (different physical modules per
layer), except sites of a shared unit (:attr:`spindrop.methods.base.DropoutSite.shared_unit`,
Scale-Dropout), which all get *one* sampler: one physical module for the whole model, as the
cost model counts it. :func:`device_masks` does the same for the duration of a ``with`` block.
"""
from __future__ import annotations

import copy
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from spindrop.binary import binary_layers
from spindrop.mc import mc_sampling
from spindrop.methods.base import (
    MASK_LEVELS,
    Method,
    dropout_sites,
    ideal_keep_mask,
    uniform_levels,
)

from .device import (
    ModuleEventEnergy,
    MTJConfig,
    draw_module_parameters,
    module_event_energies,
    probabilities_from_parameters,
    programmed_current,
)
from .presets import DEFAULT


class DeviceMaskSampler:
    """A :data:`spindrop.methods.base.MaskSampler` that draws keep bits from MTJ modules.

    On first use for a module shape ``[shape[d] for d in sorted(module_dims)]`` it draws the
    physical modules (seeded by ``seed`` and the module shape, so it does not depend on call
    order) and their drop probabilities p_i; every call then draws keep = U ≥ p_i with U from
    torch's global RNG (so ``mc_predict(seed=...)`` still controls the draws), broadcast over
    the non-module dims (repeated draws of the same modules). Like the ideal sampler, U is an
    8-bit random integer compared with round(p_i·2^8), so p_i is quantised to 2^-8.

    ``p_target``: the drop probability the write current is designed for; ``None`` uses the
    ``p`` the site passes on each call.
    """

    def __init__(self, config: MTJConfig, p_target: float | None = None, seed: int = 0) -> None:
        self.config = config
        self.p_target = p_target
        self.seed = int(seed)
        self._params: dict[tuple[int, ...], tuple[Tensor, Tensor, Tensor]] = {}
        self._p: dict[tuple[tuple[int, ...], float, str, torch.dtype], Tensor] = {}
        self.targets: set[float] = set()
        """Target p of every call so far (what :func:`layer_events` prices)."""

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

    def drawn_modules(self) -> tuple[Tensor, Tensor, Tensor]:
        """(Δ_i, I_c0,i, fault), flattened, of every module this sampler has drawn so far."""
        params = list(self._params.values())
        return tuple(torch.cat([p[k].reshape(-1) for p in params]) for k in range(3))  # type: ignore[return-value]

    def module_p(self, module_shape: tuple[int, ...], p: float | None = None) -> Tensor:
        """Per-module drop probabilities (float64, CPU) for target ``p`` (default ``p_target``)."""
        target = self.p_target if p is None else p
        if target is None:
            raise ValueError("no target p: pass p or construct the sampler with p_target")
        return self._cached_p(tuple(int(n) for n in module_shape), float(target), torch.device("cpu"),
                              torch.float64)

    def _cached_p(self, module_shape: tuple[int, ...], target: float, device: torch.device,
                  dtype: torch.dtype) -> Tensor:
        key = (module_shape, target, str(device), dtype)
        if key not in self._p:
            cpu = self._p.get((module_shape, target, "cpu", torch.float64))
            if cpu is None:
                cpu = probabilities_from_parameters(self.config, target, self.module_parameters(module_shape))
                self._p[(module_shape, target, "cpu", torch.float64)] = cpu
            if dtype == torch.int32:  # thresholds on the 8-bit grid of ideal_keep_mask
                thr = torch.round(cpu * MASK_LEVELS)
                # int16 compares faster; only p_i = 1 (threshold 2^8) needs int32
                small = thr.numel() == 0 or thr.max().item() < MASK_LEVELS
                self._p[key] = thr.to(device=device, dtype=torch.int16 if small else torch.int32)
            else:
                self._p[key] = cpu.to(device=device, dtype=dtype)
        return self._p[key]

    def module_thresholds(self, module_shape: tuple[int, ...], p: float, device: torch.device) -> Tensor:
        """round(p_i·2^8) of the modules of ``module_shape`` for the site's ``p`` (``p_target`` when
        set): keep = U ≥ threshold with U uniform on 8 bits, 2^8 for a module stuck at drop. A
        caller that draws U itself (SpinDrop's compiled kernel) realises the same modules."""
        target = float(p if self.p_target is None else self.p_target)
        self.targets.add(target)
        return self._cached_p(tuple(int(n) for n in module_shape), target, torch.device(device), torch.int32)

    def __call__(self, shape: tuple[int, ...], module_dims: tuple[int, ...], p: float,
                 device: torch.device) -> Tensor:
        dims = sorted(int(d) % len(shape) for d in module_dims) if shape else []
        threshold = self.module_thresholds(tuple(shape[d] for d in dims), p, device)
        view = [shape[d] if d in dims else 1 for d in range(len(shape))]
        # As ideal_keep_mask: U uniform on 8 bits, keep = U ≥ round(p_i·2^8), so p_i is quantised
        # to 2^-8; p_i = 1 (stuck-at-drop) gives threshold 2^8 > every U: always dropped.
        return uniform_levels(shape, torch.device(device)) >= threshold.reshape(view)


def attach_device(model: nn.Module, config: MTJConfig | None = None, seed: int = 0,
                  p_target: float | None = None) -> nn.Module:
    """Draw every dropout site's keep bits from MTJ modules (in place; returns ``model``).

    One :class:`DeviceMaskSampler` per site, seeded ``seed + i`` for the i-th sampler, except
    that every site with ``shared_unit`` shares one sampler (the first such site's seed): one
    physical unit for the whole model. ``config`` defaults to the default preset's MTJ. Call
    after the method is attached (``method.attach(model)``).
    """
    config = DEFAULT.mtj if config is None else config
    shared: DeviceMaskSampler | None = None
    i = 0
    for site in dropout_sites(model):
        if site.shared_unit and shared is not None:
            site.sampler = shared
            continue
        site.sampler = DeviceMaskSampler(config, p_target, seed + i)
        i += 1
        if site.shared_unit:
            shared = site.sampler
    return model


def detach_device(model: nn.Module) -> nn.Module:
    """Restore the ideal Bernoulli sampler on every dropout site (in place)."""
    for site in dropout_sites(model):
        site.sampler = ideal_keep_mask
    return model


@contextmanager
def device_masks(model: nn.Module, config: MTJConfig | None, seed: int = 0) -> Iterator[nn.Module]:
    """Within the block, ``model``'s masks come from ``config``'s modules (chip ``seed``); the
    samplers the sites had before are restored on exit. ``config`` None: nothing changes."""
    before = [(s, s.sampler) for s in dropout_sites(model)]
    if config is not None:
        attach_device(model, config, seed)
    try:
        yield model
    finally:
        for site, sampler in before:
            site.sampler = sampler


def layer_events(model: nn.Module, method: Method, input_shape: tuple[int, ...], config: MTJConfig,
                 seed: int = 0) -> dict[str, ModuleEventEnergy]:
    """Mean event energy of each binary layer's dropout modules on chip ``seed``, by layer name.

    A copy of ``model`` gets ``method`` and :func:`attach_device` (``config``, ``seed``: the modules
    the measured suites' masks come from) and runs one MC pass of a zero image, which draws every
    site's modules. A layer's draws spread evenly over its modules (every method here draws each
    of a layer's modules equally often), so its mean energy per draw is the mean over its modules
    of :func:`hardware.device.module_event_energies` at their realised p_i; the returned
    ``ModuleEventEnergy.p`` is that mean p_i.
    """
    net = method.attach(copy.deepcopy(model))
    attach_device(net, config, seed)
    net.eval()
    with torch.no_grad(), mc_sampling(net):
        net(torch.zeros((1, *input_shape)))
    events = {}
    for name, layer in binary_layers(net):
        sampler = getattr(layer.site, "sampler", None)
        if not isinstance(sampler, DeviceMaskSampler) or not sampler.targets:
            continue
        (target,) = sampler.targets
        params = sampler.drawn_modules()
        write, read, reset = (float(e.mean()) for e in module_event_energies(config, target, params))
        p_mean = float(probabilities_from_parameters(config, target, params).mean())
        fired = target > 0
        events[name] = ModuleEventEnergy(p_mean, programmed_current(config, target) if fired else 0.0,
                                         config.t_pulse if fired else 0.0, write, read, reset)
    return events

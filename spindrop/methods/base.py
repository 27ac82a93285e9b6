"""The method interface: how a dropout scheme perturbs a binary network and how the
hardware realises it.

A method installs a :class:`DropoutSite` on every *dropout site* of a model: the input of
every binary-input layer (every crossbar layer after the first, docs/design.md "How a method attaches"). The
site takes over the layer's MAC, so it can gate binarised inputs (a gated word line adds 0 to
the column current, so a dropped ±1 becomes 0) or perturb the MAC output.

Sites are stochastic in training mode and, in eval mode, only while MC sampling is on
(:func:`spindrop.mc.mc_sampling`). Otherwise they return the expectation of the perturbed
MAC (dropped inputs scaled by 1 − p), so a deterministic pass sees the input statistics the
network was trained on.

For the cost model a method declares, per binary layer, the number of physical dropout
modules and the number of random draws per MC forward pass (:class:`LayerHardware`), plus any
modules shared across the model.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import torch
from torch import Tensor, nn

from ..binary import BinaryLayer, binary_layers
from ..geometry import LayerGeometry, trace_geometry
from ..kernels import levels
from .params import check_param_types

MaskSampler = Callable[[tuple[int, ...], tuple[int, ...], float, torch.device], Tensor]
"""``sampler(shape, module_dims, p, device) -> keep`` (bool tensor of ``shape``).

``module_dims`` are the dimensions of ``shape`` that index physical dropout modules; the
other dimensions are repeated draws of the same modules. The ideal sampler ignores it; the
device model (:mod:`hardware.device`) uses it to give each physical module its own p.

A sampler whose bits are keep = U ≥ t_i (U uniform on 8 bits, t_i fixed per module) may also have
``module_thresholds(module_shape, p, device) -> Tensor`` (the integer t_i, 0…2^8, of
``module_shape``): SpinDrop's compiled kernel then draws the bits itself
(:class:`spindrop.methods.sites.WordLineSite`).
"""


MASK_BITS = 8
MASK_LEVELS = 1 << MASK_BITS
"""Keep bits compare uniform integers on {0, …, 2^8 − 1} with a threshold, so a drop
probability is realised as round(p·2^8)/2^8: |error| ≤ 2^-9 (docs/performance.md)."""


def uniform_levels(shape: tuple[int, ...], device: torch.device) -> Tensor:
    """Uniform integers on {0, …, MASK_LEVELS − 1} (uint8) of ``shape``.

    One full-range 64-bit word gives eight independent 8-bit lanes: 3–4× faster than one int16
    draw per element on the CPU (docs/performance.md). On the CPU the words come from the compiled
    counter-based generator (:func:`spindrop.kernels.levels.random_words`, seeded by one draw of
    torch's generator), elsewhere (or without a compiler) from torch's ``random_``.
    """
    n = math.prod(shape)
    if device.type == "cpu" and levels.available():
        words = levels.random_words((n + 7) // 8)
    else:
        words = torch.empty((n + 7) // 8, dtype=torch.int64, device=device).random_(-(1 << 63), None)
    return words.view(torch.uint8)[:n].view(shape)


def keep_threshold(p: float) -> int:
    """Integer threshold t = round(p·2^8): keep = U ≥ t with U from :func:`uniform_levels`."""
    return round(p * MASK_LEVELS)


def ideal_keep_mask(shape: tuple[int, ...], module_dims: tuple[int, ...], p: float,
                    device: torch.device) -> Tensor:
    """Ideal Bernoulli keep bits: keep = U ≥ round(p·2^8), U uniform on 8 bits.

    P(keep) = 1 − round(p·2^8)/2^8, i.e. p is quantised to 2^-8 (|error| ≤ 2^-9 = 0.002);
    ``module_dims`` is ignored (every module has the same p).
    """
    return uniform_levels(shape, device) >= keep_threshold(p)


@dataclass(frozen=True)
class DropoutConfig:
    """Parameters shared by the Bernoulli dropout methods.

    p: drop probability of one dropout module per draw, in [0, 1).
    rescale: multiply kept inputs by 1/(1 − p) (inverted dropout). Off by default: BatchNorm
        follows every binary layer (docs/design.md "Interpretations"); a deterministic pass then scales by 1 − p.
    GRID: the tuning protocol's grid (:mod:`spindrop.tuning`): p from light to heavy dropout.
    """

    GRID: ClassVar[dict[str, tuple[object, ...]]] = {"p": (0.05, 0.1, 0.2, 0.3)}
    p: float = 0.2
    rescale: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"dropout probability p={self.p} is outside [0, 1): pass e.g. --p 0.2")


@dataclass(frozen=True)
class NoParams:
    """A method without parameters."""


@dataclass(frozen=True)
class LayerHardware:
    """Physical dropout modules of one layer, random draws per image per MC pass, and multiplies of
    the layer's outputs per image per pass (e.g. Scale-Dropout's α: one per output, C_out·H_out·W_out)."""

    modules: int
    draws: int
    multiplies: int = 0


@dataclass(frozen=True)
class Member:
    """A trained network another method is made of (:meth:`Method.members`): its method, its
    parameters and its training seed."""

    method: str
    params: tuple[tuple[str, object], ...]
    seed: int


@dataclass(frozen=True)
class HardwarePlan:
    """A method's hardware realisation on one model.

    ``layers`` pairs each binary layer's geometry with its modules and draws;
    ``shared_modules`` counts modules reused across layers (not attributed to one layer);
    ``copies``: how many times the whole plan is built side by side (a deep ensemble's M crossbar
    copies, one per member): the cost model scales every per-copy term by it.
    """

    layers: tuple[tuple[LayerGeometry, LayerHardware], ...]
    shared_modules: int = 0
    copies: int = 1

    @property
    def total_modules(self) -> int:
        return self.copies * (self.shared_modules + sum(hw.modules for _, hw in self.layers))

    @property
    def total_draws(self) -> int:
        return self.copies * sum(hw.draws for _, hw in self.layers)


class DropoutSite(nn.Module):
    """Base class of the module a method installs on a binary-input layer.

    Subclasses implement :meth:`sample` (stochastic MAC) and :meth:`expected` (deterministic
    MAC). ``mc`` turns sampling on in eval mode. Every row of a batch is its own pass of one
    image (the hardware evaluates one image at a time), so draws are per image. ``sampler`` draws
    the keep bits (ideal Bernoulli unless a device model is attached).
    ``shared_unit``: the draws of every such site of a model come from one physical module
    (``hardware.attach_device`` gives them one sampler).
    """

    shared_unit: ClassVar[bool] = False

    def __init__(self, config: DropoutConfig) -> None:
        super().__init__()
        self.config = config
        self.mc = False
        self.sampler: MaskSampler = ideal_keep_mask

    @property
    def stochastic(self) -> bool:
        return self.training or self.mc

    def keep_multiplier(self, shape: tuple[int, ...], module_dims: tuple[int, ...], dtype: torch.dtype,
                        device: torch.device) -> Tensor:
        """Float mask of ``shape``: 1 for a kept entry (1/(1 − p) when rescaling), 0 for a dropped
        one. Bits from the sampler; with the ideal sampler the uniform levels are converted to
        ``dtype`` and compared in place, so the float mask is written without a bool
        intermediate (a bool mask and ``torch.where`` cost ~4× more, a comparison into a float
        ``out`` ~1.4× more on the CPU, docs/performance.md).
        """
        if self.sampler is ideal_keep_mask:
            mask = uniform_levels(shape, device).to(dtype).ge_(keep_threshold(self.config.p))
        else:
            mask = self.sampler(shape, module_dims, self.config.p, device).to(dtype)
        return mask.mul_(1.0 / (1.0 - self.config.p)) if self.config.rescale else mask

    def keep_bits(self, shape: tuple[int, ...], module_dims: tuple[int, ...],
                  device: torch.device) -> tuple[Tensor, int]:
        """The bits :meth:`keep_multiplier` draws, as (bytes, threshold): keep iff byte ≥ threshold.
        The same draws from the same generator state (the bit-packed path, docs/performance.md)."""
        if self.sampler is ideal_keep_mask:
            return uniform_levels(shape, device), keep_threshold(self.config.p)
        return self.sampler(shape, module_dims, self.config.p, device), 1

    def packed_forward(self, layer: BinaryLayer, x: Tensor) -> Tensor | None:
        """This site's output computed by ``layer.packed_mac`` on the un-binarised ``x``, or None
        where the site has no bit-packed form (then :meth:`forward` runs). Bit-packed inputs are
        ternary: a site opts in only where its gated input is ±1 or 0 (no rescaling)."""
        return None

    def gate(self, x: Tensor, shape: tuple[int, ...], module_dims: tuple[int, ...]) -> Tensor:
        """``x`` with the dropped entries set to 0: keep bits of ``shape`` (broadcast against
        ``x``) from :meth:`keep_multiplier`; kept entries × 1/(1 − p) when rescaling."""
        return x * self.keep_multiplier(shape, module_dims, x.dtype, x.device)

    def input_expectation(self) -> float:
        """E[keep multiplier]: 1 − p without rescaling, 1 with it."""
        return 1.0 if self.config.rescale else 1.0 - self.config.p

    def forward(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        return self.sample(layer, x) if self.stochastic else self.expected(layer, x)

    def sample(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        raise NotImplementedError

    def expected(self, layer: BinaryLayer, x: Tensor) -> Tensor:
        return layer.mac(x * self.input_expectation())


class Method:
    """A dropout scheme. Subclass, set ``name``/``Config``, and register with
    :func:`spindrop.register_method`.

    Constructing a method validates its parameters: ``get_method("spatial", p=0.1)``.
    """

    name: ClassVar[str]
    Config: ClassVar[type] = DropoutConfig
    stochastic: ClassVar[bool] = True
    summary: ClassVar[str] = ""

    def __init__(self, **params: object) -> None:
        known = {f.name for f in fields(self.Config)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"method '{self.name}' has no parameter(s) {unknown}; "
                             f"its parameters are {sorted(known) or 'none'}")
        self.config = self.Config(**check_param_types(self.name, self.Config, params))

    def params(self) -> dict[str, object]:
        """Parameters by name, as they appear in results."""
        return asdict(self.config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}({args})"

    def members(self, seed: int) -> tuple[Member, ...]:
        """The trained networks this method combines for its training seed ``seed`` (e.g. a deep
        ensemble's members); empty, the default: it is one network, trained with its own sites."""
        return ()

    def combine(self, networks: list[nn.Module]) -> nn.Module:
        """One network from the trained ``networks`` of :meth:`members`, in their order."""
        raise NotImplementedError(f"method '{self.name}' is one network; it has no members to combine")

    def grid(self) -> dict[str, tuple[object, ...]]:
        """The tunable parameters and the values the tuning protocol tries (:mod:`spindrop.tuning`),
        declared beside the method's parameters as its ``Config.GRID``; none by default."""
        return dict(getattr(self.Config, "GRID", {}))

    def make_site(self, layer: BinaryLayer) -> DropoutSite | None:
        """The site to install on a binary-input layer, or ``None`` for no perturbation."""
        return None

    def layer_hardware(self, geom: LayerGeometry) -> LayerHardware:
        """Modules and draws of one binary-input layer (other layers have none)."""
        return LayerHardware(0, 0)

    def shared_modules(self, sites: list[LayerGeometry]) -> int:
        """Modules shared by the whole model (e.g. one unit reused layer after layer)."""
        return 0

    def attach(self, model: nn.Module) -> nn.Module:
        """Install this method's sites on every binary-input layer of ``model`` (in place)."""
        for _, layer in binary_layers(model):
            layer.site = self.make_site(layer) if layer.binary_input else None
        return model

    def hardware_plan(self, model: nn.Module, input_shape: tuple[int, ...]) -> HardwarePlan:
        """Per-layer modules and draws for ``model`` on inputs of ``input_shape`` (C, H, W)."""
        geoms = trace_geometry(model, input_shape)
        layers = tuple((g, self.layer_hardware(g) if g.binary_input else LayerHardware(0, 0))
                       for g in geoms)
        return HardwarePlan(layers, self.shared_modules([g for g in geoms if g.binary_input]))


def dropout_sites(model: nn.Module) -> list[DropoutSite]:
    """All dropout sites installed on ``model``."""
    return [m for m in model.modules() if isinstance(m, DropoutSite)]

"""Shared helpers of the core tests (imported relatively: ``from .helpers import ...``)."""
from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import torch
from torch import nn

import spindrop
from spindrop import registry
from spindrop.methods.base import DropoutSite
from spindrop.models import model_info

from .model_example import example_model


def registered_models() -> list[str]:
    """The model registry with the test-only example model installed, read at collection."""
    with example_model():
        return spindrop.list_models()


# Model name -> its registered smallest test input shape (C, H, W), for every registered model:
# vgg_small and resnet18 run on 8×8 here (every layer kind is exercised); test_hardware_plan.py
# uses the real 32×32.
with example_model():
    MODEL_SHAPES: dict[str, tuple[int, int, int]] = {name: model_info(name).test_shape
                                                     for name in spindrop.list_models()}
WIDTH = 0.125
NUM_CLASSES = 10


def binomial_ok(k: int | float, n: int, p_event: float, sigmas: float = 4.0) -> tuple[bool, str]:
    """|k − n·q| ≤ 4·sqrt(n·q·(1 − q)) for k successes out of n with success probability q."""
    mean = n * p_event
    bound = sigmas * math.sqrt(n * p_event * (1.0 - p_event))
    gap = abs(float(k) - mean)
    return gap <= bound, f"k={float(k)} n={n} q={p_event}: |k-nq|={gap:.2f} > {bound:.2f}"


def keep_rate_ok(kept: int | float, n: int, p: float) -> tuple[bool, str]:
    """Keep count within the 4-sigma binomial bound of n·(1 − p)."""
    return binomial_ok(kept, n, 1.0 - p)


def has_param(method_name: str, param: str) -> bool:
    return param in {f.name for f in fields(spindrop.method_class(method_name).Config)}


@torch.no_grad()
def randomize_(model: nn.Module, in_shape: tuple[int, ...], seed: int = 0) -> nn.Module:
    """Make an untrained model look trained enough for the perturbations to reach the logits:
    random BatchNorm affine parameters and dropout-site parameters (e.g. the Scale-Dropout α,
    which at its init 1 equals the dropped value), then BatchNorm running statistics measured
    on a random batch in training mode (sites sampling), so eval-mode activations are
    normalised and the class probabilities are not saturated."""
    g = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
        m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.5)
    for m in model.modules():
        if isinstance(m, DropoutSite):
            for prm in m.parameters():
                if prm.is_floating_point():
                    prm.copy_(torch.rand(prm.shape, generator=g) + 0.5)
    was_training, momenta = model.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batch
    model.train()
    model(torch.randn((16, *in_shape), generator=g))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)
    return model


def build(model_name: str, method_name: str, seed: int = 0, width: float = WIDTH,
          in_shape: tuple[int, int, int] | None = None,
          **params) -> tuple[nn.Module, spindrop.Method, tuple[int, int, int]]:
    """A small model of ``model_name`` with ``method_name`` attached and randomized BN/site state."""
    shape = tuple(in_shape or MODEL_SHAPES[model_name])
    # CPU generator only: torch.manual_seed also queues lazy CUDA/XPU/MTIA seeding with a
    # captured stack trace, milliseconds per call on a CPU-only build.
    torch.random.default_generator.manual_seed(seed)
    model = spindrop.build_model(model_name, shape, NUM_CLASSES, width)
    method = spindrop.get_method(method_name, **params)
    method.attach(model)
    randomize_(model, shape, seed)
    return model, method, shape


def sylvester_hadamard(n: int) -> torch.Tensor:
    """±1 Hadamard matrix of order n (a power of 2): H·Hᵀ = n·I, so H is exactly invertible."""
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    assert h.shape[0] == n, "n must be a power of 2"
    return h


class SamplerRecorder:
    """Wraps the samplers of dropout sites and records every call (shape, module_dims, bits)."""

    def __init__(self) -> None:
        self.calls: dict[int, list[tuple[tuple[int, ...], tuple[int, ...], torch.Tensor]]] = {}

    def wrap(self, site: DropoutSite) -> None:
        inner = site.sampler
        log = self.calls.setdefault(id(site), [])

        def recording_sampler(shape, module_dims, p, device):
            bits = inner(shape, module_dims, p, device)
            log.append((tuple(shape), tuple(module_dims), bits.detach().clone()))
            return bits

        site.sampler = recording_sampler

    def of(self, site: DropoutSite):
        return self.calls.get(id(site), [])


# ------------------------------------------------------------ the example plugin package
# plugin_example/ holds a package and its *.dist-info declaring, in group spindrop.methods,
# ``my_method = spindrop_example_plugin.my_method``: with the folder on sys.path,
# importlib.metadata sees it exactly as it sees a pip-installed package.
PLUGIN_ROOT = Path(__file__).parent / "plugin_example"
PLUGIN_PACKAGE = "spindrop_example_plugin"
PLUGIN_METHOD = "my_method"


@contextmanager
def example_plugin() -> Iterator[None]:
    """Install the example plugin as an entry-point package for the duration of the block."""
    root = str(PLUGIN_ROOT)
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    try:
        registry.discover(refresh=True)
        yield
    finally:
        sys.path.remove(root)
        importlib.invalidate_caches()
        registry._REGISTRY.pop(PLUGIN_METHOD, None)
        for mod in [m for m in sys.modules if m == PLUGIN_PACKAGE or m.startswith(PLUGIN_PACKAGE + ".")]:
            del sys.modules[mod]


_METHODS: list[str] | None = None


def registered_methods() -> list[str]:
    """The registry's methods with the example plugin installed, read once (at collection)."""
    global _METHODS
    if _METHODS is None:
        with example_plugin():
            _METHODS = spindrop.list_methods()
    return list(_METHODS)

"""MC inference against the peer (goal 1 of issue 13, docs/performance.md).

The peer is torch-uncertainty's MC-Dropout wrapper (ENSTA-U2IS-AI/torch-uncertainty,
``torch_uncertainty/models/wrappers/mc_dropout.py``, formerly ``models/mc_dropout.py``): the
network carries ``nn.Dropout`` modules that stay in train mode at evaluation, and T samples
come either from the batch repeated T times (``on_batch=True``) or from a Python loop of T
passes. Re-implemented here in a few lines on the same binary network, with an ``nn.Dropout``
before every binary-input layer (where our sites act). Ours: ``mc_dropout`` through
:func:`spindrop.mc_predict`.
"""
import pytest
import torch
from torch import nn

import spindrop
from spindrop.binary import BinaryLayer
from spindrop.mc import DEFAULT_MODE

from .conftest import full_size, ratio_gate

NETWORKS = {"lenet5_x2": ("lenet5", (1, 28, 28), 2.0), "vgg_small_x1/8": ("vgg_small", (3, 32, 32), 0.125),
            "vgg_small_x1/2": ("vgg_small", (3, 32, 32), 0.5)}
OTHER = {"loop": "batched", "batched": "loop"}


def _sizes(benchmark) -> tuple[int, int]:
    """(batch, T): the issue's 128 × 20 when gating, 8 × 2 in the smoke run."""
    return (128, 20) if full_size(benchmark) else (8, 2)


def _ours(net: str, method: str = "mc_dropout") -> nn.Module:
    name, shape, width = NETWORKS[net]
    torch.manual_seed(0)
    return spindrop.get_method(method).attach(spindrop.build_model(name, shape, width=width)).eval()


def _peer(net: str, p: float = 0.2) -> nn.Module:
    name, shape, width = NETWORKS[net]
    torch.manual_seed(0)
    model = spindrop.build_model(name, shape, width=width)
    stages = [nn.Sequential(nn.Dropout(p), m) if isinstance(m, BinaryLayer) and m.binary_input else m
              for m in model]
    model = nn.Sequential(*stages).eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()  # the wrapper keeps its dropout modules in train mode at evaluation
    return model


def peer_modes(model: nn.Module, x: torch.Tensor, T: int) -> dict:
    @torch.no_grad()
    def repeat():
        return model(x.repeat(T, *([1] * (x.dim() - 1))))

    @torch.no_grad()
    def loop():
        return torch.cat([model(x) for _ in range(T)])
    return {"peer_repeat": repeat, "peer_loop": loop}


@pytest.mark.parametrize("net", list(NETWORKS))
def test_mc_faster_than_peer(benchmark, net):
    """Ours (default mode) ≥ 1.5× faster than the peer's faster mode."""
    batch, T = _sizes(benchmark)
    x = torch.randn(batch, *NETWORKS[net][1])
    ours = _ours(net)
    ratio_gate(benchmark, lambda: spindrop.mc_predict(ours, x, T=T), peer_modes(_peer(net), x, T),
               max_ratio=1 / 1.5, rounds=3)


@pytest.mark.parametrize("net", list(NETWORKS))
def test_default_mode_within_5_percent(benchmark, net):
    batch, T = _sizes(benchmark)
    model, x = _ours(net), torch.randn(batch, *NETWORKS[net][1])
    ratio_gate(benchmark, lambda: spindrop.mc_predict(model, x, T=T, mode=DEFAULT_MODE),
               lambda: spindrop.mc_predict(model, x, T=T, mode=OTHER[DEFAULT_MODE]), max_ratio=1.05, rounds=3)


def test_prefix_reuse_not_slower(benchmark):
    batch, T = _sizes(benchmark)
    model, x = _ours("lenet5_x2", "spatial"), torch.randn(2 * batch, 1, 28, 28)
    ratio_gate(benchmark, lambda: spindrop.mc_predict(model, x, T=T, reuse_prefix=True),
               lambda: spindrop.mc_predict(model, x, T=T, reuse_prefix=False), max_ratio=1.0)

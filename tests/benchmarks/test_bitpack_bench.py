"""Bit-packed MC inference (issue 25, docs/performance.md "The bit-packed inference path").

Per stochastic method on VGG-small ×1/8 and ×1/2 (T = 20, batch 128): the bit-packed path
(:func:`spindrop.mc_predict` as it runs by default) against today's fp32 path (the same call with
:func:`spindrop.kernels.bitpack.turned_off`: ≥ 4× faster) and against the peer's faster MC mode
(torch-uncertainty's MC-Dropout wrapper, re-implemented as in ``test_mc_bench.py``: ≥ 5× faster);
SpinDrop within 1.5× of MC-Dropout on the new path. Candidate and baselines interleave
(:func:`ratio_gate`).
"""
import pytest
import torch
from torch import nn

import spindrop
from spindrop.kernels import bitpack

from .conftest import full_size, ratio_gate
from .test_mc_bench import NETWORKS, _peer, peer_modes

GATED = ["vgg_small_x1/8", "vgg_small_x1/2"]
METHODS = [m for m in spindrop.list_methods() if spindrop.method_class(m).stochastic]

pytestmark = pytest.mark.skipif(not bitpack.available(), reason="no C compiler: the bit-packed kernel is not built")


def _sizes(benchmark) -> tuple[int, int]:
    """(batch, T): the issue's 128 × 20 when gating, 8 × 2 in the smoke run."""
    return (128, 20) if full_size(benchmark) else (8, 2)


def _ours(net: str, method: str) -> nn.Module:
    name, shape, width = NETWORKS[net]
    torch.manual_seed(0)
    return spindrop.get_method(method).attach(spindrop.build_model(name, shape, width=width)).eval()


def _fp32(model: nn.Module, x: torch.Tensor, T: int) -> spindrop.MCOutput:
    with bitpack.turned_off():
        return spindrop.mc_predict(model, x, T=T)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("net", GATED)
def test_packed_mc_4x_faster_than_fp32(benchmark, net, method):
    batch, T = _sizes(benchmark)
    model, x = _ours(net, method), torch.randn(batch, *NETWORKS[net][1])
    ratio_gate(benchmark, lambda: spindrop.mc_predict(model, x, T=T), {"fp32": lambda: _fp32(model, x, T)},
               max_ratio=1 / 4, rounds=3)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("net", GATED)
def test_packed_mc_5x_faster_than_peer(benchmark, net, method):
    batch, T = _sizes(benchmark)
    model, x = _ours(net, method), torch.randn(batch, *NETWORKS[net][1])
    ratio_gate(benchmark, lambda: spindrop.mc_predict(model, x, T=T), peer_modes(_peer(net), x, T),
               max_ratio=1 / 5, rounds=3)


@pytest.mark.parametrize("net", GATED)
def test_packed_spindrop_within_1_5x_of_mc_dropout(benchmark, net):
    batch, T = _sizes(benchmark)
    x = torch.randn(batch, *NETWORKS[net][1])
    spindrop_model, mc_dropout_model = _ours(net, "spindrop"), _ours(net, "mc_dropout")
    ratio_gate(benchmark, lambda: spindrop.mc_predict(spindrop_model, x, T=T),
               {"mc_dropout": lambda: spindrop.mc_predict(mc_dropout_model, x, T=T)}, max_ratio=1.5, rounds=3)

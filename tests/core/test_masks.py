"""Statistics and structure of the dropout masks, read back from layer outputs.

Inputs are all zeros, so after sign every word line carries +1 and the MAC output is a
known linear function of the keep mask alone; weights are chosen so that function is
exactly invertible (a ±1 Hadamard matrix for 1×1 convs and FC layers, a full-column-rank
±1 matrix for 3×3 convs via least squares). Every bound is the 4-sigma binomial bound
|k − n·q| ≤ 4·sqrt(n·q·(1 − q)).
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import spindrop
from spindrop import BinaryConv2d, BinaryLinear

from .helpers import SamplerRecorder, binomial_ok, keep_rate_ok, sylvester_hadamard

P = 0.3


def _attach(method_name: str, layer: nn.Module, seed: int, **params) -> nn.Module:
    model = nn.Sequential(layer)
    spindrop.get_method(method_name, p=P, **params).attach(model)
    torch.manual_seed(seed)
    return model.train()


# ---------------------------------------------------------------- 1x1 conv / FC: Hadamard
def _hadamard_conv(c: int) -> BinaryConv2d:
    layer = BinaryConv2d(c, c, 1, padding=0, binary_input=True)
    with torch.no_grad():
        layer.weight.copy_(sylvester_hadamard(c).view(c, c, 1, 1))
    return layer


def _hadamard_linear(c: int) -> BinaryLinear:
    layer = BinaryLinear(c, c, binary_input=True)
    with torch.no_grad():
        layer.weight.copy_(sylvester_hadamard(c))
    return layer


@torch.no_grad()
def _input_mask_1x1(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The keep mask applied to the binarised input, recovered from the output: m = Hᵀy / C."""
    layer = model[0]
    h = sylvester_hadamard(layer.weight.shape[0])
    y = model(x)
    m = torch.einsum("oc,bo...->bc...", h, y) / h.shape[0]
    assert torch.allclose(m, m.round(), atol=1e-4)
    m = m.round()
    assert set(m.unique().tolist()) <= {0.0, 1.0}, "mask is not 0/1 (no rescaling by default)"
    return m


def test_mc_dropout_elementwise_keep_rate_and_independence():
    c, b, hw = 16, 64, 8
    m = _input_mask_1x1(_attach("mc_dropout", _hadamard_conv(c), seed=0), torch.zeros(b, c, hw, hw))
    ok, msg = keep_rate_ok(m.sum(), m.numel(), P)
    assert ok, msg
    # element-wise: neighbouring positions of one channel agree only by chance, (1-p)^2 + p^2
    agree = (m[..., :, 0::2] == m[..., :, 1::2]).sum()
    ok, msg = binomial_ok(agree, m[..., :, 0::2].numel(), (1 - P) ** 2 + P ** 2)
    assert ok, msg


def test_mc_dropout_fc_keep_rate():
    c, b = 16, 512
    m = _input_mask_1x1(_attach("mc_dropout", _hadamard_linear(c), seed=1), torch.zeros(b, c))
    ok, msg = keep_rate_ok(m.sum(), m.numel(), P)
    assert ok, msg


def test_spatial_one_bit_per_channel_shared_over_hw():
    c, b, hw = 16, 1024, 4
    m = _input_mask_1x1(_attach("spatial", _hadamard_conv(c), seed=2), torch.zeros(b, c, hw, hw))
    per_channel = m[:, :, :1, :1]
    assert torch.equal(m, per_channel.expand_as(m)), "a channel's H×W positions do not share one bit"
    bits = per_channel.flatten(1)  # (B, C)
    ok, msg = keep_rate_ok(bits.sum(), bits.numel(), P)
    assert ok, msg
    for ch in range(c):  # every channel on its own
        ok, msg = keep_rate_ok(bits[:, ch].sum(), b, P)
        assert ok, f"channel {ch}: {msg}"
    q = (1 - P) ** 2 + P ** 2  # independent channels agree with this probability
    for c1, c2 in [(0, 1), (2, 9), (14, 15)]:
        ok, msg = binomial_ok((bits[:, c1] == bits[:, c2]).sum(), b, q)
        assert ok, f"channels {c1},{c2}: {msg}"


def test_spatial_fc_is_elementwise():
    c, b = 16, 512
    m = _input_mask_1x1(_attach("spatial", _hadamard_linear(c), seed=3), torch.zeros(b, c))
    ok, msg = keep_rate_ok(m.sum(), m.numel(), P)
    assert ok, msg
    ok, msg = binomial_ok((m[:, 0] == m[:, 1]).sum(), b, (1 - P) ** 2 + P ** 2)
    assert ok, msg


# ---------------------------------------------------------------- 3x3 conv: least squares
C_IN, C_OUT, K, HW = 2, 32, 3, 10


def _rank_full_conv(seed: int) -> BinaryConv2d:
    layer = BinaryConv2d(C_IN, C_OUT, K, padding=0, binary_input=True)
    g = torch.Generator().manual_seed(seed)
    w = torch.where(torch.rand(C_OUT, C_IN * K * K, generator=g) < 0.5, -1.0, 1.0)
    assert torch.linalg.matrix_rank(w) == C_IN * K * K
    with torch.no_grad():
        layer.weight.copy_(w.view(C_OUT, C_IN, K, K))
    return layer


@torch.no_grad()
def _unfolded_mask(model: nn.Module, batch: int) -> torch.Tensor:
    """The keep mask M of shape (B, C_in·k², L) acting on the im2col matrix, from the output:
    y[:, :, l] = W · M[:, :, l] with W of full column rank."""
    w = model[0].weight.flatten(1)
    y = model(torch.zeros(batch, C_IN, HW, HW)).flatten(2)  # (B, C_out, L)
    m = torch.linalg.lstsq(w.expand(batch, -1, -1), y).solution
    assert torch.allclose(m, m.round(), atol=1e-3)
    m = m.round().contiguous()
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    return m


def _occurrences(m: torch.Tensor) -> torch.Tensor:
    """For every interior input element (c, i, j), the K² mask bits of the K² (row, window)
    pairs that read it: shape (K², B, C_in, HW − 2(K−1), HW − 2(K−1))."""
    b = m.shape[0]
    h_out = HW - K + 1
    m6 = m.view(b, C_IN, K, K, h_out, h_out)
    lo, n = K - 1, HW - 2 * (K - 1)
    return torch.stack([m6[:, :, ki, kj, lo - ki:lo - ki + n, lo - kj:lo - kj + n]
                        for ki in range(K) for kj in range(K)])


def test_spindrop_redraws_per_window_position():
    batch = 32
    model = _attach("spindrop", _rank_full_conv(0), seed=4)
    rec = SamplerRecorder()
    rec.wrap(model[0].site)
    m = _unfolded_mask(model, batch)
    # the sampler drew one bit per (sample, word line, window). The layout is the site's
    # choice ((B, k²·C_in, L) or (B, C_in, k, k, H_out, W_out)); either way the module dims
    # (the word lines, k²·C_in of them) come before the window dims (L = H_out·W_out of them).
    (shape, module_dims, bits), = rec.of(model[0].site)
    n_rows, n_windows = C_IN * K * K, (HW - K + 1) ** 2
    assert shape[0] == batch and bits.shape == shape
    assert module_dims == tuple(range(1, 1 + len(module_dims)))
    modules = 1
    for d in module_dims:
        modules *= shape[d]
    assert modules == n_rows, "module dims should index the word lines"
    windows = bits[0].numel() // n_rows
    assert windows == n_windows, "the mask has no window dimension: bits are not re-drawn per window"
    assert torch.equal(bits.reshape(batch, n_rows, n_windows).float(), m), \
        "the recorded bits are not the mask the MAC saw"
    ok, msg = keep_rate_ok(m.sum(), m.numel(), P)
    assert ok, msg
    # a fixed word line is re-drawn across windows
    row = m[:, 0, :]
    assert ((row.min(-1).values == 0) & (row.max(-1).values == 1)).all()
    ok, msg = keep_rate_ok(row.sum(), row.numel(), P)
    assert ok, msg
    # the K² reads of one input element get independent bits: not all equal w.p. 1-(1-p)^9-p^9
    occ = _occurrences(m)
    differ = (occ.min(0).values != occ.max(0).values).sum()
    q = 1 - (1 - P) ** (K * K) - P ** (K * K)
    ok, msg = binomial_ok(differ, occ[0].numel(), q)
    assert ok, msg


def test_mc_dropout_holds_bit_across_windows():
    """Contrast: element-wise dropout keeps one bit per input element for all its K² reads."""
    m = _unfolded_mask(_attach("mc_dropout", _rank_full_conv(1), seed=5), 32)
    occ = _occurrences(m)
    assert torch.equal(occ.min(0).values, occ.max(0).values)
    ok, msg = keep_rate_ok(occ[0].sum(), occ[0].numel(), P)
    assert ok, msg


def test_spatial_gates_all_k2_rows_of_a_channel():
    batch = 256
    m = _unfolded_mask(_attach("spatial", _rank_full_conv(2), seed=6), batch)
    per_channel = m.view(batch, C_IN, -1)  # (B, C_in, K²·L)
    assert torch.equal(per_channel.min(-1).values, per_channel.max(-1).values)
    bits = per_channel[..., 0]
    ok, msg = keep_rate_ok(bits.sum(), bits.numel(), P)
    assert ok, msg


def test_spindrop_fc_is_elementwise():
    c, b = 16, 512
    m = _input_mask_1x1(_attach("spindrop", _hadamard_linear(c), seed=7), torch.zeros(b, c))
    ok, msg = keep_rate_ok(m.sum(), m.numel(), P)
    assert ok, msg
    ok, msg = binomial_ok((m[:, 0] == m[:, 1]).sum(), b, (1 - P) ** 2 + P ** 2)
    assert ok, msg


# ---------------------------------------------------------------- rescaling
def test_rescale_scales_kept_inputs_and_makes_the_deterministic_pass_plain():
    """rescale=True: kept entries become 1/(1 − p), dropped 0 (inverted dropout), so the mean
    multiplier is 1; the deterministic pass then leaves the input as it is. Without
    rescaling the deterministic pass scales by 1 − p."""
    from spindrop.methods.base import DropoutConfig
    from spindrop.methods.sites import ElementwiseSite

    torch.manual_seed(0)
    n = 200_000
    ones = torch.ones(1, n)
    inverted = ElementwiseSite(DropoutConfig(p=P, rescale=True))
    gated = inverted.gate(ones, (1, n), (1,))
    assert torch.all((gated == 0) | torch.isclose(gated, torch.tensor(1 / (1 - P))))
    kept = int((gated > 0).sum())
    ok, msg = keep_rate_ok(kept, n, P)
    assert ok, msg
    assert inverted.input_expectation() == 1.0
    assert ElementwiseSite(DropoutConfig(p=P)).input_expectation() == pytest.approx(1 - P)

    layer = spindrop.BinaryLinear(4, 3)
    x = torch.tensor([[1.0, -1.0, 1.0, 1.0]])
    with torch.no_grad():
        assert torch.equal(inverted.expected(layer, x), layer.mac(x))
        assert torch.allclose(ElementwiseSite(DropoutConfig(p=P)).expected(layer, x), layer.mac(x) * (1 - P))
